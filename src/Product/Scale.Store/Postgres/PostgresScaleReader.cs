using System.Globalization;
using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;
using Scale.Store.Telemetry;

namespace Scale.Store.Postgres;

/// <summary>
/// Reads for the web app from a streaming replica when one is up (Npgsql's prefer-standby), else from the
/// primary. Every call is retried on transient failures for about 3 s (a replica restarting, a failover), so a
/// read that some healthy server can answer does not become an error.
/// </summary>
internal sealed class PostgresScaleReader : IScaleReader
{
    /// <summary>
    /// Connections per database host a web instance opens at most, unless its connection string says otherwise. With
    /// Npgsql's default of 100, a saturated web tier grew its pools until PostgreSQL ran out of connection slots: on the
    /// lab (6 instances, max_connections 200), /test_db at 500 requests/s with one core busy and a partition (every read
    /// on the one replica left) ended in "53300: remaining connection slots are reserved", which also locked out the
    /// chaos runner's write prober and broke the experiments after it. A bounded pool queues the excess requests in the
    /// instance, where waiting is cheap, instead of in the database as more backends competing for the same cores. 16 is
    /// well above what a web instance keeps busy (its reads are index range scans of a few milliseconds; capping at 8
    /// did not change the lab's latency), and 16 per instance stays under max_connections 200 on a server for the
    /// lab's 6 instances and the Kubernetes autoscaler's 9 pods.
    /// </summary>
    public const int DefaultMaxPoolSize = 16;

    private readonly PostgresConnections _connections;

    public PostgresScaleReader(string db)
    {
        // Reads only: no SET, temporary table, advisory lock or LISTEN is ever left in a session.
        _connections = new PostgresConnections(db, "scale-web", DefaultMaxPoolSize, sessionStateFree: true);
    }

    public Task<string> GetDataVersionAsync(CancellationToken cancellationToken) => ReadAsync(
        async (connection, ct) => (string)(await PostgresScaleStore.ScalarAsync(
            connection,
            null,
            """
            SELECT (SELECT COALESCE(MAX(key), 0) FROM songs) || '.' ||
                   (SELECT count(*) FROM runs WHERE status <> 'running') || '.' ||
                   (SELECT COALESCE(MAX(id), 0) FROM similarity_runs WHERE status = 'completed');
            """,
            ct).ConfigureAwait(false))!,
        cancellationToken);

