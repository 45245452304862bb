using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Scale.Store.Telemetry;

/// <summary>
/// The store's own metrics (meter <see cref="MeterName"/>), beside what Npgsql reports itself (meter "Npgsql":
/// connection-pool use, command durations): how long each named read takes, which reads failed and why, and
/// whether a replica or the primary answered. Exported by whoever listens (the web app's /metrics).
/// </summary>
public static class StoreMetrics
{
    public const string MeterName = "Scale.Store";

    /// <summary>The server that answered a read: a streaming replica, or the primary (SQLite's one file counts as primary).</summary>
    public const string Replica = "replica";

    /// <inheritdoc cref="Replica"/>
    public const string Primary = "primary";

    private static readonly Meter Meter = new(MeterName, typeof(StoreMetrics).Assembly.GetName().Version?.ToString());

    // Reads are index lookups (sub-millisecond) up to the whole catalogue (seconds): 0.25 ms to 10 s.
    private static readonly Histogram<double> QueryDuration = Meter.CreateHistogram(
        "scale.db.query.duration",
        unit: "s",
        description: "Duration of the store's named read operations, retries included.",
        advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        });

    private static readonly Counter<long> Errors = Meter.CreateCounter<long>(
        "scale.db.errors",
        unit: "{error}",
        description: "Store reads that failed, by operation and error type (unavailable: no server answered within the retry budget).");

    private static readonly Counter<long> Reads = Meter.CreateCounter<long>(
        "scale.db.reads",
        unit: "{read}",
        description: "Read connections used, by the role of the server that served them (replica or primary).");

    /// <summary>Records one finished read operation; <paramref name="error"/> is null when it succeeded.</summary>
    public static void RecordQuery(string system, string operation, long startTimestamp, Exception? error)
    {
        var elapsed = Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
        var tags = new TagList
        {
            { "db.system.name", system },
            { "db.operation.name", operation },
        };
        if (error is not null)
        {
            tags.Add("error.type", ErrorType(error));
            Errors.Add(1, tags);
        }

        QueryDuration.Record(elapsed, tags);
    }

    /// <summary>Counts a read served by a server of <paramref name="role"/> (<see cref="Replica"/> or <see cref="Primary"/>).</summary>
    public static void RecordRead(string system, string role) =>
        Reads.Add(1, new KeyValuePair<string, object?>("db.system.name", system), new KeyValuePair<string, object?>("db.role", role));

    /// <summary>A short, low-cardinality name for what went wrong.</summary>
    internal static string ErrorType(Exception error) => error switch
    {
        StoreUnavailableException => "unavailable",
        OperationCanceledException => "cancelled",
        TimeoutException => "timeout",
        _ => error.GetType().Name,
    };
}
