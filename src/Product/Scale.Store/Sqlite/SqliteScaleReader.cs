using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Scale.Store.Telemetry;

namespace Scale.Store.Sqlite;

/// <summary>
/// Read-only access for the web app: every call takes a connection from Microsoft.Data.Sqlite's pool (opening a
/// pooled connection costs microseconds), so concurrent requests read in parallel; WAL mode lets them read while
/// a run writes, each call seeing one consistent snapshot.
/// </summary>
internal sealed class SqliteScaleReader : IScaleReader
{
    private const string SelectDataVersion = """
        SELECT (SELECT COALESCE(MAX(key), 0) FROM songs) || '.' ||
               (SELECT COUNT(*) FROM runs WHERE status <> 'running') || '.' ||
               (SELECT COALESCE(MAX(id), 0) FROM similarity_runs WHERE status = 'completed');
        """;

    private const string SelectCatalog = """
        SELECT s.key, s.id, s.name, s.instrument_bits_lo, s.instrument_bits_mid, s.instrument_bits_hi, l.total
        FROM songs AS s LEFT JOIN similar_lists AS l ON l.song_key = s.key
        ORDER BY s.id;
        """;

    private const string SelectSong = """
        SELECT s.key, s.id, s.name, s.title, s.format, s.tracks, s.division, s.ticks, s.seconds, s.bytes, s.note_count,
               s.warnings, s.instrument_bits_lo, s.instrument_bits_mid, s.instrument_bits_hi, l.total
        FROM songs AS s LEFT JOIN similar_lists AS l ON l.song_key = s.key
        WHERE s.id = $id;
        """;

    private const string SelectSimilarList = """
        SELECT l.total, l.entries FROM songs AS s LEFT JOIN similar_lists AS l ON l.song_key = s.key WHERE s.id = $id;
        """;

    private const string SelectSongsWithInstrument = """
        SELECT s.id, s.name
        FROM song_instruments AS si JOIN songs AS s ON s.id = si.song_id
        WHERE si.instrument_code = $code
        ORDER BY si.song_id
        LIMIT $limit;
        """;

    private readonly string _connectionString;

    public SqliteScaleReader(string db)
    {
        var builder = db.Contains("Data Source=", StringComparison.OrdinalIgnoreCase)
            ? new SqliteConnectionStringBuilder(db)
            : new SqliteConnectionStringBuilder { DataSource = db };
        builder.Mode = SqliteOpenMode.ReadOnly;
        builder.Pooling = true;
        builder.DefaultTimeout = 30;
        _connectionString = builder.ToString();
        DataSource = builder.DataSource;
    }

    /// <summary>The database file this reader opens.</summary>
    public string DataSource { get; }

