using System.Globalization;
using System.Numerics;
using System.Text;
using Microsoft.Data.Sqlite;
using Scale.Midi;

namespace Scale.Store.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode (synchronous=NORMAL, foreign keys on). Batches are written with
/// prepared commands reused across batches, one IMMEDIATE transaction each.
/// </summary>
internal sealed partial class SqliteScaleStore : IScaleStore
{
    private const string SelectVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;";

    private const string InsertMigration = "INSERT INTO schema_migrations (version, applied_at) VALUES ($version, $at);";

    private const string InterruptStale = """
        UPDATE runs SET status = 'interrupted',
                        error = COALESCE(error, 'The process ended before the run finished (found by run ' || $next || ').')
        WHERE source = $source AND status = 'running';
        """;

    private const string InsertRun = """
        INSERT INTO runs (source, started_at, status) VALUES ($source, $at, 'running') RETURNING id;
        """;

    private const string NextRunId = "SELECT COALESCE(MAX(id), 0) + 1 FROM runs;";

    private const string SelectFinishedKeys = "SELECT key FROM source_files WHERE source = $source;";

    private const string InsertLedgerSql = """
        INSERT INTO source_files (source, key, song_id, bytes, run_id) VALUES ($source, $key, $song, $bytes, $run)
        ON CONFLICT (source, key) DO NOTHING;
        """;

    private const string InsertSongSql = """
        INSERT INTO songs (id, name, title, format, tracks, division, ticks, seconds, bytes, note_count,
                           instrument_count, warnings, instrument_bits_lo, instrument_bits_mid, instrument_bits_hi,
                           first_run_id)
        VALUES ($id, $name, $title, $format, $tracks, $division, $ticks, $seconds, $bytes, $notes,
                $count, $warnings, $lo, $mid, $hi, $run)
        ON CONFLICT (id) DO NOTHING;
        """;

    /// <summary>Instruments of one song go in one multi-row INSERT (one command per row count, made when first needed).</summary>
    private const string InsertSongInstrumentsHead = "INSERT INTO song_instruments (song_id, instrument_code, notes) VALUES ";

    private const string InsertInvalid = """
        INSERT INTO invalid_files (source, key, md5, reason_code, message, bytes, run_id)
        VALUES ($source, $key, $md5, $reason, $message, $bytes, $run)
        ON CONFLICT (source, key) DO NOTHING;
        """;

    private const string AddRunCounts = """
        UPDATE runs SET files_seen = files_seen + $valid + $invalid,
                        files_valid = files_valid + $valid,
                        files_invalid = files_invalid + $invalid,
                        files_duplicate = files_duplicate + $duplicates,
                        bytes_read = bytes_read + $bytes
        WHERE id = $run;
        """;

    private const string InsertShard = """
        INSERT INTO shards (source, shard_count, shard_index, run_id, completed_at) VALUES ($source, $count, $index, $run, $at)
        ON CONFLICT (source, shard_count, shard_index) DO NOTHING;
        """;

    private const string SelectShards = "SELECT source, shard_index, shard_count, run_id, completed_at FROM shards ORDER BY source, shard_count, shard_index;";

    private const string DeleteSongById = "DELETE FROM songs WHERE id = $id;";

    private const string SelectRunSource = "SELECT source FROM runs WHERE id = $run;";

    private const string UpdateRunEnd = """
        UPDATE runs SET finished_at = $at, status = $status, files_seen = $seen, files_skipped = $skipped,
                        files_valid = $valid, files_invalid = $invalid, files_duplicate = $duplicates,
                        bytes_read = $bytes, read_seconds = $read, extract_seconds = $extract,
                        write_seconds = $write, wall_seconds = $wall, error = $error
        WHERE id = $run;
        """;

    internal const string SelectRuns = """
        SELECT id, source, started_at, finished_at, status, files_seen, files_skipped, files_valid, files_invalid,
               files_duplicate, bytes_read, read_seconds, extract_seconds, write_seconds, wall_seconds, error
        FROM runs
        """;

