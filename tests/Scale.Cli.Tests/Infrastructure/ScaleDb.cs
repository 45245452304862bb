using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Scale.Cli.Tests.Infrastructure;

/// <summary>A row of <c>runs</c>, as the tests look at it.</summary>
public sealed record RunRow(
    long Id,
    string Source,
    string Status,
    bool Finished,
    long FilesSeen,
    long FilesSkipped,
    long FilesValid,
    long FilesInvalid,
    long FilesDuplicate,
    string? Error);

/// <summary>Reads the database <c>scale run</c> wrote, with plain SQL over its documented schema.</summary>
public sealed class ScaleDb : IDisposable
{
    private readonly SqliteConnection _connection;

    private ScaleDb(SqliteConnection connection) => _connection = connection;

    /// <summary>Opens <paramref name="path"/> read-only (no pooling, so the file is let go on dispose).</summary>
    public static ScaleDb Open(string path)
    {
        Assert.True(File.Exists(path), $"The database '{path}' does not exist.");
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        return new ScaleDb(connection);
    }

    public long Count(string table) => Scalar($"SELECT count(*) FROM {table};");

    public long Scalar(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Every row of the query, its columns joined with '|' (NULL as "∅"), in the query's order.</summary>
    public IReadOnlyList<string> Rows(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            var fields = new string[reader.FieldCount];
            for (var i = 0; i < fields.Length; i++)
            {
                fields[i] = reader.IsDBNull(i) ? "∅" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture)!;
            }

            rows.Add(string.Join('|', fields));
        }

        return rows;
    }

    /// <summary>The content of every result table, for "nothing changed" comparisons (runs left out).</summary>
    public IReadOnlyList<string> ResultSnapshot() =>
    [
        .. Rows("SELECT 'song', * FROM songs ORDER BY id;"),
        .. Rows("SELECT 'instrument', * FROM song_instruments ORDER BY song_id, instrument_code;"),
        .. Rows("SELECT 'ledger', * FROM source_files ORDER BY source, key;"),
        .. Rows("SELECT 'invalid', * FROM invalid_files ORDER BY source, key;"),
    ];

    /// <summary>song id → name.</summary>
    public IReadOnlyDictionary<string, string> SongNames() =>
        Rows("SELECT id, name FROM songs;").Select(r => r.Split('|', 2)).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);

    /// <summary>song id → sorted instrument codes (from song_instruments; songs without any get an empty list).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> SongInstruments()
    {
        var result = Rows("SELECT id FROM songs;").ToDictionary(id => id, _ => (IReadOnlyList<int>)[], StringComparer.Ordinal);
        foreach (var group in Rows("SELECT song_id, instrument_code FROM song_instruments ORDER BY song_id, instrument_code;")
                     .Select(r => r.Split('|'))
                     .GroupBy(f => f[0], StringComparer.Ordinal))
        {
            result[group.Key] = [.. group.Select(f => int.Parse(f[1], CultureInfo.InvariantCulture))];
        }

        return result;
    }

    /// <summary>reason code → invalid files.</summary>
    public IReadOnlyDictionary<string, long> InvalidByReason() =>
        Rows("SELECT reason_code, count(*) FROM invalid_files GROUP BY reason_code;")
            .Select(r => r.Split('|'))
            .ToDictionary(f => f[0], f => long.Parse(f[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);

    /// <summary>Keys of the ledger (source_files), in key order.</summary>
    public IReadOnlyList<string> LedgerKeys() => Rows("SELECT key FROM source_files ORDER BY key;");

    /// <summary>Runs, oldest first.</summary>
    public IReadOnlyList<RunRow> Runs()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = """
            SELECT id, source, status, finished_at, files_seen, files_skipped, files_valid, files_invalid, files_duplicate, error
            FROM runs ORDER BY id;
            """;
        using var reader = command.ExecuteReader();
        var runs = new List<RunRow>();
        while (reader.Read())
        {
            runs.Add(new RunRow(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                !reader.IsDBNull(3),
                reader.GetInt64(4),
                reader.GetInt64(5),
                reader.GetInt64(6),
                reader.GetInt64(7),
                reader.GetInt64(8),
                reader.IsDBNull(9) ? null : reader.GetString(9)));
        }

        return runs;
    }

    public void Dispose() => _connection.Dispose();
}
