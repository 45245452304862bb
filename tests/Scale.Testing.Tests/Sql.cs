using Npgsql;

namespace Scale.Testing.Tests;

/// <summary>One-shot SQL for the tests: unpooled connections (servers die under them), short timeouts.</summary>
internal static class Sql
{
    public static NpgsqlConnection Connection(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            Timeout = 5,
            CommandTimeout = 10,
            // Multi-host: look at each host again on every open, not after 10 s.
            HostRecheckSeconds = 0,
        };
        return new NpgsqlConnection(builder.ConnectionString);
    }

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = Connection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = Connection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