    private const string SelectCounts = """
        SELECT (SELECT COUNT(*) FROM songs), (SELECT COUNT(*) FROM song_instruments),
               (SELECT COUNT(*) FROM source_files), (SELECT COUNT(*) FROM invalid_files);
        """;

    private const string SelectReasons = """
        SELECT reason_code, COUNT(*) AS files FROM invalid_files GROUP BY reason_code ORDER BY files DESC, reason_code;
        """;

    private const string SelectUsage = """
        SELECT i.code, i.name, i.family_code, f.name, u.songs
        FROM (SELECT instrument_code, COUNT(*) AS songs FROM song_instruments GROUP BY instrument_code) AS u
        JOIN instruments AS i ON i.code = u.instrument_code
        JOIN instrument_families AS f ON f.code = i.family_code
        ORDER BY u.songs DESC, i.code;
        """;

    private readonly string _connectionString;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<MidiWarnings, string> _warningText = [];
    private SqliteConnection? _connection;
    private BatchCommands? _batch;
    private bool _disposed;

    public SqliteScaleStore(string db, TimeProvider time)
    {
        _time = time;
        var builder = db.Contains("Data Source=", StringComparison.OrdinalIgnoreCase)
            ? new SqliteConnectionStringBuilder(db)
            : new SqliteConnectionStringBuilder { DataSource = db };
        builder.Mode = SqliteOpenMode.ReadWriteCreate;
        // One long-lived connection per store; pooling would keep the file open after disposal.
        builder.Pooling = false;
        builder.DefaultTimeout = 60;
        _connectionString = builder.ToString();
        Description = builder.DataSource;
    }

