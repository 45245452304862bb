using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Scale.Store.Sqlite;

namespace Scale.Store.Tests.Backends;

/// <summary>A fresh SQLite file in a temp folder, deleted on dispose.</summary>
public sealed class SqliteBackend : StoreBackend
{
    private readonly TempDb _db = new();

    public override string Name => "sqlite";

    public override string Db => _db.DbPath;

    public override int LatestVersion => SqliteSchema.LatestVersion;

    public string DbPath => _db.DbPath;

    public override async Task<DbConnection> InspectAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _db.DbPath, Pooling = false, DefaultTimeout = 60 }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    public override async Task ApplyMigrationsUpToAsync(int version)
    {
        await using var connection = (SqliteConnection)await InspectAsync();
        using var transaction = connection.BeginTransaction();
        using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = SqliteSchema.CreateMigrationsTable;
            create.ExecuteNonQuery();
        }

        for (var v = 1; v <= version; v++)
        {
            SqliteSchema.Migrations[v - 1](connection, transaction);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_migrations (version, applied_at) VALUES ($v, $at);";
            record.Parameters.AddWithValue("$v", v);
            record.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            record.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _db.Dispose();
        return ValueTask.CompletedTask;
    }
}
