using Microsoft.Extensions.Logging;
using Scale.Store;
using Scale.Web.Catalog;

namespace Scale.Web.Health;

/// <summary>What the last database check found: <see cref="Ok"/>, <see cref="Unavailable"/>, or <see cref="Unknown"/> before the first one.</summary>
public sealed record DatabaseHealth(string Status, string? Detail, ReadEndpoint? Endpoint, DateTimeOffset? CheckedAt)
{
    public const string Ok = "ok";
    public const string Unavailable = "unavailable";
    public const string Unknown = "unknown";

    public static DatabaseHealth NotChecked { get; } = new(Unknown, "Not checked yet.", null, null);

    public bool IsOk => Status == Ok;
}

/// <summary>What /readyz answers: ready or not, the status (one of <see cref="Readiness"/>'s constants), why not, and the database's state.</summary>
public sealed record ReadinessReport(bool Ready, string Status, string? Detail, DatabaseHealth Database);

/// <summary>
/// Readiness for load balancers and Kubernetes: the process is not shutting down, the catalogue is loaded and the
/// warm-up (<see cref="WebWarmup"/>) is done. The database is checked and reported, but by default does not decide:
/// it is shared by every instance, so following it would take them all out of rotation at once during a failover
/// (a cascading failure), though most pages answer from the in-memory catalogue and the requests that need the
/// database answer 503 with Retry-After, which a balancer retries elsewhere.
/// <see cref="ScaleWebOptions.ReadinessRequiresDatabase"/> restores the old rule.
/// Database checks are shared: callers within <see cref="ScaleWebOptions.ReadinessCacheDuration"/> of the last one
/// get its answer, so balancers probing every second from several places cost one query per period.
/// </summary>
public sealed partial class Readiness : IDisposable
{
    public const string Ready = "ready";
    public const string Stopping = "stopping";
    public const string LoadingCatalogue = "loading catalogue";
    public const string WarmingUp = "warming up";
    public const string DatabaseUnavailable = "database unavailable";

    /// <summary>
    /// Without <see cref="ScaleWebOptions.ReadinessRequiresDatabase"/>, how long /readyz waits for a database check:
    /// a healthy database answers a ping in milliseconds, and a probe must answer well inside the 1-2 s timeouts of
    /// HAProxy and Kubernetes even when the database hangs; a slower check finishes in the background.
    /// </summary>
    private static readonly TimeSpan DatabaseReportWait = TimeSpan.FromMilliseconds(250);

    private readonly IScaleReader _reader;
    private readonly CatalogProvider _catalog;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _cacheDuration;
    private readonly bool _requiresDatabase;
    private readonly ILogger<Readiness> _logger;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _disposed = new();
    private DatabaseHealth _database = DatabaseHealth.NotChecked;
    private Task<DatabaseHealth>? _checking;
    private Task? _unfinishedPing;
    private long _lastCheckedAt;
    private string? _lastStatus;
    private volatile bool _stopping;
    private volatile bool _warmedUp;
    private long _warmupTicks = -1;

    public Readiness(IScaleReader reader, CatalogProvider catalog, ScaleWebOptions options, ILogger<Readiness> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _reader = reader;
        _catalog = catalog;
        _time = options.TimeProvider;
        _timeout = options.ReadinessTimeout;
        _cacheDuration = options.ReadinessCacheDuration;
        _requiresDatabase = options.ReadinessRequiresDatabase;
        _logger = logger;
    }

    /// <summary>True once shutdown began: from then on the instance reports not ready, whatever else holds.</summary>
    public bool IsStopping => _stopping;

    /// <summary>True once the warm-up finished (or gave up, or is disabled).</summary>
    public bool IsWarmedUp => _warmedUp;

    /// <summary>The last database check's answer, without checking: for the body of /readyz and the metrics.</summary>
    public DatabaseHealth Database => Volatile.Read(ref _database);

    /// <summary>Called when shutdown begins: load balancers and Kubernetes take the instance out of rotation.</summary>
    public void MarkStopping() => _stopping = true;

    /// <summary>How long the warm-up took, once it ran (null before, or when it did not run): for the metrics.</summary>
    public TimeSpan? WarmupDuration => Volatile.Read(ref _warmupTicks) is >= 0 and var ticks ? TimeSpan.FromTicks(ticks) : null;

    /// <summary>Called by the warm-up when it is done, whatever its outcome: an instance is never left unready by it.</summary>
    public void MarkWarmedUp(TimeSpan? duration)
    {
        Volatile.Write(ref _warmupTicks, duration?.Ticks ?? -1);
        _warmedUp = true;
    }

