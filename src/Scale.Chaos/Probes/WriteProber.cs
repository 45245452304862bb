using System.Net.Sockets;
using System.Text.Json.Nodes;
using Npgsql;

namespace Scale.Chaos.Probes;

/// <summary>
/// Writes numbered rows at a steady rate through one or more endpoints and keeps a history of every write: when it
/// was meant to go, when it went, how it ended, and for an acknowledged one (the COMMIT returned) which server and
/// timeline committed it. Afterwards <see cref="CheckHistoryAsync"/> checks the history against the table: no
/// acknowledged write may be missing (with synchronous replication a failover loses none), and no two servers may
/// have accepted writes at the same moment (two primaries). The endpoints are the way clients reach the primary
/// (the load balancer) and, optionally, each member's own address (<see cref="WriteEndpoint.Direct"/>): a write a
/// member accepts directly proves it acted as a primary then.
/// </summary>
public sealed class WriteProber : IAsyncDisposable
{
    /// <summary>The probe table; rows of earlier runs stay (each run has its own <see cref="RunId"/>).</summary>
    public const string TableName = "chaos_write_probe";

    /// <summary>Endpoint number i (in the order given) writes ids from i × this upwards, so ids are unique in the run
    /// and the first endpoint's ids are 0, 1, 2, ... as before.</summary>
    public const long IdRangeSize = 1_000_000_000_000;

    /// <summary>The endpoint's name when the prober is made from one connection string.</summary>
    public const string MainEndpointName = "primary";

    /// <summary>How often the rows are read back before giving up, and how long to wait between tries: the primary may
    /// have just changed when the check runs.</summary>
    private const int ReadBackAttempts = 10;

    private static readonly TimeSpan ReadBackRetryDelay = TimeSpan.FromSeconds(2);

    /// <summary>The server that runs the INSERT fills these defaults, so the row itself says who committed it, and
    /// RETURNING hands the same values to the prober in the same statement. The timeline is the first 8 hex digits of
    /// the WAL file being written (a primary writes on its current timeline).</summary>
    private const string WrittenByDefault = "coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port(), 0)::text";

    private const string TimelineDefault = "('x' || substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8))::bit(32)::bigint";

    private static readonly string[] Migration =
    [
        // The table as earlier versions made it; then the new columns without defaults first, so that existing rows
        // stay NULL (a volatile default in ADD COLUMN would be computed now for every old row, naming today's server)
        // and adding them rewrites nothing; then the defaults, which apply to new rows only.
        $"CREATE TABLE IF NOT EXISTS {TableName} (run text NOT NULL, id bigint NOT NULL, written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run, id))",
        $"ALTER TABLE {TableName} ADD COLUMN IF NOT EXISTS endpoint text, ADD COLUMN IF NOT EXISTS written_by text, ADD COLUMN IF NOT EXISTS timeline bigint",
        $"ALTER TABLE {TableName} ALTER COLUMN written_by SET DEFAULT {WrittenByDefault}, ALTER COLUMN timeline SET DEFAULT {TimelineDefault}",
    ];

    private readonly IReadOnlyList<WriteEndpoint> _endpoints;
    private readonly Dictionary<string, NpgsqlDataSource> _sources;
    private readonly double _rate;
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly List<WriteAttempt> _history = [];
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private Task[] _loops = [];
    private long _attempts;
    private long _acknowledged;
    private long _refusedReadOnly;
    private long _failures;
    private string? _lastError;
    private TimeSpan? _stoppedAt;
    private int _started;
    private int _disposed;

    /// <summary>One client-facing endpoint named <see cref="MainEndpointName"/>: the primary through the load balancer.</summary>
    public WriteProber(string connectionString, double ratePerSecond, TimeProvider? time = null)
        : this([new WriteEndpoint(MainEndpointName, connectionString, Direct: false)], ratePerSecond, time)
    {
    }