    public async IAsyncEnumerable<CatalogSong> ReadCatalogAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Connecting and starting the query are retried together: a pooled connection to a replica that has died
        // fails only when used. A failure mid-stream surfaces, and the caller reloads the whole catalogue.
        await using var query = await ReadAsync(
            async (connection, ct) =>
            {
                var command = PostgresScaleStore.Command(
                    connection,
                    null,
                    """
                    SELECT s.key, s.id, s.name, s.instrument_bits_lo, s.instrument_bits_mid, s.instrument_bits_hi, l.total
                    FROM songs AS s LEFT JOIN similar_lists AS l ON l.song_key = s.key
                    ORDER BY s.id COLLATE "C";
                    """);
                try
                {
                    return new OpenQuery(connection, command, await command.ExecuteReaderAsync(ct).ConfigureAwait(false));
                }
                catch
                {
                    await command.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
            },
            keepConnection: true,
            cancellationToken).ConfigureAwait(false);
        var reader = query.Reader;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new CatalogSong(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                StoreRows.Set(reader, 3),
                reader.IsDBNull(6) ? null : reader.GetInt32(6));
        }
    }

    public Task<SongDetails?> GetSongAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return ReadAsync(
            async (connection, ct) =>
            {
                await using var command = PostgresScaleStore.Command(
                    connection,
                    null,
                    """
                    SELECT s.key, s.id, s.name, s.title, s.format, s.tracks, s.division, s.ticks, s.seconds, s.bytes, s.note_count,
                           s.warnings, s.instrument_bits_lo, s.instrument_bits_mid, s.instrument_bits_hi, l.total
                    FROM songs AS s LEFT JOIN similar_lists AS l ON l.song_key = s.key
                    WHERE s.id = $1;
                    """,
                    PostgresScaleStore.Clean(id));
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                if (!await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    return null;
                }

                return StoreRows.Song(reader);
            },
            cancellationToken);
    }

    public Task<SimilarPage?> GetSimilarAsync(string id, int offset, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return ReadAsync<SimilarPage?>(
            async (connection, ct) =>
            {
                // One snapshot for the list and the songs it names.
                await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct).ConfigureAwait(false);
                int total;
                byte[] entries;
                await using (var command = PostgresScaleStore.Command(
                    connection,
                    transaction,
                    "SELECT l.total, l.entries FROM songs AS s LEFT JOIN similar_lists AS l ON l.song_key = s.key WHERE s.id = $1;",
                    PostgresScaleStore.Clean(id)))
                await using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        return null;
                    }

                    if (reader.IsDBNull(0))
                    {
                        return new SimilarPage(0, 0, []);
                    }

                    total = reader.GetInt32(0);
                    entries = reader.GetFieldValue<byte[]>(1);
                }

                var stored = entries.Length / SimilarListCodec.EntryBytes;
                var rows = SimilarListCodec.Decode(entries, offset, limit);
                if (rows.Length == 0)
                {
                    return new SimilarPage(total, stored, []);
                }

                var songs = new Dictionary<long, (string Id, string Name, Midi.InstrumentSet Set)>(rows.Length);
                await using (var command = new NpgsqlCommand(
                    "SELECT key, id, name, instrument_bits_lo, instrument_bits_mid, instrument_bits_hi FROM songs WHERE key = ANY($1);",
                    connection,
                    transaction))
                {
                    command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.SimilarKey).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                    await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        songs[reader.GetInt64(0)] = (reader.GetString(1), reader.GetString(2), StoreRows.Set(reader, 3));
                    }
                }

                await transaction.CommitAsync(ct).ConfigureAwait(false);
                var items = new List<SimilarSongItem>(rows.Length);
                for (var i = 0; i < rows.Length; i++)
                {
                    if (songs.TryGetValue(rows[i].SimilarKey, out var song))
                    {
                        items.Add(new SimilarSongItem(offset + i + 1, song.Id, song.Name, rows[i].Similarity, rows[i].Shared, song.Set));
                    }
                }

                return new SimilarPage(total, stored, items);
            },
            cancellationToken);
    }

    public Task<IReadOnlyList<IReadOnlyList<SongRef>>> GetSongsWithInstrumentsAsync(IReadOnlyList<int> instrumentCodes, int limitEach, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instrumentCodes);
        ArgumentOutOfRangeException.ThrowIfNegative(limitEach);
        var codes = instrumentCodes.Select(c => (short)Math.Clamp(c, short.MinValue, short.MaxValue)).ToArray();
        return ReadAsync<IReadOnlyList<IReadOnlyList<SongRef>>>(
            async (connection, ct) =>
            {
                // One statement for every list: a range scan of the (instrument_code, song_id) index per code, joined
                // laterally, so /test_db's two lists cost one round trip instead of two. Measured on the lab (2 cores,
                // through HAProxy): the round trips, not the scans, were what saturated it at 500 requests/s.
                await using var command = PostgresScaleStore.Command(
                    connection,
                    null,
                    """
                    SELECT c.ordinal, s.id, s.name
                    FROM unnest($1::smallint[]) WITH ORDINALITY AS c(code, ordinal)
                    CROSS JOIN LATERAL (
                        SELECT si.song_id FROM song_instruments AS si
                        WHERE si.instrument_code = c.code
                        ORDER BY si.song_id
                        LIMIT $2
                    ) AS found
                    JOIN songs AS s ON s.id = found.song_id
                    ORDER BY c.ordinal, found.song_id;
                    """,
                    codes,
                    limitEach);
                var lists = new List<SongRef>[codes.Length];
                for (var i = 0; i < lists.Length; i++)
                {
                    lists[i] = [];
                }

                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    lists[reader.GetInt64(0) - 1].Add(new SongRef(reader.GetString(1), reader.GetString(2)));
                }

                return lists;
            },
            cancellationToken);
    }

    public Task<IReadOnlyList<RunRecord>> GetRunsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return ReadAsync(
            (connection, ct) => PostgresScaleStore.ReadRunsAsync(
                connection,
                """
                SELECT id, source, started_at, finished_at, status, files_seen, files_skipped, files_valid, files_invalid,
                       files_duplicate, bytes_read, read_seconds, extract_seconds, write_seconds, wall_seconds, error
                FROM runs ORDER BY id DESC LIMIT $1;
                """,
                ct,
                limit),
            cancellationToken);
    }

    public Task<IReadOnlyList<SimilarityRunRecord>> GetSimilarityRunsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return ReadAsync((connection, ct) => PostgresScaleStore.ReadSimilarityRunsAsync(connection, limit, ct), cancellationToken);
    }

    public Task<StoreSummary> GetSummaryAsync(CancellationToken cancellationToken) =>
        ReadAsync(PostgresScaleStore.ReadSummaryAsync, cancellationToken);

    public Task<ReadEndpoint> PingAsync(CancellationToken cancellationToken) => ReadAsync(
        async (connection, ct) =>
        {
            // The schema table: a server that answers but holds no Scale database is not ready either.
            await PostgresScaleStore.ScalarAsync(connection, null, "SELECT count(*) FROM schema_migrations;", ct).ConfigureAwait(false);
            return new ReadEndpoint(string.Create(CultureInfo.InvariantCulture, $"{connection.Host}:{connection.Port}"), RoleOf(connection));
        },
        cancellationToken);

    public ValueTask DisposeAsync() => _connections.DisposeAsync();

    /// <summary>
    /// A standby reports in_hot_standby=on at connect time, and PostgreSQL 14+ reports the change when it is
    /// promoted, so the role costs no query.
    /// </summary>
    private static string RoleOf(NpgsqlConnection connection) =>
        connection.PostgresParameters.TryGetValue("in_hot_standby", out var standby) && standby == "on" ? StoreMetrics.Replica : StoreMetrics.Primary;

    private Task<T> ReadAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        ReadAsync(work, keepConnection: false, cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> on a read connection, retried on transient failures; with
    /// <paramref name="keepConnection"/> the result owns the connection (and disposes it).
    /// </summary>
    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, bool keepConnection, CancellationToken cancellationToken)
    {
        var forgotten = false;
        try
        {
            return await PostgresConnections.ReadRetry.ExecuteAsync(
                async ct =>
                {
                    NpgsqlConnection connection;
                    try
                    {
                        connection = await _connections.Reads.OpenConnectionAsync(ct).ConfigureAwait(false);
                    }
                    catch (NpgsqlException ex) when (!forgotten && PostgresConnections.IsEveryHostMarkedDown(ex))
                    {
                        // Try them all again on the retry rather than wait out the marks (see IsEveryHostMarkedDown);
                        // once per read, so that hosts that are really gone (connections timing out) are tried twice at
                        // most before the read fails.
                        forgotten = true;
                        _connections.ForgetHostStates();
                        throw;
                    }

                    StoreMetrics.RecordRead("postgresql", RoleOf(connection));
                    var kept = false;
                    try
                    {
                        var result = await work(connection, ct).ConfigureAwait(false);
                        kept = keepConnection;
                        return result;
                    }
                    finally
                    {
                        if (!kept)
                        {
                            await connection.DisposeAsync().ConfigureAwait(false);
                        }
                    }
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresConnections.IsTransient(ex))
        {
            throw new StoreUnavailableException($"No PostgreSQL server at {_connections.Description} answered the read within the retry budget ({ex.Message}).", ex);
        }
    }

    /// <summary>A query being read: its reader, command and connection, disposed together.</summary>
    private sealed class OpenQuery(NpgsqlConnection connection, NpgsqlCommand command, NpgsqlDataReader reader) : IAsyncDisposable
    {
        public NpgsqlDataReader Reader { get; } = reader;

        public async ValueTask DisposeAsync()
        {
            await Reader.DisposeAsync().ConfigureAwait(false);
            await command.DisposeAsync().ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