    /// <summary>Checks the database (shared, see the class) and answers; never throws for a database failure.</summary>
    public async Task<ReadinessReport> CheckAsync(CancellationToken cancellationToken)
    {
        if (!_stopping)
        {
            var check = CheckDatabase();
            if (_requiresDatabase)
            {
                // The check ends within the readiness timeout on its own (it counts as unavailable then).
                await check.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (!check.IsCompleted)
            {
                try
                {
                    await check.WaitAsync(DatabaseReportWait < _timeout ? DatabaseReportWait : _timeout, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Reported from the last known state; the check goes on and the next probe sees its answer.
                }
            }
        }

        return Evaluate();
    }

    /// <summary>The answer now from what is known, without checking the database (the metrics gauge reads this).</summary>
    public ReadinessReport Evaluate()
    {
        var database = Database;
        var report =
            _stopping ? new ReadinessReport(false, Stopping, "The server is shutting down; in-flight requests are finishing.", database)
            : _catalog.Latest is null ? new ReadinessReport(false, LoadingCatalogue, "The song catalogue is loading.", database)
            : !_warmedUp ? new ReadinessReport(false, WarmingUp, "Requesting every main route once before taking traffic, so the first requests are as fast as the rest.", database)
            : _requiresDatabase && !database.IsOk ? new ReadinessReport(false, DatabaseUnavailable, database.Detail, database)
            : new ReadinessReport(true, Ready, null, database);
        var previous = Interlocked.Exchange(ref _lastStatus, report.Status);
        if (previous is not null && previous != report.Status)
        {
            // Becoming ready is routine (after the warm-up, after an outage); leaving it is worth a warning.
            LogReadinessChanged(report.Ready ? LogLevel.Information : LogLevel.Warning, report.Ready, report.Status, report.Detail ?? string.Empty);
        }

        return report;
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
    }

    /// <summary>The check in progress, a fresh enough answer, or a new check (on the thread pool, owned by no request).</summary>
    private Task<DatabaseHealth> CheckDatabase()
    {
        lock (_gate)
        {
            if (_checking is { } running)
            {
                return running;
            }

            if (_lastCheckedAt != 0 && _time.GetElapsedTime(_lastCheckedAt) < _cacheDuration)
            {
                return Task.FromResult(_database);
            }

            // Task.Run: the check never completes inside this lock, so _checking is always cleared after it is set.
            return _checking = Task.Run(PingAsync, CancellationToken.None);
        }
    }

    private async Task<DatabaseHealth> PingAsync()
    {
        DatabaseHealth health;
        if (_unfinishedPing is { IsCompleted: false })
        {
            // A frozen server (SIGSTOP, a black-holed network) can hold a ping long after it was cancelled: no second
            // one piles up behind it; the database counts as unavailable until it returns.
            health = new DatabaseHealth(DatabaseHealth.Unavailable, $"No database server answered within {_timeout.TotalSeconds:0.#} s (an earlier check is still waiting).", null, _time.GetUtcNow());
        }
        else
        {
            health = await PingWithTimeoutAsync().ConfigureAwait(false);
        }

        var previous = Database;
        lock (_gate)
        {
            Volatile.Write(ref _database, health);
            _lastCheckedAt = _time.GetTimestamp();
            _checking = null;
        }

        if (previous.Status != health.Status)
        {
            if (health.IsOk)
            {
                LogDatabaseAvailable(health.Endpoint?.Server ?? string.Empty, health.Endpoint?.Role ?? string.Empty, _requiresDatabase);
            }
            else
            {
                LogDatabaseUnavailable(health.Detail ?? string.Empty, _requiresDatabase);
            }
        }

        return health;
    }

    /// <summary>
    /// One ping, answered within the readiness timeout whether or not the reader honours cancellation (Npgsql, facing
    /// a frozen server, may not for minutes).
    /// </summary>
    private async Task<DatabaseHealth> PingWithTimeoutAsync()
    {
        CancellationTokenSource timeout;
        try
        {
            timeout = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
        }
        catch (ObjectDisposedException)
        {
            // Disposed: the host is gone; nobody reads this answer.
            return new DatabaseHealth(DatabaseHealth.Unavailable, "The server is shutting down.", null, _time.GetUtcNow());
        }

        using (timeout)
        {
            timeout.CancelAfter(_timeout);
            try
            {
                var ping = _reader.PingAsync(timeout.Token);
                _unfinishedPing = ping;
                var endpoint = await ping.WaitAsync(_timeout, _time).ConfigureAwait(false);
                return new DatabaseHealth(DatabaseHealth.Ok, null, endpoint, _time.GetUtcNow());
            }
            catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && timeout.IsCancellationRequested))
            {
                return new DatabaseHealth(DatabaseHealth.Unavailable, $"No database server answered within {_timeout.TotalSeconds:0.#} s.", null, _time.GetUtcNow());
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Whatever the failure, a probe reports it rather than failing with a 500.
                return new DatabaseHealth(DatabaseHealth.Unavailable, ex.Message, null, _time.GetUtcNow());
            }
        }
    }

    [LoggerMessage(Message = "Readiness changed: ready={Ready}, {Status}. {Detail}")]
    private partial void LogReadinessChanged(LogLevel level, bool ready, string status, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database available: {Server} ({Role}); readiness requires it: {RequiresDatabase}")]
    private partial void LogDatabaseAvailable(string server, string role, bool requiresDatabase);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Database unavailable ({Detail}); readiness requires it: {RequiresDatabase}; requests that need it answer 503 with Retry-After")]
    private partial void LogDatabaseUnavailable(string detail, bool requiresDatabase);
}
