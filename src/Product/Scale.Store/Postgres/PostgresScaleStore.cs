using System.Globalization;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Scale.Midi;

namespace Scale.Store.Postgres;

/// <summary>
/// The production store: PostgreSQL through Npgsql. Writes go to the primary (found among several hosts by
/// Npgsql's multi-host support) and are retried on transient failures for about 20 s, so a failover is
/// waited out; then the last error surfaces with a message naming the database. A batch goes in with binary
/// COPY into session temp tables and one statement of set-based INSERTs (data-modifying CTEs), all in one
/// transaction and three round trips besides the COPY data, so a retried batch (after a lost commit acknowledgement)
/// changes nothing. Text PostgreSQL cannot hold is stored as <see cref="Clean"/> and <see cref="CleanKey"/> say.
/// </summary>
internal sealed partial class PostgresScaleStore : IScaleStore
{
    // The batch's staging tables, made in its transaction (about 2 ms each at Lakh scale, in the same round trip as the
    // run's source) and dropped by its commit or rollback. Not left to Npgsql's reset of a pooled connection (DISCARD
    // ALL): dropping them there is a transaction of its own, which with synchronous replication waits for the standby
    // at the start of the connection's next use, where no cancellation token reaches it (up to the command timeout).
    private const string CreateBatchFiles = """
        CREATE TEMP TABLE IF NOT EXISTS batch_files (
            ord integer NOT NULL, key text NOT NULL, md5 text, bytes bigint NOT NULL, valid boolean NOT NULL, name text, title text,
            format integer, tracks integer, division integer, ticks bigint, seconds double precision,
            note_count bigint, instrument_count integer, warnings text, lo bigint, mid bigint, hi bigint,
            reason_code text, message text
        ) ON COMMIT DROP
        """;

    private const string CreateBatchInstruments = """
        CREATE TEMP TABLE IF NOT EXISTS batch_instruments (
            song_id text NOT NULL, instrument_code smallint NOT NULL, notes bigint NOT NULL
        ) ON COMMIT DROP
        """;

    private const string CopyFiles = """
        COPY batch_files (ord, key, md5, bytes, valid, name, title, format, tracks, division, ticks, seconds, note_count,
                          instrument_count, warnings, lo, mid, hi, reason_code, message) FROM STDIN (FORMAT BINARY)
        """;

    private const string CopyInstruments = "COPY batch_instruments (song_id, instrument_code, notes) FROM STDIN (FORMAT BINARY)";

    /// <summary>
    /// Keys the ledger already has. A scalar subquery is never turned into a join, so this is one primary-key probe
    /// per batch row whatever the statistics say; as a join, stale statistics of a fast-growing ledger made the
    /// planner hash every ledger row of the source for every batch (7 of 45 s at Lakh scale).
    /// </summary>
    private const string DropFinishedKeys = """
        DELETE FROM batch_files AS b
        WHERE (SELECT true FROM source_files AS s WHERE s.source = $1 AND s.key = b.key LIMIT 1)
        """;

    /// <summary>A key twice in one batch: the first occurrence wins, the later ones are ignored (as a second batch would be).</summary>
    private const string DropRepeatedKeys = "DELETE FROM batch_files AS b USING batch_files AS f WHERE f.key = b.key AND f.ord < b.ord";

