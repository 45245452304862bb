using HdrHistogram;

namespace Scale.Load;

/// <summary>Latency percentiles in milliseconds, from an HdrHistogram of microseconds.</summary>
public sealed record LatencySummary(long Count, double MeanMs, double P50Ms, double P90Ms, double P95Ms, double P99Ms, double P999Ms, double MaxMs)
{
    public static LatencySummary From(HistogramBase histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        if (histogram.TotalCount == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0, 0, 0, 0);
        }

        return new LatencySummary(
            histogram.TotalCount,
            histogram.GetMean() / 1000.0,
            Ms(histogram, 50),
            Ms(histogram, 90),
            Ms(histogram, 95),
            Ms(histogram, 99),
            Ms(histogram, 99.9),
            histogram.GetMaxValue() / 1000.0);
    }

    private static double Ms(HistogramBase histogram, double percentile) => histogram.GetValueAtPercentile(percentile) / 1000.0;
}

/// <summary>
/// One second of the run, by intended send time (the second a request was due in, so a stall shows where it
/// began, not where its victims finally completed): how many were due, sent, answered, failed by kind, and the
/// latency of those answered.
/// </summary>
public sealed record LoadSecond(
    int Second,
    long Due,
    long Sent,
    long Completed,
    long Dropped,
    IReadOnlyDictionary<string, long> Errors,
    LatencySummary Latency)
{
    public long ErrorCount => Errors.Values.Sum();
}

/// <summary>Several seconds of a run merged (<see cref="LoadGenerator.Window"/>).</summary>
public sealed record LoadWindow(int FromSecond, int ToSecond, long Due, long Completed, long Dropped, long Errors, LatencySummary Latency)
{
    /// <summary>
    /// Answered without error, out of those whose fate is known (answered, failed or dropped: a dropped send is a
    /// failure the user would have seen); requests still in flight count once they end. 1 when none is known yet.
    /// </summary>
    public double SuccessRatio => Completed + Dropped == 0 ? 1 : (double)(Completed - Errors) / (Completed + Dropped);

    /// <summary>Failed or dropped, out of those whose fate is known.</summary>
    public double ErrorRatio => Completed + Dropped == 0 ? 0 : (double)(Errors + Dropped) / (Completed + Dropped);
}

/// <summary>What a run did and measured.</summary>
public sealed record LoadReport
{
    public required LoadOptions Options { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>From the first send to the last response.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>From the start to the last send (plus one interval in the open model): the window the rate is over.</summary>
    public required TimeSpan SendingTime { get; init; }

    /// <summary>Requests that were due (open model) or wanted (closed model).</summary>
    public required long Due { get; init; }

    public required long Sent { get; init; }

    /// <summary>Requests that got a response or failed (everything sent).</summary>
    public required long Completed { get; init; }

    /// <summary>Due but not sent: too many were already waiting for a free slot (open model).</summary>
    public required long Dropped { get; init; }

    /// <summary>Sent later than <see cref="LoadOptions.LateAfter"/> after their intended time.</summary>
    public required long Late { get; init; }

    public required TimeSpan MaxLateness { get; init; }

    /// <summary>How late sends left after their intended time (open model; part of every latency above).</summary>
    public required LatencySummary Lateness { get; init; }

    /// <summary>Failures by kind: "http 4xx", "http 5xx", "timeout", "connection", "other".</summary>
    public required IReadOnlyDictionary<string, long> Errors { get; init; }

    /// <summary>Responses by HTTP status code.</summary>
    public required IReadOnlyDictionary<int, long> StatusCodes { get; init; }

    /// <summary>Every completed request, from its intended send time (open model) or its send (closed).</summary>
    public required LatencySummary Latency { get; init; }

    /// <summary>The full distribution, for charts and merging.</summary>
    public required HistogramBase Histogram { get; init; }

    public required IReadOnlyList<LoadSecond> Series { get; init; }

    /// <summary>CPU the generator's process used during the run.</summary>
    public required TimeSpan ProcessorTime { get; init; }

    public long ErrorCount => Errors.Values.Sum();

    /// <summary>Requests sent per second over the sending window: the rate the target saw (open model: the target rate, if the generator kept up).</summary>
    public double SendRate => SendingTime > TimeSpan.Zero ? Sent / SendingTime.TotalSeconds : 0;

    /// <summary>Responses per second from the start to the last response (loadtest's "effective rps").</summary>
    public double AchievedRate => Elapsed > TimeSpan.Zero ? Completed / Elapsed.TotalSeconds : 0;

    /// <summary>Share of one core the generator used.</summary>
    public double CpuShareOfOneCore => Elapsed > TimeSpan.Zero ? ProcessorTime.TotalSeconds / Elapsed.TotalSeconds : 0;
}