    public string Description { get; }

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is not null)
            {
                return;
            }

            var connection = new SqliteConnection(_connectionString);
            try
            {
                await connection.OpenAsync(cancellationToken);
                // Batches insert random MD5 keys into three indexes, so each commit dirties pages all over them; a
                // large checkpoint interval (256 MB of WAL) writes each page back once per several commits instead
                // of once per commit (WriteThroughputTests with 2,000-file batches: about a quarter less time).
                Execute(connection, """
                    PRAGMA busy_timeout = 60000;
                    PRAGMA foreign_keys = ON;
                    PRAGMA synchronous = NORMAL;
                    PRAGMA temp_store = MEMORY;
                    PRAGMA cache_size = -131072;
                    PRAGMA wal_autocheckpoint = 65536;
                    PRAGMA journal_size_limit = 67108864;
                    """);
                // Persistent in the file; switching needs a moment with no other writer, so retry on busy.
                ExecuteWithBusyRetry(connection, "PRAGMA journal_mode = WAL;", cancellationToken);
                Migrate(connection, cancellationToken);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }

            _connection = connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return Migrate(Connection, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<long> BeginRunAsync(string source, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var connection = Connection;
            using var transaction = connection.BeginTransaction();
            long next;
            using (var select = Command(connection, transaction, NextRunId))
            {
                next = Convert.ToInt64(select.ExecuteScalar(), CultureInfo.InvariantCulture);
            }

            using (var stale = Command(connection, transaction, InterruptStale))
            {
                stale.Parameters.AddWithValue("$source", source);
                stale.Parameters.AddWithValue("$next", next);
                stale.ExecuteNonQuery();
            }

            long id;
            using (var insert = Command(connection, transaction, InsertRun))
            {
                insert.Parameters.AddWithValue("$source", source);
                insert.Parameters.AddWithValue("$at", Now());
                id = Convert.ToInt64(insert.ExecuteScalar(), CultureInfo.InvariantCulture);
            }

            transaction.Commit();
            return id;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlySet<string>> GetFinishedKeysAsync(string source, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var keys = new HashSet<string>(StringComparer.Ordinal);
            using var command = Command(Connection, null, SelectFinishedKeys);
            command.Parameters.AddWithValue("$source", source);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                keys.Add(reader.GetString(0));
            }

            return keys;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<BatchResult> WriteBatchAsync(long runId, IReadOnlyList<ExtractedFile> files, ShardSpec? completesShard, CancellationToken cancellationToken)
    {
        completesShard?.Validate();
        ArgumentNullException.ThrowIfNull(files);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var connection = Connection;
            var batch = _batch ??= new BatchCommands(connection);
            var source = RunSource(connection, runId);
            using var transaction = connection.BeginTransaction();
            batch.Enlist(transaction);
            try
            {
                var result = WriteFiles(batch, source, runId, files, cancellationToken);
                batch.RunValid.Value = result.Valid;
                batch.RunInvalid.Value = result.Invalid;
                batch.RunDuplicates.Value = result.Duplicates;
                batch.RunBytes.Value = result.Bytes;
                batch.RunId.Value = runId;
                batch.RunCounts.ExecuteNonQuery();
                if (completesShard is { } shard)
                {
                    using var complete = Command(connection, transaction, InsertShard);
                    complete.Parameters.AddWithValue("$source", source);
                    complete.Parameters.AddWithValue("$count", shard.Count);
                    complete.Parameters.AddWithValue("$index", shard.Index);
                    complete.Parameters.AddWithValue("$run", runId);
                    complete.Parameters.AddWithValue("$at", Now());
                    complete.ExecuteNonQuery();
                }

                transaction.Commit();
                return result;
            }
            finally
            {
                batch.Enlist(null);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task CompleteRunAsync(long runId, RunStats stats, RunStatus status, string? errorMessage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stats);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var command = Command(Connection, null, UpdateRunEnd);
            var p = command.Parameters;
            p.AddWithValue("$run", runId);
            p.AddWithValue("$at", status == RunStatus.Running ? DBNull.Value : Now());
            p.AddWithValue("$status", RunStatuses.ToCode(status));
            p.AddWithValue("$seen", stats.FilesSeen);
            p.AddWithValue("$skipped", stats.FilesSkipped);
            p.AddWithValue("$valid", stats.FilesValid);
            p.AddWithValue("$invalid", stats.FilesInvalid);
            p.AddWithValue("$duplicates", stats.FilesDuplicate);
            p.AddWithValue("$bytes", stats.BytesRead);
            p.AddWithValue("$read", stats.ReadSeconds);
            p.AddWithValue("$extract", stats.ExtractSeconds);
            p.AddWithValue("$write", stats.WriteSeconds);
            p.AddWithValue("$wall", stats.WallSeconds);
            p.AddWithValue("$error", (object?)errorMessage ?? DBNull.Value);
            if (command.ExecuteNonQuery() != 1)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Run {runId} does not exist."));
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<RunRecord>> GetRunsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var command = Command(Connection, null, SelectRuns + " ORDER BY id DESC LIMIT $limit;");
            command.Parameters.AddWithValue("$limit", limit);
            return ReadRuns(command);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<RunRecord?> GetRunAsync(long runId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var command = Command(Connection, null, SelectRuns + " WHERE id = $run;");
            command.Parameters.AddWithValue("$run", runId);
            var runs = ReadRuns(command);
            return runs.Count == 0 ? null : runs[0];
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<StoreSummary> GetSummaryAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return ReadSummary(Connection);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<ShardRecord>> GetCompletedShardsAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var command = Command(Connection, null, SelectShards);
            using var reader = command.ExecuteReader();
            var shards = new List<ShardRecord>();
            while (reader.Read())
            {
                shards.Add(new ShardRecord(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3), ParseTime(reader.GetString(4))));
            }

            return shards;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _batch?.Dispose();
            _batch = null;
            if (_connection is { } connection)
            {
                _connection = null;
                try
                {
                    Execute(connection, "PRAGMA optimize;");
                    // Leaves a small WAL behind; fails harmlessly (SQLITE_BUSY) while another process reads.
                    Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
                }
                catch (SqliteException)
                {
                    // Best effort: statistics only.
                }

                await connection.DisposeAsync();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private SqliteConnection Connection
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _connection ?? throw new InvalidOperationException("The store is not open: call OpenAsync first.");
        }
    }

    private string Now() => _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);

    private int Migrate(SqliteConnection connection, CancellationToken cancellationToken)
    {
        // IMMEDIATE: the write lock is taken before the version is read, so concurrent openers apply each migration once.
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var create = Command(connection, transaction, SqliteSchema.CreateMigrationsTable))
        {
            create.ExecuteNonQuery();
        }

        int version;
        using (var select = Command(connection, transaction, SelectVersion))
        {
            version = Convert.ToInt32(select.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        if (version > SqliteSchema.LatestVersion)
        {
            throw new InvalidOperationException(string.Create(
                CultureInfo.InvariantCulture,
                $"The database has schema version {version}, newer than this program's {SqliteSchema.LatestVersion}; upgrade Scale."));
        }

        for (var v = version + 1; v <= SqliteSchema.LatestVersion; v++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            SqliteSchema.Migrations[v - 1](connection, transaction);
            using var record = Command(connection, transaction, InsertMigration);
            record.Parameters.AddWithValue("$version", v);
            record.Parameters.AddWithValue("$at", Now());
            record.ExecuteNonQuery();
        }

        transaction.Commit();
        return SqliteSchema.LatestVersion;
    }

    private static string RunSource(SqliteConnection connection, long runId)
    {
        using var command = Command(connection, null, SelectRunSource);
        command.Parameters.AddWithValue("$run", runId);
        return command.ExecuteScalar() as string
            ?? throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Run {runId} does not exist."));
    }

    private BatchResult WriteFiles(BatchCommands batch, string source, long runId, IReadOnlyList<ExtractedFile> files, CancellationToken cancellationToken)
    {
        batch.LedgerSource.Value = source;
        batch.LedgerRun.Value = runId;
        batch.InvalidSource.Value = source;
        batch.InvalidRun.Value = runId;
        batch.SongRun.Value = runId;
        int valid = 0, invalid = 0, duplicates = 0, ignored = 0;
        long bytes = 0;
        for (var i = 0; i < files.Count; i++)
        {
            if ((i & 255) == 255)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var file = files[i];
            var summary = file.Summary;
            if (file.IsValid && summary is not null && file.Md5 is not null)
            {
                // Song first (the ledger row references it), then the ledger row, then the instruments.
                var newSong = InsertSong(batch, file, summary);
                if (!InsertLedger(batch, file, file.Md5))
                {
                    ignored++;
                    if (newSong)
                    {
                        // Key already finished with other content: do not keep a song nobody references.
                        batch.DeleteSongId.Value = file.Md5;
                        batch.DeleteSong.ExecuteNonQuery();
                    }

                    continue;
                }

                valid++;
                bytes += file.Bytes;
                if (newSong)
                {
                    InsertInstruments(batch, file.Md5, summary);
                }
                else
                {
                    duplicates++;
                }
            }
            else
            {
                if (!InsertLedger(batch, file, null))
                {
                    ignored++;
                    continue;
                }

                invalid++;
                bytes += file.Bytes;
                batch.InvalidKey.Value = file.Key;
                batch.InvalidMd5.Value = (object?)file.Md5 ?? DBNull.Value;
                batch.InvalidReason.Value = file.ReasonCode ?? InvalidReasons.InternalError;
                batch.InvalidMessage.Value = file.Message ?? "Valid file without a summary or MD5.";
                batch.InvalidBytes.Value = file.Bytes;
                batch.Invalid.ExecuteNonQuery();
            }
        }

        return new BatchResult(valid, invalid, duplicates, ignored, bytes);
    }

    private static bool InsertLedger(BatchCommands batch, ExtractedFile file, string? songId)
    {
        batch.LedgerKey.Value = file.Key;
        batch.LedgerSong.Value = (object?)songId ?? DBNull.Value;
        batch.LedgerBytes.Value = file.Bytes;
        return batch.Ledger.ExecuteNonQuery() != 0;
    }

    /// <summary>Inserts the song row; false when a song with this MD5 was already stored.</summary>
    private bool InsertSong(BatchCommands batch, ExtractedFile file, MidiSummary summary)
    {
        var md5 = file.Md5!;
        var set = summary.Instruments;
        batch.SongId.Value = md5;
        batch.SongName.Value = file.Name ?? md5;
        batch.SongTitle.Value = (object?)summary.Title ?? DBNull.Value;
        batch.SongFormat.Value = summary.Format;
        batch.SongTracks.Value = summary.Tracks;
        batch.SongDivision.Value = summary.Division;
        batch.SongTicks.Value = summary.Ticks;
        batch.SongSeconds.Value = summary.Seconds is { } seconds && double.IsFinite(seconds) ? seconds : DBNull.Value;
        batch.SongBytes.Value = file.Bytes;
        batch.SongNotes.Value = summary.Notes;
        batch.SongCount.Value = set.Count;
        batch.SongWarnings.Value = WarningText(summary.Warnings);
        batch.SongLow.Value = unchecked((long)set.Low);
        batch.SongMiddle.Value = unchecked((long)set.Middle);
        batch.SongHigh.Value = unchecked((long)set.High);
        return batch.Song.ExecuteNonQuery() != 0;
    }

    private static void InsertInstruments(BatchCommands batch, string md5, MidiSummary summary)
    {
        var set = summary.Instruments;
        var count = set.Count;
        if (count == 0)
        {
            return;
        }

        var insert = batch.Instruments(count);
        var parameters = insert.Parameters;
        parameters[0].Value = md5;
        var notes = summary.NoteCounts;
        var p = 1;
        for (var word = 0; word < 3; word++)
        {
            var bits = word switch { 0 => set.Low, 1 => set.Middle, _ => set.High };
            while (bits != 0)
            {
                var code = (word << 6) + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                parameters[p++].Value = code;
                parameters[p++].Value = code < notes.Count ? notes[code] : 0;
            }
        }

        insert.ExecuteNonQuery();
    }

    private string WarningText(MidiWarnings warnings)
    {
        if (warnings == MidiWarnings.None)
        {
            return string.Empty;
        }

        if (!_warningText.TryGetValue(warnings, out var text))
        {
            text = string.Join(' ', MidiCodes.Codes(warnings));
            _warningText[warnings] = text;
        }

        return text;
    }

    /// <summary>Songs, rows, invalid files by reason and instrument usage, in one read transaction so they agree.</summary>
    internal static StoreSummary ReadSummary(SqliteConnection connection)
    {
        // One read transaction: the counts agree with each other even while another process writes.
        using var transaction = connection.BeginTransaction(deferred: true);
        long songs, rows, sourceFiles, invalid;
        using (var counts = Command(connection, transaction, SelectCounts))
        using (var reader = counts.ExecuteReader())
        {
            reader.Read();
            songs = reader.GetInt64(0);
            rows = reader.GetInt64(1);
            sourceFiles = reader.GetInt64(2);
            invalid = reader.GetInt64(3);
        }

        var reasons = new List<ReasonCount>();
        using (var command = Command(connection, transaction, SelectReasons))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                reasons.Add(new ReasonCount(reader.GetString(0), reader.GetInt64(1)));
            }
        }

        var usage = new List<InstrumentUsage>();
        using (var command = Command(connection, transaction, SelectUsage))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                usage.Add(new InstrumentUsage(
                    reader.GetInt32(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3), reader.GetInt64(4)));
            }
        }

        transaction.Commit();
        return new StoreSummary(songs, rows, sourceFiles, invalid, reasons, usage);
    }

    internal static List<RunRecord> ReadRuns(SqliteCommand command)
    {
        var runs = new List<RunRecord>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            runs.Add(StoreRows.Run(reader, ReadTime));
        }

        return runs;
    }

    /// <summary>SQLite keeps timestamps as ISO 8601 text.</summary>
    internal static DateTimeOffset ReadTime(System.Data.Common.DbDataReader reader, int ordinal) => ParseTime(reader.GetString(ordinal));

    internal static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    internal static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = Command(connection, null, sql);
        command.ExecuteNonQuery();
    }

    private static void ExecuteWithBusyRetry(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                Execute(connection, sql);
                return;
            }
            catch (SqliteException e) when (e.SqliteErrorCode is 5 or 6 && attempt < 200)
            {
                // SQLITE_BUSY / SQLITE_LOCKED: another connection is changing the journal mode right now.
                cancellationToken.WaitHandle.WaitOne(50);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>The prepared statements of the batch path and their parameters, kept for the store's lifetime.</summary>
    private sealed class BatchCommands : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand?[] _instruments = new SqliteCommand?[GeneralMidi.InstrumentCount + 1];
        private SqliteTransaction? _transaction;

        public BatchCommands(SqliteConnection connection)
        {
            Ledger = Command(connection, null, InsertLedgerSql);
            LedgerSource = Add(Ledger, "$source", SqliteType.Text);
            LedgerKey = Add(Ledger, "$key", SqliteType.Text);
            LedgerSong = Add(Ledger, "$song", SqliteType.Text);
            LedgerBytes = Add(Ledger, "$bytes", SqliteType.Integer);
            LedgerRun = Add(Ledger, "$run", SqliteType.Integer);

            Song = Command(connection, null, InsertSongSql);
            SongId = Add(Song, "$id", SqliteType.Text);
            SongName = Add(Song, "$name", SqliteType.Text);
            SongTitle = Add(Song, "$title", SqliteType.Text);
            SongFormat = Add(Song, "$format", SqliteType.Integer);
            SongTracks = Add(Song, "$tracks", SqliteType.Integer);
            SongDivision = Add(Song, "$division", SqliteType.Integer);
            SongTicks = Add(Song, "$ticks", SqliteType.Integer);
            SongSeconds = Add(Song, "$seconds", SqliteType.Real);
            SongBytes = Add(Song, "$bytes", SqliteType.Integer);
            SongNotes = Add(Song, "$notes", SqliteType.Integer);
            SongCount = Add(Song, "$count", SqliteType.Integer);
            SongWarnings = Add(Song, "$warnings", SqliteType.Text);
            SongLow = Add(Song, "$lo", SqliteType.Integer);
            SongMiddle = Add(Song, "$mid", SqliteType.Integer);
            SongHigh = Add(Song, "$hi", SqliteType.Integer);
            SongRun = Add(Song, "$run", SqliteType.Integer);

            _connection = connection;

            Invalid = Command(connection, null, InsertInvalid);
            InvalidSource = Add(Invalid, "$source", SqliteType.Text);
            InvalidKey = Add(Invalid, "$key", SqliteType.Text);
            InvalidMd5 = Add(Invalid, "$md5", SqliteType.Text);
            InvalidReason = Add(Invalid, "$reason", SqliteType.Text);
            InvalidMessage = Add(Invalid, "$message", SqliteType.Text);
            InvalidBytes = Add(Invalid, "$bytes", SqliteType.Integer);
            InvalidRun = Add(Invalid, "$run", SqliteType.Integer);

            DeleteSong = Command(connection, null, DeleteSongById);
            DeleteSongId = Add(DeleteSong, "$id", SqliteType.Text);

            RunCounts = Command(connection, null, AddRunCounts);
            RunValid = Add(RunCounts, "$valid", SqliteType.Integer);
            RunInvalid = Add(RunCounts, "$invalid", SqliteType.Integer);
            RunDuplicates = Add(RunCounts, "$duplicates", SqliteType.Integer);
            RunBytes = Add(RunCounts, "$bytes", SqliteType.Integer);
            RunId = Add(RunCounts, "$run", SqliteType.Integer);
        }

        public SqliteCommand Ledger { get; }
        public SqliteParameter LedgerSource { get; }
        public SqliteParameter LedgerKey { get; }
        public SqliteParameter LedgerSong { get; }
        public SqliteParameter LedgerBytes { get; }
        public SqliteParameter LedgerRun { get; }

        public SqliteCommand Song { get; }
        public SqliteParameter SongId { get; }
        public SqliteParameter SongName { get; }
        public SqliteParameter SongTitle { get; }
        public SqliteParameter SongFormat { get; }
        public SqliteParameter SongTracks { get; }
        public SqliteParameter SongDivision { get; }
        public SqliteParameter SongTicks { get; }
        public SqliteParameter SongSeconds { get; }
        public SqliteParameter SongBytes { get; }
        public SqliteParameter SongNotes { get; }
        public SqliteParameter SongCount { get; }
        public SqliteParameter SongWarnings { get; }
        public SqliteParameter SongLow { get; }
        public SqliteParameter SongMiddle { get; }
        public SqliteParameter SongHigh { get; }
        public SqliteParameter SongRun { get; }

        /// <summary>The INSERT of <paramref name="count"/> song_instruments rows: $s, then $cN, $nN per row.</summary>
        public SqliteCommand Instruments(int count)
        {
            if (_instruments[count] is { } cached)
            {
                return cached;
            }

            var sql = new StringBuilder(InsertSongInstrumentsHead, InsertSongInstrumentsHead.Length + (count * 24));
            var command = _connection.CreateCommand();
            command.Transaction = _transaction;
            command.Parameters.Add("$s", SqliteType.Text);
            for (var i = 0; i < count; i++)
            {
                sql.Append(i == 0 ? "" : ", ").Append("($s, $c").Append(i).Append(", $n").Append(i).Append(')');
                command.Parameters.Add("$c" + i.ToString(CultureInfo.InvariantCulture), SqliteType.Integer);
                command.Parameters.Add("$n" + i.ToString(CultureInfo.InvariantCulture), SqliteType.Integer);
            }

            command.CommandText = sql.Append(';').ToString();
            _instruments[count] = command;
            return command;
        }

        public SqliteCommand Invalid { get; }
        public SqliteParameter InvalidSource { get; }
        public SqliteParameter InvalidKey { get; }
        public SqliteParameter InvalidMd5 { get; }
        public SqliteParameter InvalidReason { get; }
        public SqliteParameter InvalidMessage { get; }
        public SqliteParameter InvalidBytes { get; }
        public SqliteParameter InvalidRun { get; }

        public SqliteCommand DeleteSong { get; }
        public SqliteParameter DeleteSongId { get; }

        public SqliteCommand RunCounts { get; }
        public SqliteParameter RunValid { get; }
        public SqliteParameter RunInvalid { get; }
        public SqliteParameter RunDuplicates { get; }
        public SqliteParameter RunBytes { get; }
        public SqliteParameter RunId { get; }

        public void Enlist(SqliteTransaction? transaction)
        {
            _transaction = transaction;
            foreach (var command in _instruments)
            {
                command?.Transaction = transaction;
            }

            Ledger.Transaction = transaction;
            Song.Transaction = transaction;
            Invalid.Transaction = transaction;
            DeleteSong.Transaction = transaction;
            RunCounts.Transaction = transaction;
        }

        public void Dispose()
        {
            Ledger.Dispose();
            Song.Dispose();
            foreach (var command in _instruments)
            {
                command?.Dispose();
            }

            Invalid.Dispose();
            DeleteSong.Dispose();
            RunCounts.Dispose();
        }

        private static SqliteParameter Add(SqliteCommand command, string name, SqliteType type) =>
            command.Parameters.Add(name, type);
    }
}
