using Microsoft.Extensions.Logging;
using Scale.Store;

namespace Scale.Web.Health;

/// <summary>What /readyz answers: ready, or why not.</summary>
public sealed record ReadinessReport(bool Ready, string Status, string? Detail, ReadEndpoint? Database);

/// <summary>
/// Readiness: a database server that can serve reads answers, and the process is not shutting down. Checks are
/// shared: callers within <see cref="ScaleWebOptions.ReadinessCacheDuration"/> of the last check get its answer, so
/// load balancers probing every second from several places cost one query per period, not one per probe.
/// </summary>
public sealed partial class Readiness : IDisposable
{
    private readonly IScaleReader _reader;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _cacheDuration;
    private readonly ILogger<Readiness> _logger;
    private readonly SemaphoreSlim _checking = new(1, 1);
    private ReadinessReport? _last;
    private long _lastCheckedAt;
    private volatile bool _stopping;

    public Readiness(IScaleReader reader, ScaleWebOptions options, ILogger<Readiness> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _reader = reader;
        _time = options.TimeProvider;
        _timeout = options.ReadinessTimeout;
        _cacheDuration = options.ReadinessCacheDuration;
        _logger = logger;
    }

    /// <summary>True once shutdown began: from then on the instance reports not ready, whatever the database does.</summary>
    public bool IsStopping => _stopping;

    /// <summary>The last answer, without checking (null before the first check): for the metrics gauge.</summary>
    public ReadinessReport? Last => Volatile.Read(ref _last);

    /// <summary>Called when shutdown begins: load balancers and Kubernetes take the instance out of rotation.</summary>
    public void MarkStopping() => _stopping = true;

    public async Task<ReadinessReport> CheckAsync(CancellationToken cancellationToken)
    {
        if (_stopping)
        {
            return Remember(new ReadinessReport(false, "stopping", "The server is shutting down; in-flight requests are finishing.", null));
        }

        if (Fresh() is { } cached)
        {
            return cached;
        }

        await _checking.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh() is { } checkedMeanwhile)
            {
                return checkedMeanwhile;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            ReadinessReport report;
            try
            {
                var endpoint = await _reader.PingAsync(timeout.Token).ConfigureAwait(false);
                report = new ReadinessReport(true, "ready", null, endpoint);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                report = new ReadinessReport(false, "database unavailable", $"No database server answered within {_timeout.TotalSeconds:0.#} s.", null);
            }
            catch (Exception ex) when (ex is StoreUnavailableException or IOException or System.Data.Common.DbException or TimeoutException)
            {
                report = new ReadinessReport(false, "database unavailable", ex.Message, null);
            }

            if (report.Ready != (Last?.Ready ?? true))
            {
                LogReadinessChanged(report.Ready, report.Status, report.Detail ?? report.Database?.ToString() ?? string.Empty);
            }

            _lastCheckedAt = _time.GetTimestamp();
            return Remember(report);
        }
        finally
        {
            _checking.Release();
        }
    }

    public void Dispose() => _checking.Dispose();

    private ReadinessReport? Fresh() =>
        Volatile.Read(ref _last) is { } last && _lastCheckedAt != 0 && _time.GetElapsedTime(_lastCheckedAt) < _cacheDuration ? last : null;

    private ReadinessReport Remember(ReadinessReport report)
    {
        Volatile.Write(ref _last, report);
        return report;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Readiness changed: ready={Ready} ({Status}: {Detail})")]
    private partial void LogReadinessChanged(bool ready, string status, string detail);
}