    public async Task<string> GetDataVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = SqliteScaleStore.Command(connection, null, SelectDataVersion);
        return Convert.ToString(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) ?? string.Empty;
    }

    public async IAsyncEnumerable<CatalogSong> ReadCatalogAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = SqliteScaleStore.Command(connection, null, SelectCatalog);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new CatalogSong(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                StoreRows.Set(reader, 3),
                reader.IsDBNull(6) ? null : reader.GetInt32(6));
        }
    }

    public async Task<SongDetails?> GetSongAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = SqliteScaleStore.Command(connection, null, SelectSong);
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return StoreRows.Song(reader);
    }

    public async Task<SimilarPage?> GetSimilarAsync(string id, int offset, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var connection = await OpenAsync(cancellationToken);
        // One read transaction: the list and the songs it names come from the same snapshot.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        int total;
        byte[] entries;
        using (var command = SqliteScaleStore.Command(connection, transaction, SelectSimilarList))
        {
            command.Parameters.AddWithValue("$id", id);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            if (reader.IsDBNull(0))
            {
                return new SimilarPage(0, 0, []);
            }

            total = reader.GetInt32(0);
            entries = (byte[])reader.GetValue(1);
        }

        var stored = entries.Length / SimilarListCodec.EntryBytes;
        var rows = SimilarListCodec.Decode(entries, offset, limit);
        if (rows.Length == 0)
        {
            return new SimilarPage(total, stored, []);
        }

        var songs = await ReadSongsByKeyAsync(connection, transaction, rows, cancellationToken);
        var items = new List<SimilarSongItem>(rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            // A key without a song cannot happen (lists are replaced with the songs they name); skip rather than fail.
            if (songs.TryGetValue(rows[i].SimilarKey, out var song))
            {
                items.Add(new SimilarSongItem(offset + i + 1, song.Id, song.Name, rows[i].Similarity, rows[i].Shared, song.Instruments));
            }
        }

        return new SimilarPage(total, stored, items);
    }

    public async Task<IReadOnlyList<IReadOnlyList<SongRef>>> GetSongsWithInstrumentsAsync(IReadOnlyList<int> instrumentCodes, int limitEach, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instrumentCodes);
        ArgumentOutOfRangeException.ThrowIfNegative(limitEach);
        // In-process: one query per list costs no round trip, and keeps the statement the index range scan it is.
        await using var connection = await OpenAsync(cancellationToken);
        using var command = SqliteScaleStore.Command(connection, null, SelectSongsWithInstrument);
        var code = command.Parameters.Add("$code", SqliteType.Integer);
        command.Parameters.AddWithValue("$limit", limitEach);
        var lists = new List<IReadOnlyList<SongRef>>(instrumentCodes.Count);
        foreach (var instrumentCode in instrumentCodes)
        {
            code.Value = instrumentCode;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var songs = new List<SongRef>();
            while (await reader.ReadAsync(cancellationToken))
            {
                songs.Add(new SongRef(reader.GetString(0), reader.GetString(1)));
            }

            lists.Add(songs);
        }

        return lists;
    }

    public async Task<IReadOnlyList<RunRecord>> GetRunsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = SqliteScaleStore.Command(connection, null, SqliteScaleStore.SelectRuns + " ORDER BY id DESC LIMIT $limit;");
        command.Parameters.AddWithValue("$limit", limit);
        return SqliteScaleStore.ReadRuns(command);
    }

    public async Task<IReadOnlyList<SimilarityRunRecord>> GetSimilarityRunsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await OpenAsync(cancellationToken);
        return SqliteScaleStore.ReadSimilarityRuns(connection, limit);
    }

    public async Task<StoreSummary> GetSummaryAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return SqliteScaleStore.ReadSummary(connection);
    }

    public async Task<ReadEndpoint> PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = SqliteScaleStore.Command(connection, null, "SELECT COUNT(*) FROM schema_migrations;");
        try
        {
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (SqliteException ex)
        {
            throw new StoreUnavailableException($"The database {DataSource} cannot be read: {ex.Message}", ex);
        }

        return new ReadEndpoint(DataSource, StoreMetrics.Primary);
    }

    public ValueTask DisposeAsync()
    {
        // Pooled connections for this file would keep it open (and locked on some systems) after the app stops.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            StoreMetrics.RecordRead("sqlite", StoreMetrics.Primary);
            return connection;
        }
        catch (SqliteException ex)
        {
            await connection.DisposeAsync();
            throw new StoreUnavailableException($"The database {DataSource} cannot be opened: {ex.Message}", ex);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task<Dictionary<long, (string Id, string Name, Midi.InstrumentSet Instruments)>> ReadSongsByKeyAsync(
        SqliteConnection connection, SqliteTransaction transaction, SimilarRow[] rows, CancellationToken cancellationToken)
    {
        // One parameter per key (a page is at most a few hundred): an index lookup each, in one statement.
        using var command = SqliteScaleStore.Command(connection, transaction, string.Empty);
        var names = new string[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            names[i] = "$k" + i.ToString(CultureInfo.InvariantCulture);
            command.Parameters.AddWithValue(names[i], rows[i].SimilarKey);
        }

        command.CommandText = "SELECT key, id, name, instrument_bits_lo, instrument_bits_mid, instrument_bits_hi FROM songs WHERE key IN ("
            + string.Join(", ", names) + ");";
        var songs = new Dictionary<long, (string, string, Midi.InstrumentSet)>(rows.Length);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            songs[reader.GetInt64(0)] = (reader.GetString(1), reader.GetString(2), StoreRows.Set(reader, 3));
        }

        return songs;
    }
}