    /// <summary>Each endpoint is written at <paramref name="ratePerSecond"/> by its own loop, so a write hung on one
    /// (bounded by its connection string's Timeout and Command Timeout) delays no other endpoint's writes.</summary>
    public WriteProber(IReadOnlyList<WriteEndpoint> endpoints, double ratePerSecond, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.Count == 0)
        {
            throw new ChaosException("the write prober needs at least one endpoint");
        }

        if (endpoints.GroupBy(e => e.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            throw new ChaosException($"the write prober's endpoint names must be unique: '{duplicate.Key}' is given twice");
        }

        _endpoints = [.. endpoints];
        _sources = _endpoints.ToDictionary(e => e.Name, e => PooledSource(e.ConnectionString), StringComparer.Ordinal);
        _rate = ratePerSecond > 0 ? ratePerSecond : throw new ChaosException("the write prober's rate must be positive");
        _time = time ?? TimeProvider.System;
        _origin = _time.GetTimestamp();
        CreatedAt = _time.GetUtcNow();
        ReadBackEndpoint = _endpoints.FirstOrDefault(e => !e.Direct) ?? _endpoints[0];
    }

    /// <summary>A fresh run's identifier: rows from earlier runs are left alone.</summary>
    public string RunId { get; } = Guid.NewGuid().ToString("N");

    public IReadOnlyList<WriteEndpoint> Endpoints => _endpoints;

    /// <summary>Where <see cref="CheckHistoryAsync"/> reads the rows back: the first client-facing endpoint, else the first.</summary>
    public WriteEndpoint ReadBackEndpoint { get; }

    /// <summary>The wall-clock moment of the history's zero (every <see cref="WriteAttempt"/> time is an offset from it).</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>Writes started, on every endpoint.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    /// <summary>Writes that failed (timeout, connection, other) on any endpoint; read-only refusals are counted apart.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Writes a read-only server refused (SQLSTATE 25006), on any endpoint.</summary>
    public long RefusedReadOnly => Interlocked.Read(ref _refusedReadOnly);

    /// <summary>The last failure's message.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>Acknowledged writes, on every endpoint.</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    /// <summary>A <see cref="TimeProvider"/> timestamp as an offset on the history's clock.</summary>
    public TimeSpan ToHistoryTime(long timestamp) => _time.GetElapsedTime(_origin, timestamp);

    /// <summary>Every write completed so far, in completion order.</summary>
    public IReadOnlyList<WriteAttempt> HistorySnapshot()
    {
        lock (_gate)
        {
            return [.. _history];
        }
    }