    /// <summary>
    /// The rest of a batch in one statement: new songs (the first file of each MD5 in batch order; a song already
    /// stored is left as it is), the instruments of exactly those songs (so a plain INSERT: they cannot exist yet),
    /// the ledger, invalid files, and the run's counters; returns what it counted. Foreign keys are checked at the
    /// end of the statement, when the songs are there.
    /// </summary>
    private const string WriteRows = """
        WITH counts AS (
            SELECT count(*) FILTER (WHERE valid) AS valid, count(*) FILTER (WHERE NOT valid) AS invalid,
                   COALESCE(sum(bytes), 0) AS bytes
            FROM batch_files
        ), new_songs AS (
            INSERT INTO songs (id, name, title, format, tracks, division, ticks, seconds, bytes, note_count, instrument_count,
                               warnings, instrument_bits_lo, instrument_bits_mid, instrument_bits_hi, first_run_id)
            SELECT DISTINCT ON (md5) md5, name, title, format, tracks, division, ticks, seconds, bytes, note_count,
                   instrument_count, warnings, lo, mid, hi, $2
            FROM batch_files WHERE valid ORDER BY md5, ord
            ON CONFLICT (id) DO NOTHING
            RETURNING id
        ), new_instruments AS (
            INSERT INTO song_instruments (song_id, instrument_code, notes)
            SELECT i.song_id, i.instrument_code, i.notes
            FROM batch_instruments AS i JOIN new_songs AS n ON n.id = i.song_id
            ORDER BY i.song_id, i.instrument_code
        ), ledger AS (
            INSERT INTO source_files (source, key, song_id, bytes, run_id)
            SELECT $1, key, CASE WHEN valid THEN md5 END, bytes, $2 FROM batch_files
            ON CONFLICT (source, key) DO NOTHING
        ), invalid AS (
            INSERT INTO invalid_files (source, key, md5, reason_code, message, bytes, run_id)
            SELECT $1, key, md5, reason_code, message, bytes, $2 FROM batch_files WHERE NOT valid
            ON CONFLICT (source, key) DO NOTHING
        ), added AS (
            SELECT c.valid, c.invalid, c.bytes, c.valid - (SELECT count(*) FROM new_songs) AS duplicates FROM counts AS c
        )
        UPDATE runs SET files_seen = files_seen + a.valid + a.invalid, files_valid = files_valid + a.valid,
                        files_invalid = files_invalid + a.invalid, files_duplicate = files_duplicate + a.duplicates,
                        bytes_read = bytes_read + a.bytes
        FROM added AS a
        WHERE runs.id = $2
        RETURNING a.valid, a.invalid, a.duplicates, a.bytes
        """;

    private const string InsertShard = """
        INSERT INTO shards (source, shard_count, shard_index, run_id, completed_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT DO NOTHING
        """;

    private const string SelectRuns = """
        SELECT id, source, started_at, finished_at, status, files_seen, files_skipped, files_valid, files_invalid,
               files_duplicate, bytes_read, read_seconds, extract_seconds, write_seconds, wall_seconds, error
        FROM runs
        """;

    private readonly string _db;
    private readonly TimeProvider _time;
    private PostgresConnections? _connections;

    public PostgresScaleStore(string db, TimeProvider time)
    {
        _db = db;
        _time = time;
    }

    public string Description => _connections?.Description ?? PostgresConnections.Describe(_db);

    private PostgresConnections Connections => _connections ?? throw new InvalidOperationException("The store is not open: call OpenAsync first.");

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        if (_connections is not null)
        {
            return;
        }

        var connections = new PostgresConnections(_db, "scale");
        try
        {
            _connections = connections;
            await MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _connections = null;
            await connections.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public Task<int> MigrateAsync(CancellationToken cancellationToken) => WriteAsync(
        "apply the schema migrations",
        async (connection, ct) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock($1);", ct, PostgresSchema.MigrationLock).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, PostgresSchema.CreateMigrationsTable, ct).ConfigureAwait(false);
            var version = Convert.ToInt32(
                await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;", ct).ConfigureAwait(false),
                CultureInfo.InvariantCulture);
            if (version > PostgresSchema.LatestVersion)
            {
                throw new InvalidOperationException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"The database has schema version {version}, newer than this program's {PostgresSchema.LatestVersion}; upgrade Scale."));
            }

