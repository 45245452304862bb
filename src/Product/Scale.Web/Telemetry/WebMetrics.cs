using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scale.Store;
using Scale.Web.Catalog;
using Scale.Web.Health;

namespace Scale.Web.Telemetry;

/// <summary>
/// The web tier's own gauges, read at scrape time from state the app already holds: readiness, the catalogue in
/// memory, and the batch runs recorded in the store (polled every <see cref="ScaleWebOptions.RunStatusInterval"/>:
/// the batch job's own metrics vanish when its process ends, the store's record of it does not).
/// </summary>
public sealed partial class WebMetrics : BackgroundService
{
    public const string MeterName = "Scale.Web";

    private readonly IScaleReader _reader;
    private readonly ScaleWebOptions _options;
    private readonly ILogger<WebMetrics> _logger;
    private volatile RunStatusSnapshot? _runs;

    public WebMetrics(IMeterFactory meterFactory, CatalogProvider catalog, Readiness readiness, IScaleReader reader, ScaleWebOptions options, ILogger<WebMetrics> logger)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(readiness);
        _reader = reader;
        _options = options;
        _logger = logger;
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge(
            "scale.web.ready",
            () => readiness.Evaluate().Ready ? 1 : 0,
            description: "1 while the instance reports ready on /readyz, 0 while not (loading, warming up, shutting down; or the database, with --ready-requires-database).");
        meter.CreateObservableGauge(
            "scale.web.database.up",
            () => readiness.Database.Status switch
            {
                DatabaseHealth.Ok => [new Measurement<int>(1)],
                DatabaseHealth.Unavailable => [new Measurement<int>(0)],
                _ => Array.Empty<Measurement<int>>(),
            },
            description: "1 when the last database check of /readyz found a server that serves reads, 0 when none answered; absent before the first check. It does not decide readiness unless --ready-requires-database.");
        meter.CreateObservableGauge(
            "scale.web.warmup.duration",
            () => readiness.WarmupDuration is { } duration ? [new Measurement<double>(duration.TotalSeconds)] : Array.Empty<Measurement<double>>(),
            unit: "s",
            description: "How long the warm-up before readiness took (absent while it runs, or when it did not run).");
        meter.CreateObservableGauge(
            "scale.web.shutting_down",
            () => readiness.IsStopping ? 1 : 0,
            description: "1 once shutdown began (in-flight requests finishing).");
        meter.CreateObservableGauge(
            "scale.catalog.songs",
            () => catalog.Latest?.Songs.Count ?? 0,
            unit: "{song}",
            description: "Songs in the in-memory catalogue.");
        meter.CreateObservableGauge(
            "scale.catalog.load_time",
            () => catalog.Latest is { } snapshot ? snapshot.Songs.LoadedAt.ToUnixTimeMilliseconds() / 1000.0 : 0,
            unit: "s",
            description: "When the catalogue in memory was loaded, in seconds since the Unix epoch.");
        meter.CreateObservableGauge("scale.batch.last_run.failed", ObserveLastRunFailed, description:
            "Per kind (extract, similarity): 1 when the newest finished run recorded in the store failed, else 0.");
        meter.CreateObservableGauge("scale.batch.last_run.end_time", ObserveLastRunEnd, unit: "s", description:
            "Per kind and status: when the newest finished run recorded in the store ended, in seconds since the Unix epoch.");
        meter.CreateObservableGauge("scale.batch.runs_running", ObserveRunning, unit: "{run}", description:
            "Per kind: runs the store records as running (a killed job's run stays running until the next run of its source).");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.RunStatusInterval, _options.TimeProvider);
        do
        {
            try
            {
                var runs = await _reader.GetRunsAsync(100, stoppingToken).ConfigureAwait(false);
                var similarityRuns = await _reader.GetSimilarityRunsAsync(100, stoppingToken).ConfigureAwait(false);
                _runs = new RunStatusSnapshot(
                    Newest(runs.Where(r => r.Status != RunStatus.Running).Select(r => (r.Status, r.FinishedAt ?? r.StartedAt))),
                    Newest(similarityRuns.Where(r => r.Status != RunStatus.Running).Select(r => (r.Status, r.FinishedAt ?? r.StartedAt))),
                    runs.Count(r => r.Status == RunStatus.Running),
                    similarityRuns.Count(r => r.Status == RunStatus.Running));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The gauges keep the last known state; store errors are counted by the store's own metrics.
                LogRunStatusFailed(ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private static (RunStatus Status, DateTimeOffset End)? Newest(IEnumerable<(RunStatus Status, DateTimeOffset End)> finished) =>
        finished.OrderByDescending(r => r.End).Cast<(RunStatus, DateTimeOffset)?>().FirstOrDefault();

    private IEnumerable<Measurement<int>> ObserveLastRunFailed()
    {
        if (_runs is not { } runs)
        {
            yield break;
        }

        if (runs.Extract is { } extract)
        {
            yield return new Measurement<int>(extract.Status == RunStatus.Failed ? 1 : 0, new KeyValuePair<string, object?>("kind", "extract"));
        }

        if (runs.Similarity is { } similarity)
        {
            yield return new Measurement<int>(similarity.Status == RunStatus.Failed ? 1 : 0, new KeyValuePair<string, object?>("kind", "similarity"));
        }
    }

    private IEnumerable<Measurement<double>> ObserveLastRunEnd()
    {
        if (_runs is not { } runs)
        {
            yield break;
        }

        foreach (var (kind, run) in new[] { ("extract", runs.Extract), ("similarity", runs.Similarity) })
        {
            if (run is { } r)
            {
                yield return new Measurement<double>(
                    r.End.ToUnixTimeMilliseconds() / 1000.0,
                    new KeyValuePair<string, object?>("kind", kind),
                    new KeyValuePair<string, object?>("status", RunStatuses.ToCode(r.Status)));
            }
        }
    }

    private IEnumerable<Measurement<int>> ObserveRunning()
    {
        if (_runs is not { } runs)
        {
            yield break;
        }

        yield return new Measurement<int>(runs.ExtractRunning, new KeyValuePair<string, object?>("kind", "extract"));
        yield return new Measurement<int>(runs.SimilarityRunning, new KeyValuePair<string, object?>("kind", "similarity"));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the batch runs for the metrics: {Reason}")]
    private partial void LogRunStatusFailed(string reason);

    private sealed record RunStatusSnapshot(
        (RunStatus Status, DateTimeOffset End)? Extract,
        (RunStatus Status, DateTimeOffset End)? Similarity,
        int ExtractRunning,
        int SimilarityRunning);
}
