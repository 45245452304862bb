using System.Globalization;
using System.Text.Json;

namespace Scale.Load;

/// <summary>A run's report as npm loadtest prints it (same labels, then Scale's extra lines), or as JSON.</summary>
public static class LoadReportWriter
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static void WriteText(LoadReport report, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(writer);
        var o = report.Options;
        writer.WriteLine($"Target URL:          {o.Target}");
        if (o.MaxRequests is { } max)
        {
            writer.WriteLine(string.Create(Invariant, $"Max requests:        {max}"));
        }

        if (o.Duration is { } duration)
        {
            writer.WriteLine(string.Create(Invariant, $"Max time (s):        {duration.TotalSeconds:0.###}"));
        }

        writer.WriteLine(o.RequestsPerSecond is { } rate
            ? string.Create(Invariant, $"Target rps:          {rate:0.###} (open model: latency from the intended send time)")
            : "Target rps:          none (closed model: latency from the send)");
        writer.WriteLine(string.Create(Invariant, $"Concurrent clients:  {o.Concurrency}{(o.RequestsPerSecond is null ? "" : " (most requests in flight)")}"));
        writer.WriteLine($"Agent:               {(o.KeepAlive ? "keepalive" : "none")}");
        writer.WriteLine();
        writer.WriteLine(string.Create(Invariant, $"Completed requests:  {report.Completed}"));
        writer.WriteLine(string.Create(Invariant, $"Total errors:        {report.ErrorCount}"));
        writer.WriteLine(string.Create(Invariant, $"Total time:          {report.Elapsed.TotalSeconds:0.000} s"));
        writer.WriteLine(string.Create(Invariant, $"Mean latency:        {report.Latency.MeanMs:0.0} ms"));
        writer.WriteLine(string.Create(Invariant, $"Effective rps:       {report.AchievedRate:0.0}"));
        writer.WriteLine(string.Create(Invariant, $"Send rate:           {report.SendRate:0.0} requests/s over {report.SendingTime.TotalSeconds:0.000} s"));
        writer.WriteLine();
        writer.WriteLine("Percentage of requests served within a certain time");
        writer.WriteLine(string.Create(Invariant, $"  50%      {report.Latency.P50Ms:0.0} ms"));
        writer.WriteLine(string.Create(Invariant, $"  90%      {report.Latency.P90Ms:0.0} ms"));
        writer.WriteLine(string.Create(Invariant, $"  95%      {report.Latency.P95Ms:0.0} ms"));
        writer.WriteLine(string.Create(Invariant, $"  99%      {report.Latency.P99Ms:0.0} ms"));
        writer.WriteLine(string.Create(Invariant, $"  99.9%    {report.Latency.P999Ms:0.0} ms"));
        writer.WriteLine(string.Create(Invariant, $" 100%      {report.Latency.MaxMs:0.0} ms (longest request)"));
        writer.WriteLine();
        foreach (var (kind, count) in report.Errors.OrderByDescending(e => e.Value))
        {
            writer.WriteLine(string.Create(Invariant, $"Errors {kind,-12} {count}"));
        }

        foreach (var (code, count) in report.StatusCodes.OrderBy(e => e.Key))
        {
            writer.WriteLine(string.Create(Invariant, $"Status {code,-12} {count}"));
        }

        writer.WriteLine(string.Create(Invariant, $"Due / sent:          {report.Due} / {report.Sent}; dropped {report.Dropped}; late {report.Late} (> {o.LateAfter.TotalMilliseconds:0} ms, at most {report.MaxLateness.TotalMilliseconds:0.0} ms)"));
        if (o.RequestsPerSecond is not null)
        {
            writer.WriteLine(string.Create(Invariant, $"Send lateness:       p50 {report.Lateness.P50Ms:0.00} ms, p99 {report.Lateness.P99Ms:0.00} ms (included in the latencies above)"));
        }

        writer.WriteLine(string.Create(Invariant, $"Generator CPU:       {report.ProcessorTime.TotalSeconds:0.00} s ({report.CpuShareOfOneCore:P1} of one core)"));
    }

    /// <summary>
    /// loadtest's result fields (totalRequests, totalErrors, totalTimeSeconds, rps, meanLatencyMs, maxLatencyMs,
    /// percentiles, errorCodes), then Scale's: the open-model counts, errors by kind, CPU, and the per-second series.
    /// </summary>
    public static void WriteJson(LoadReport report, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("url", report.Options.Target.ToString());
        json.WriteNumber("totalRequests", report.Completed);
        json.WriteNumber("totalErrors", report.ErrorCount);
        json.WriteNumber("totalTimeSeconds", Math.Round(report.Elapsed.TotalSeconds, 3));
        json.WriteNumber("rps", Math.Round(report.AchievedRate, 2));
        json.WriteNumber("meanLatencyMs", Math.Round(report.Latency.MeanMs, 3));
        json.WriteNumber("maxLatencyMs", Math.Round(report.Latency.MaxMs, 3));
        json.WriteStartObject("percentiles");
        json.WriteNumber("50", Math.Round(report.Latency.P50Ms, 3));
        json.WriteNumber("90", Math.Round(report.Latency.P90Ms, 3));
        json.WriteNumber("95", Math.Round(report.Latency.P95Ms, 3));
        json.WriteNumber("99", Math.Round(report.Latency.P99Ms, 3));
        json.WriteNumber("99.9", Math.Round(report.Latency.P999Ms, 3));
        json.WriteEndObject();
        json.WriteStartObject("errorCodes");
        foreach (var (code, count) in report.StatusCodes.Where(c => c.Key >= 400).OrderBy(c => c.Key))
        {
            json.WriteNumber(code.ToString(Invariant), count);
        }

        json.WriteEndObject();
        if (report.Options.RequestsPerSecond is { } rate)
        {
            json.WriteNumber("targetRps", rate);
        }
        else
        {
            json.WriteNull("targetRps");
        }

        json.WriteNumber("sendRate", Math.Round(report.SendRate, 3));
        json.WriteNumber("sendingTimeSeconds", Math.Round(report.SendingTime.TotalSeconds, 3));
        json.WriteNumber("concurrency", report.Options.Concurrency);
        json.WriteNumber("due", report.Due);
        json.WriteNumber("sent", report.Sent);
        json.WriteNumber("dropped", report.Dropped);
        json.WriteNumber("late", report.Late);
        json.WriteNumber("maxLatenessMs", Math.Round(report.MaxLateness.TotalMilliseconds, 3));
        json.WriteNumber("latenessP50Ms", Math.Round(report.Lateness.P50Ms, 3));
        json.WriteNumber("latenessP99Ms", Math.Round(report.Lateness.P99Ms, 3));
        WriteCounts(json, "errors", report.Errors);
        json.WriteNumber("cpuSeconds", Math.Round(report.ProcessorTime.TotalSeconds, 3));
        json.WriteNumber("cpuShareOfOneCore", Math.Round(report.CpuShareOfOneCore, 4));
        json.WriteStartArray("series");
        foreach (var second in report.Series)
        {
            json.WriteStartObject();
            json.WriteNumber("second", second.Second);
            json.WriteNumber("due", second.Due);
            json.WriteNumber("sent", second.Sent);
            json.WriteNumber("completed", second.Completed);
            json.WriteNumber("dropped", second.Dropped);
            WriteCounts(json, "errors", second.Errors);
            json.WriteNumber("p50Ms", Math.Round(second.Latency.P50Ms, 3));
            json.WriteNumber("p90Ms", Math.Round(second.Latency.P90Ms, 3));
            json.WriteNumber("p99Ms", Math.Round(second.Latency.P99Ms, 3));
            json.WriteNumber("maxMs", Math.Round(second.Latency.MaxMs, 3));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>One progress line for a second of the run.</summary>
    public static string ProgressLine(LoadSecond second, LoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(second);
        ArgumentNullException.ThrowIfNull(options);
        var total = options.Duration is { } d ? string.Create(Invariant, $"/{d.TotalSeconds:0}") : "";
        var eta = options.Duration is { } duration ? string.Create(Invariant, $", {Math.Max(0, duration.TotalSeconds - second.Second - 1):0} s left") : "";
        return string.Create(Invariant,
            $"{second.Second + 1}{total} s: {second.Completed} answered of {second.Due} due, {second.ErrorCount} errors, {second.Dropped} dropped; p50 {second.Latency.P50Ms:0.0} ms, p99 {second.Latency.P99Ms:0.0} ms, max {second.Latency.MaxMs:0.0} ms{eta}");
    }

    private static void WriteCounts(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, long> counts)
    {
        json.WriteStartObject(name);
        foreach (var (kind, count) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            json.WriteNumber(kind, count);
        }

        json.WriteEndObject();
    }
}