            for (var v = version + 1; v <= PostgresSchema.LatestVersion; v++)
            {
                await PostgresSchema.Migrations[v - 1](connection, transaction, ct).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2);", ct, v, _time.GetUtcNow()).ConfigureAwait(false);
            }

            // Up to date, this transaction wrote nothing (no transaction id): its commit waits for no standby.
            await DurableCommit.CommitDurablyAsync(transaction, "apply the schema migrations", ct).ConfigureAwait(false);
            return PostgresSchema.LatestVersion;
        },
        cancellationToken);

    public Task<long> BeginRunAsync(string source, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        return WriteAsync(
            "start a run",
            async (connection, ct) =>
            {
                await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                var id = (long)(await ScalarAsync(
                    connection,
                    transaction,
                    "INSERT INTO runs (source, started_at, status) VALUES ($1, $2, 'running') RETURNING id;",
                    ct,
                    CleanKey(source),
                    _time.GetUtcNow()).ConfigureAwait(false))!;
                await ExecuteAsync(
                    connection,
                    transaction,
                    """
                    UPDATE runs SET status = 'interrupted',
                                    error = COALESCE(error, 'The process ended before the run finished (found by run ' || $2 || ').')
                    WHERE source = $1 AND status = 'running' AND id <> $2;
                    """,
                    ct,
                    CleanKey(source),
                    id).ConfigureAwait(false);
                await DurableCommit.CommitDurablyAsync(transaction, "start a run", ct).ConfigureAwait(false);
                return id;
            },
            cancellationToken);
    }

    public Task<IReadOnlySet<string>> GetFinishedKeysAsync(string source, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        return WriteAsync<IReadOnlySet<string>>(
            "read the finished keys",
            async (connection, ct) =>
            {
                var keys = new HashSet<string>(StringComparer.Ordinal);
                await using var command = Command(connection, null, "SELECT key FROM source_files WHERE source = $1;", CleanKey(source));
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    keys.Add(reader.GetString(0));
                }

                return keys;
            },
            cancellationToken);
    }

    public Task<BatchResult> WriteBatchAsync(long runId, IReadOnlyList<ExtractedFile> files, ShardSpec? completesShard, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        completesShard?.Validate();
        return WriteAsync(
            "write a batch",
            async (connection, ct) =>
            {
                // Three round trips besides the COPY data: the staging tables and the run's source; the statements
                // that write; the commit.
                await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                string source;
                await using (var prepare = new NpgsqlBatch(connection, transaction))
                {
                    prepare.BatchCommands.Add(new NpgsqlBatchCommand(CreateBatchFiles));
                    prepare.BatchCommands.Add(new NpgsqlBatchCommand(CreateBatchInstruments));
                    prepare.BatchCommands.Add(BatchCommand("SELECT source FROM runs WHERE id = $1", runId));
                    await using var reader = await prepare.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    source = await reader.ReadAsync(ct).ConfigureAwait(false) ? reader.GetString(0)
                        : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Run {runId} does not exist."));
                }

                await CopyBatchAsync(connection, files, ct).ConfigureAwait(false);

                await using var write = new NpgsqlBatch(connection, transaction);
                write.BatchCommands.Add(BatchCommand(DropFinishedKeys, source));
                write.BatchCommands.Add(new NpgsqlBatchCommand(DropRepeatedKeys));
                write.BatchCommands.Add(BatchCommand(WriteRows, source, runId));
                if (completesShard is { } shard)
                {
                    write.BatchCommands.Add(BatchCommand(InsertShard, source, shard.Count, shard.Index, runId, _time.GetUtcNow()));
                }

                long valid, invalid, duplicates, bytes;
                await using (var reader = await write.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Run {runId} does not exist."));
                    }

                    (valid, invalid, duplicates, bytes) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
                }

                var ignored = write.BatchCommands[0].RecordsAffected + write.BatchCommands[1].RecordsAffected;
                await DurableCommit.CommitDurablyAsync(transaction, "write a batch", ct).ConfigureAwait(false);
                return new BatchResult((int)valid, (int)invalid, (int)duplicates, (int)ignored, bytes);
            },
            cancellationToken);
    }

    public Task CompleteRunAsync(long runId, RunStats stats, RunStatus status, string? errorMessage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stats);
        return WriteAsync(
            "complete a run",
            async (connection, ct) =>
            {
                // A transaction of its own, not autocommit, so its commit is checked like every other (DurableCommit).
                await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                var updated = await ExecuteAsync(
                    connection,
                    transaction,
                    """
                    UPDATE runs SET finished_at = $2, status = $3, files_seen = $4, files_skipped = $5, files_valid = $6,
                                    files_invalid = $7, files_duplicate = $8, bytes_read = $9, read_seconds = $10,
                                    extract_seconds = $11, write_seconds = $12, wall_seconds = $13, error = $14
                    WHERE id = $1;
                    """,
                    ct,
                    runId,
                    status == RunStatus.Running ? null : _time.GetUtcNow(),
                    RunStatuses.ToCode(status),
                    stats.FilesSeen,
                    stats.FilesSkipped,
                    stats.FilesValid,
                    stats.FilesInvalid,
                    stats.FilesDuplicate,
                    stats.BytesRead,
                    stats.ReadSeconds,
                    stats.ExtractSeconds,
                    stats.WriteSeconds,
                    stats.WallSeconds,
                    errorMessage is null ? null : Clean(errorMessage)).ConfigureAwait(false);
                if (updated != 1)
                {
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Run {runId} does not exist."));
                }

                await DurableCommit.CommitDurablyAsync(transaction, "complete a run", ct).ConfigureAwait(false);
                return true;
            },
            cancellationToken);
    }

    public Task<IReadOnlyList<RunRecord>> GetRunsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return WriteAsync<IReadOnlyList<RunRecord>>(
            "read the runs",
            (connection, ct) => ReadRunsAsync(connection, SelectRuns + " ORDER BY id DESC LIMIT $1;", ct, limit),
            cancellationToken);
    }

    public Task<RunRecord?> GetRunAsync(long runId, CancellationToken cancellationToken) => WriteAsync(
        "read a run",
        async (connection, ct) => (await ReadRunsAsync(connection, SelectRuns + " WHERE id = $1;", ct, runId).ConfigureAwait(false)) is [var run] ? run : null,
        cancellationToken);

    public Task<StoreSummary> GetSummaryAsync(CancellationToken cancellationToken) =>
        WriteAsync("read the summary", ReadSummaryAsync, cancellationToken);

    public Task<IReadOnlyList<ShardRecord>> GetCompletedShardsAsync(CancellationToken cancellationToken) => WriteAsync<IReadOnlyList<ShardRecord>>(
        "read the completed shards",
        async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT source, shard_index, shard_count, run_id, completed_at FROM shards ORDER BY source, shard_count, shard_index;");
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var shards = new List<ShardRecord>();
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                shards.Add(new ShardRecord(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetFieldValue<DateTimeOffset>(4)));
            }

            return shards;
        },
        cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_connections is { } connections)
        {
            _connections = null;
            await connections.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a primary connection, retried on transient failures (see <see cref="PostgresConnections.WriteRetry"/>).
    /// A commit the synchronous standby did not confirm (<see cref="DurableCommit"/>) is not transient: it is not
    /// retried and surfaces as its <see cref="StoreUnavailableException"/>.
    /// </summary>
    private async Task<T> WriteAsync<T>(string what, Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var connections = Connections;
        try
        {
            return await PostgresConnections.WriteRetry.ExecuteAsync(
                async ct =>
                {
                    await using var connection = await connections.Primary.OpenConnectionAsync(ct).ConfigureAwait(false);
                    return await work(connection, ct).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresConnections.IsTransient(ex))
        {
            throw new IOException($"Could not {what}: no writable PostgreSQL primary answered at {connections.Description} within the retry budget ({ex.Message}).", ex);
        }
    }

    /// <summary>The batch into the session's temp tables with binary COPY.</summary>
    private static async Task CopyBatchAsync(NpgsqlConnection connection, IReadOnlyList<ExtractedFile> files, CancellationToken cancellationToken)
    {
        await using (var writer = await connection.BeginBinaryImportAsync(CopyFiles, cancellationToken).ConfigureAwait(false))
        {
            for (var ord = 0; ord < files.Count; ord++)
            {
                var file = files[ord];
                var summary = file.Summary;
                var valid = file.IsValid && summary is not null && file.Md5 is not null;
                await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(ord, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(CleanKey(file.Key), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await WriteNullableAsync(writer, file.Md5 is null ? null : Clean(file.Md5), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(file.Bytes, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(valid, NpgsqlDbType.Boolean, cancellationToken).ConfigureAwait(false);
                if (valid)
                {
                    var set = summary!.Instruments;
                    await writer.WriteAsync(Clean(file.Name ?? file.Md5!), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await WriteNullableAsync(writer, summary.Title is null ? null : Clean(summary.Title), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(summary.Format, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(summary.Tracks, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(summary.Division, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(summary.Ticks, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                    if (summary.Seconds is { } seconds && double.IsFinite(seconds))
                    {
                        await writer.WriteAsync(seconds, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await writer.WriteAsync((long)summary.Notes, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(set.Count, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(WarningText(summary.Warnings), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(unchecked((long)set.Low), NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(unchecked((long)set.Middle), NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(unchecked((long)set.High), NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                    await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                    await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    for (var column = 0; column < 13; column++)
                    {
                        await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await writer.WriteAsync(CleanKey(file.ReasonCode ?? InvalidReasons.InternalError), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(Clean(file.Message ?? "Valid file without a summary or MD5."), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                }
            }

            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        // One set of instruments per MD5 (the first file's; files with one MD5 have the same bytes), so the insert
        // needs no DISTINCT.
        var written = new HashSet<string>(StringComparer.Ordinal);
        await using (var writer = await connection.BeginBinaryImportAsync(CopyInstruments, cancellationToken).ConfigureAwait(false))
        {
            foreach (var file in files)
            {
                if (!file.IsValid || file.Summary is not { } summary || file.Md5 is not { } md5 || !written.Add(md5))
                {
                    continue;
                }

                var notes = summary.NoteCounts;
                foreach (var code in summary.Instruments.ToArray())
                {
                    await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(Clean(md5), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync((short)code, NpgsqlDbType.Smallint, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(code < notes.Count ? (long)notes[code] : 0L, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                }
            }

            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter writer, string? value, NpgsqlDbType type, CancellationToken cancellationToken)
    {
        if (value is null)
        {
            await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await writer.WriteAsync(value, type, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string WarningText(MidiWarnings warnings) =>
        warnings == MidiWarnings.None ? string.Empty : string.Join(' ', MidiCodes.Codes(warnings));

    /// <summary>
    /// Most UTF-8 bytes of an indexed text (a key, a source, a reason code) as stored: a btree entry holds at most
    /// 2,704 bytes, and (source, key) must fit one whatever the text (SQLite has no such limit).
    /// </summary>
    internal const int MaxIndexedBytes = 1000;

    /// <summary>
    /// <see cref="Clean"/>, and a text too long for an index entry (over <see cref="MaxIndexedBytes"/> UTF-8 bytes,
    /// which no real key or source is) shortened to its first 900 bytes, "…" and the XxHash128 of the whole text: still
    /// one stored value per text, the same every time, so a rerun finds it in the ledger and changes nothing.
    /// </summary>
    internal static string CleanKey(string text)
    {
        var clean = Clean(text);
        if (clean.Length * 3 <= MaxIndexedBytes || Encoding.UTF8.GetByteCount(clean) <= MaxIndexedBytes)
        {
            return clean;
        }

        var bytes = 0;
        var end = 0;
        while (end < clean.Length)
        {
            var width = char.IsHighSurrogate(clean[end]) && end + 1 < clean.Length ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(clean.AsSpan(end, width));
            if (bytes + size > 900)
            {
                break;
            }

            bytes += size;
            end += width;
        }

        var hash = System.IO.Hashing.XxHash128.Hash(Encoding.UTF8.GetBytes(clean));
        return string.Concat(clean.AsSpan(0, end), "…", Convert.ToHexStringLower(hash));
    }

    /// <summary>
    /// Text as PostgreSQL can hold it: it has no NUL character (MIDI titles and keys sometimes do) and is valid UTF-8
    /// (Npgsql refuses a lone UTF-16 surrogate). Both become U+FFFD, which is what SQLite stores for a lone surrogate,
    /// and the same everywhere the store writes or looks up text, so a key written with a NUL is found again.
    /// </summary>
    internal static string Clean(string text)
    {
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            return text.Contains('\0', StringComparison.Ordinal) ? text.Replace('\0', '\uFFFD') : text;
        }

        return string.Create(text.Length, text, static (span, text) =>
        {
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    span[i] = c;
                    span[++i] = text[i];
                }
                else
                {
                    span[i] = c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c;
                }
            }
        });
    }

    internal static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params object?[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }

    internal static NpgsqlBatchCommand BatchCommand(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }

    internal static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params object?[] values)
    {
        await using var command = Command(connection, transaction, sql, values);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<object?> ScalarAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params object?[] values)
    {
        await using var command = Command(connection, transaction, sql, values);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>PostgreSQL returns timestamptz as a UTC DateTimeOffset.</summary>
    internal static DateTimeOffset ReadTime(System.Data.Common.DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    internal static async Task<IReadOnlyList<RunRecord>> ReadRunsAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object?[] values)
    {
        await using var command = Command(connection, null, sql, values);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var runs = new List<RunRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            runs.Add(StoreRows.Run(reader, ReadTime));
        }

        return runs;
    }

    /// <summary>
    /// Counts in one REPEATABLE READ transaction, so they agree with each other while others write. It writes nothing,
    /// so its commit waits for no synchronous standby and needs no <see cref="DurableCommit"/>.
    /// </summary>
    internal static async Task<StoreSummary> ReadSummaryAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        long songs, rows, sourceFiles, invalid;
        await using (var counts = Command(connection, transaction, "SELECT (SELECT count(*) FROM songs), (SELECT count(*) FROM song_instruments), (SELECT count(*) FROM source_files), (SELECT count(*) FROM invalid_files);"))
        await using (var reader = await counts.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            songs = reader.GetInt64(0);
            rows = reader.GetInt64(1);
            sourceFiles = reader.GetInt64(2);
            invalid = reader.GetInt64(3);
        }

        var reasons = new List<ReasonCount>();
        await using (var command = Command(connection, transaction, "SELECT reason_code, count(*) AS files FROM invalid_files GROUP BY reason_code ORDER BY files DESC, reason_code COLLATE \"C\";"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                reasons.Add(new ReasonCount(reader.GetString(0), reader.GetInt64(1)));
            }
        }

        var usage = new List<InstrumentUsage>();
        await using (var command = Command(
            connection,
            transaction,
            """
            SELECT i.code, i.name, i.family_code, f.name, u.songs
            FROM (SELECT instrument_code, count(*) AS songs FROM song_instruments GROUP BY instrument_code) AS u
            JOIN instruments AS i ON i.code = u.instrument_code
            JOIN instrument_families AS f ON f.code = i.family_code
            ORDER BY u.songs DESC, i.code;
            """))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                usage.Add(new InstrumentUsage(reader.GetInt16(0), reader.GetString(1), reader.GetInt16(2), reader.GetString(3), reader.GetInt64(4)));
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new StoreSummary(songs, rows, sourceFiles, invalid, reasons, usage);
    }
}
