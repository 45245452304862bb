using System.Data.Common;
using System.Globalization;
using System.Text;

namespace Scale.Store.Tests.Backends;

/// <summary>
/// One database of one backend for one test: what to hand <see cref="ScaleStoreFactory"/>, and a side door to look at
/// (or tamper with) the tables with plain SQL that both backends understand.
/// </summary>
public abstract class StoreBackend : IAsyncDisposable
{
    /// <summary>"sqlite" or "postgres".</summary>
    public abstract string Name { get; }

    /// <summary>What the user would give as --db: a file path, or a PostgreSQL connection string.</summary>
    public abstract string Db { get; }

    /// <summary>The newest schema version the store knows.</summary>
    public abstract int LatestVersion { get; }

    /// <summary>The tables the store keeps data in, for snapshots.</summary>
    public static IReadOnlyList<string> DataTables { get; } =
    [
        "songs ORDER BY id",
        "song_instruments ORDER BY song_id, instrument_code",
        "source_files ORDER BY source, key",
        "invalid_files ORDER BY source, key",
        "runs ORDER BY id",
        "similarity_runs ORDER BY id",
        "similar_lists ORDER BY song_key",
        "shards ORDER BY source, shard_count, shard_index",
        "instruments ORDER BY code",
        "instrument_families ORDER BY code",
        "schema_migrations ORDER BY version",
    ];

    public Task<IScaleStore> OpenAsync(TimeProvider? time = null) => ScaleStoreFactory.OpenAsync(Db, time, CancellationToken.None);

    public IScaleReader CreateReader() => ScaleStoreFactory.CreateReader(Db);

    /// <summary>A plain connection to the database (the primary for PostgreSQL).</summary>
    public abstract Task<DbConnection> InspectAsync();

    /// <summary>Waits until what was committed is visible to readers (PostgreSQL readers use a replica).</summary>
    public virtual Task SyncReadersAsync() => Task.CompletedTask;

    /// <summary>
    /// How text comes back after a round trip through this backend: both store UTF-8, so a lone surrogate comes back
    /// as U+FFFD; PostgreSQL text cannot hold NUL either.
    /// </summary>
    public virtual string Stored(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else
            {
                builder.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return builder.ToString();
    }

    /// <summary>How an indexed text (a key, a source, a reason code) comes back: <see cref="Stored"/>, and for PostgreSQL
    /// shortened when too long for an index entry.</summary>
    public virtual string StoredKey(string text) => Stored(text);

    /// <summary>Applies migrations 1..<paramref name="version"/> only, as an older Scale would have left the database.</summary>
    public abstract Task ApplyMigrationsUpToAsync(int version);

    /// <summary>A SQL string literal.</summary>
    public static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    public async Task<long> ScalarAsync(string sql)
    {
        var value = await ValueAsync(sql);
        return Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }

    public async Task<object?> ValueAsync(string sql)
    {
        await using var connection = await InspectAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }

    public async Task<string?> TextAsync(string sql) => (string?)await ValueAsync(sql);

    public async Task<int> ExecuteAsync(string sql)
    {
        await using var connection = await InspectAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>Every row of every table, as text, for before/after comparisons.</summary>
    public async Task<string> SnapshotAsync()
    {
        await using var connection = await InspectAsync();
        var text = new StringBuilder();
        foreach (var table in DataTables)
        {
            text.Append("-- ").Append(table).Append('\n');
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT * FROM " + table;
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    text.Append(reader.IsDBNull(i) ? "NULL" : Format(reader.GetValue(i))).Append('|');
                }

                text.Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>Rows of one table (e.g. "songs"), as the snapshot counts them.</summary>
    public Task<long> CountAsync(string table) => ScalarAsync("SELECT COUNT(*) FROM " + table);

    public abstract ValueTask DisposeAsync();

    private static string Format(object value) => value switch
    {
        byte[] bytes => Convert.ToHexString(bytes),
        DateTime time => time.ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset time => time.ToString("O", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty,
    };

    public override string ToString() => Name;
}