    /// <summary>Creates or migrates the table through every endpoint (a read-only one is skipped: it gets the table
    /// by replication), then starts one write loop per endpoint.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("The write prober is already started.");
        }

        foreach (var endpoint in _endpoints)
        {
            await MigrateAsync(endpoint, cancellationToken);
        }

        _loops = [.. _endpoints.Select((endpoint, index) => Task.Run(() => WriteLoopAsync(endpoint, index * IdRangeSize, _stop.Token), CancellationToken.None))];
    }

    /// <summary>The longest stretch without an acknowledged write between two moments (timestamps of
    /// <see cref="TimeProvider"/>), in seconds, through the client-facing endpoints (every endpoint when all are
    /// direct): how long clients could not write.</summary>
    public double LongestGapSeconds(long from, long to) =>
        WriteHistoryCheck.LongestGapSeconds(ClientFacing(HistorySnapshot()), ToHistoryTime(from), ToHistoryTime(to));

    /// <summary>
    /// Reads this run's rows back through <see cref="ReadBackEndpoint"/> (retrying while a failover settles) and checks
    /// the history so far against them (<see cref="WriteHistoryCheck.Check"/>): acknowledged writes missing, rows that
    /// name another server or timeline than their acknowledgement, the epochs, two primaries at once
    /// (<see cref="WriteHistoryCheck.Overlaps"/> has the rule), and the longest gap. Writes still in flight are left out.
    /// </summary>
    public async Task<WriteHistoryVerdict> CheckHistoryAsync(CancellationToken cancellationToken)
    {
        // The history first: every write acknowledged in it committed before the rows are read.
        var history = HistorySnapshot();
        var end = StoppedAt ?? _time.GetElapsedTime(_origin);
        var rows = await ReadRowsAsync(cancellationToken);
        return WriteHistoryCheck.Check(history, rows, _endpoints, end, ReadBackEndpoint.Name);
    }

    /// <summary>Acknowledged rows that are not in the table now (see <see cref="CheckHistoryAsync"/>).</summary>
    public async Task<long> LostAsync(CancellationToken cancellationToken) => (await CheckHistoryAsync(cancellationToken)).Lost;

    /// <summary>The history for the journal, bounded (<see cref="WriteHistoryExport"/>), with the run and endpoints.</summary>
    public JsonObject WriteHistoryJson(int listLimit = WriteHistoryExport.DefaultListLimit)
    {
        var history = WriteHistoryExport.ToJson(HistorySnapshot(), listLimit);
        history.Insert(0, "run", RunId);
        history.Insert(1, "created_at", CreatedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        history.Insert(2, "rate_per_endpoint", _rate);
        history.Insert(3, "endpoints", new JsonArray([.. _endpoints.Select((e, i) => (JsonNode)new JsonObject
        {
            ["name"] = e.Name,
            ["direct"] = e.Direct,
            ["first_id"] = i * IdRangeSize,
        })]));
        return history;
    }

    /// <summary>Stops writing: a write in flight is cancelled and recorded as stopped. The history stays readable.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        lock (_gate)
        {
            _stoppedAt = _time.GetElapsedTime(_origin);
        }

        foreach (var source in _sources.Values)
        {
            await source.DisposeAsync();
        }

        _stop.Dispose();
    }

    private TimeSpan? StoppedAt
    {
        get
        {
            lock (_gate)
            {
                return _stoppedAt;
            }
        }
    }

    private IEnumerable<WriteAttempt> ClientFacing(IReadOnlyList<WriteAttempt> history)
    {
        var names = _endpoints.Where(e => !e.Direct).Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        return names.Count == 0 ? history : history.Where(a => names.Contains(a.Endpoint));
    }

    /// <summary>
    /// A pool per endpoint, whatever the connection string says: each loop keeps one connection and reuses it while it
    /// works, as the service's own clients do. A connection that broke (a dead server, a timeout, the load balancer
    /// cutting it at a failover) is dropped by Npgsql and the next write opens a new one, so every outage is still
    /// seen. A new connection per write (the earlier way) cost 80 PostgreSQL backends forked and SCRAM handshakes a
    /// second at 4 endpoints: a third of this 2-core machine (idle 67 % with the prober alone), CPU the lab's service
    /// then lacked when a zone came back.
    /// </summary>
    private static NpgsqlDataSource PooledSource(string connectionString) =>
        NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = true, MinPoolSize = 0, MaxPoolSize = 4 });

    private async Task MigrateAsync(WriteEndpoint endpoint, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = _sources[endpoint.Name].CreateConnection();
            await connection.OpenAsync(cancellationToken);
            foreach (var statement in Migration)
            {
                await using var command = new NpgsqlCommand(statement, connection);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction)
        {
            // A replica: its table comes from the primary.
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException)
        {
            throw new ChaosException($"the write prober could not create its table through endpoint '{endpoint.Name}': {ex.Message}", ex);
        }
    }

    private async Task WriteLoopAsync(WriteEndpoint endpoint, long firstId, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(1 / _rate);
        var start = _time.GetTimestamp();
        var startOffset = ToHistoryTime(start);
        var connection = new ConnectionIdentity();
        long tick = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var wait = (interval * tick) - _time.GetElapsedTime(start);
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, _time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            // The id follows the schedule, so an id skipped while behind is never sent (and never retried: a retry
            // could hide a write that was in fact committed and then lost).
            var attempt = await WriteOnceAsync(endpoint, firstId + tick, startOffset + (interval * tick), connection, cancellationToken);
            Record(attempt);
            tick++;
            var elapsed = _time.GetElapsedTime(start);
            if (elapsed > interval * tick)
            {
                // Behind (an attempt waited for its timeout): skip ahead rather than burst.
                tick = (long)(elapsed / interval);
            }
        }
    }

    private async Task<WriteAttempt> WriteOnceAsync(WriteEndpoint endpoint, long id, TimeSpan intendedAt, ConnectionIdentity identity, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _attempts);
        TimeSpan? sentAt = null;
        try
        {
            await using var connection = _sources[endpoint.Name].CreateConnection();
            string? unreplicated = null;
            connection.Notice += (_, notice) =>
            {
                if (notice.Notice.MessageText.Contains("synchronous replication", StringComparison.OrdinalIgnoreCase))
                {
                    unreplicated = $"{notice.Notice.MessageText} {notice.Notice.Detail}".Trim();
                }
            };
            await connection.OpenAsync(cancellationToken);
            // An explicit transaction, so that the acknowledgement is exactly the COMMIT returning (in an implicit one
            // the RETURNING row arrives before the commit is done).
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var insert = new NpgsqlCommand($"INSERT INTO {TableName} (run, id, endpoint) VALUES (@run, @id, @endpoint) RETURNING written_by, timeline", connection, transaction);
            insert.Parameters.AddWithValue("run", RunId);
            insert.Parameters.AddWithValue("id", id);
            insert.Parameters.AddWithValue("endpoint", endpoint.Name);
            sentAt = _time.GetElapsedTime(_origin);
            string server;
            long timeline;
            await using (var reader = await insert.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    throw new InvalidOperationException("INSERT ... RETURNING returned no row");
                }

                server = reader.GetString(0);
                timeline = reader.GetInt64(1);
            }

            await transaction.CommitAsync(cancellationToken);
            var completedAt = _time.GetElapsedTime(_origin);
            if (unreplicated is not null)
            {
                return new WriteAttempt(id, endpoint.Name, intendedAt, sentAt, completedAt, WriteOutcome.Failed, WriteFailureReason.NotReplicated, unreplicated,
                    Server: server, Timeline: timeline);
            }

            var systemIdentifier = await identity.SystemIdentifierAsync(connection, server, cancellationToken);
            return new WriteAttempt(id, endpoint.Name, intendedAt, sentAt, completedAt, WriteOutcome.Acknowledged,
                Server: server, Timeline: timeline, SystemIdentifier: systemIdentifier);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or SocketException or InvalidOperationException or OperationCanceledException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // Cancelling a command can also surface as a broken connection: while stopping, it is the stop.
                return new WriteAttempt(id, endpoint.Name, intendedAt, sentAt, _time.GetElapsedTime(_origin), WriteOutcome.Failed,
                    WriteFailureReason.Stopped, "the prober stopped before the outcome was known");
            }

            var (outcome, reason) = ClassifyError(ex);
            return new WriteAttempt(id, endpoint.Name, intendedAt, sentAt, _time.GetElapsedTime(_origin), outcome, reason, ex.Message);
        }
    }

    private void Record(WriteAttempt attempt)
    {
        switch (attempt.Outcome)
        {
            case WriteOutcome.Acknowledged:
                Interlocked.Increment(ref _acknowledged);
                break;
            case WriteOutcome.RefusedReadOnly:
                Interlocked.Increment(ref _refusedReadOnly);
                break;
            case WriteOutcome.Failed when attempt.FailureReason != WriteFailureReason.Stopped:
                Interlocked.Increment(ref _failures);
                Volatile.Write(ref _lastError, $"{attempt.Endpoint}: {attempt.Error}");
                break;
        }

        lock (_gate)
        {
            _history.Add(attempt);
        }
    }

    /// <summary>How a failed write ended: a read-only refusal, or a failure with its reason. The outermost
    /// PostgreSQL error decides; otherwise the first timeout or I/O error in the chain of inner exceptions.</summary>
    public static (WriteOutcome Outcome, WriteFailureReason? Reason) ClassifyError(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case PostgresException { SqlState: PostgresErrorCodes.ReadOnlySqlTransaction }:
                    return (WriteOutcome.RefusedReadOnly, null);
                case PostgresException { SqlState: PostgresErrorCodes.QueryCanceled }:
                    // statement_timeout, or Npgsql cancelling the statement when the command timeout ran out.
                    return (WriteOutcome.Failed, WriteFailureReason.Timeout);
                case PostgresException postgres:
                    // Class 08 (connection exception), 57P01-57P03 (shutting down, crashed, starting up), 53300 (too
                    // many connections): the server was not there to take the write.
                    var unavailable = postgres.SqlState.StartsWith("08", StringComparison.Ordinal) ||
                                      postgres.SqlState.StartsWith("57P", StringComparison.Ordinal) ||
                                      postgres.SqlState == PostgresErrorCodes.TooManyConnections;
                    return (WriteOutcome.Failed, unavailable ? WriteFailureReason.Connection : WriteFailureReason.Other);
                case TimeoutException:
                case OperationCanceledException:
                    return (WriteOutcome.Failed, WriteFailureReason.Timeout);
                case SocketException:
                case IOException:
                    return (WriteOutcome.Failed, WriteFailureReason.Connection);
            }
        }

        return (WriteOutcome.Failed, exception is NpgsqlException { IsTransient: true } ? WriteFailureReason.Connection : WriteFailureReason.Other);
    }

    private async Task<IReadOnlyList<StoredWrite>> ReadRowsAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var rows = new List<StoredWrite>();
                // A connection of its own: the check also runs after the prober stopped and closed its pools.
                await using var connection = new NpgsqlConnection(ReadBackEndpoint.ConnectionString);
                await connection.OpenAsync(cancellationToken);
                await using var select = new NpgsqlCommand($"SELECT id, endpoint, written_by, timeline FROM {TableName} WHERE run = @run", connection);
                select.Parameters.AddWithValue("run", RunId);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add(new StoredWrite(
                        reader.GetInt64(0),
                        reader.IsDBNull(1) ? null : reader.GetString(1),
                        reader.IsDBNull(2) ? null : reader.GetString(2),
                        reader.IsDBNull(3) ? null : reader.GetInt64(3)));
                }

                return rows;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException)
            {
                if (attempt >= ReadBackAttempts)
                {
                    throw new ChaosException($"the write prober could not read its rows back through endpoint '{ReadBackEndpoint.Name}' ({attempt} tries): {ex.Message}", ex);
                }

                // The primary may have just changed: wait before calling rows lost.
                await Task.Delay(ReadBackRetryDelay, _time, cancellationToken);
            }
        }
    }

    /// <summary>One endpoint loop's current physical connection (server and backend PID) and its system identifier,
    /// so pg_control_system() is read once per connection, not per write. Used by one loop only.</summary>
    private sealed class ConnectionIdentity
    {
        private (string Server, int BackendProcessId)? _connection;
        private long? _systemIdentifier;

        public async Task<long?> SystemIdentifierAsync(NpgsqlConnection connection, string server, CancellationToken cancellationToken)
        {
            var current = (server, connection.ProcessID);
            if (_connection == current)
            {
                return _systemIdentifier;
            }

            _connection = current;
            try
            {
                await using var query = new NpgsqlCommand("SELECT system_identifier FROM pg_control_system()", connection);
                _systemIdentifier = (long?)await query.ExecuteScalarAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or InvalidCastException or OperationCanceledException)
            {
                // Evidence only (a role without the privilege, the server going away after the commit, the prober
                // stopping): the write stays acknowledged. Tried again on the next connection.
                _systemIdentifier = null;
                _connection = null;
            }

            return _systemIdentifier;
        }
    }
}
