using System.Globalization;
using System.Net;
using System.Text;
using Scale.Load.Charts;

namespace Scale.Load;

/// <summary>
/// `scale load --report FILE.html`: the run as one self-contained page: the summary, latency over time (p50, p90,
/// p99, max per second, by intended send time), the achieved against the target rate, errors per second, and the
/// latency distribution (the percentile spectrum up to 99.99 %).
/// </summary>
public static class LoadHtmlReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Render(LoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var options = report.Options;
        var seconds = report.Series.Where(s => s.Due > 0).ToList();
        var html = new StringBuilder();
        html.Append(Invariant, $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>scale load · {{E(options.Target.ToString())}}</title>
            <style>body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#1f2328;padding:0 12px}
            h1{font-size:20px} table{border-collapse:collapse;font-size:13px} td,th{border-bottom:1px solid #d0d7de;padding:3px 10px;text-align:right}
            th{text-align:left;background:#f6f8fa} svg{max-width:100%;height:auto;margin:6px 0} .muted{color:#656d76}</style></head><body>
            <h1>scale load: {{E(options.Method)}} {{E(options.Target.ToString())}}</h1>
            <p class="muted">{{(options.RequestsPerSecond is { } r ? string.Create(Invariant, $"{r:0.###} requests/s, open model") : string.Create(Invariant, $"{options.Concurrency} clients, closed model"))}}, -c {{options.Concurrency}}, started {{report.StartedAt:yyyy-MM-dd HH:mm:ss}} UTC, {{report.Elapsed.TotalSeconds:0.0}} s</p>
            <table>
            <tr><th>requests due / sent / answered</th><td>{{report.Due:N0}} / {{report.Sent:N0}} / {{report.Completed:N0}}</td></tr>
            <tr><th>errors</th><td>{{report.ErrorCount:N0}}{{(report.Errors.Count > 0 ? " (" + E(string.Join(", ", report.Errors.Select(e => $"{e.Key} {e.Value}"))) + ")" : "")}}</td></tr>
            <tr><th>late / dropped sends</th><td>{{report.Late:N0}} / {{report.Dropped:N0}}</td></tr>
            <tr><th>send rate / achieved rate</th><td>{{report.SendRate:0.0}} / {{report.AchievedRate:0.0}} per s</td></tr>
            <tr><th>latency p50 / p90 / p99 / p99.9 / max</th><td>{{report.Latency.P50Ms:0.##}} / {{report.Latency.P90Ms:0.##}} / {{report.Latency.P99Ms:0.##}} / {{report.Latency.P999Ms:0.##}} / {{report.Latency.MaxMs:0.##}} ms</td></tr>
            <tr><th>generator CPU</th><td>{{report.CpuShareOfOneCore:P1}} of one core</td></tr>
            </table>
            """);
        html.Append(TimeChart.Render("Latency over time (from the intended send time)", "ms (log)", [
            new ChartSeries("p50", "#1a7f37", seconds.Where(s => s.Latency.Count > 0).Select(s => ((double)s.Second, s.Latency.P50Ms)).ToList()),
            new ChartSeries("p90", "#0969da", seconds.Where(s => s.Latency.Count > 0).Select(s => ((double)s.Second, s.Latency.P90Ms)).ToList()),
            new ChartSeries("p99", "#bf5700", seconds.Where(s => s.Latency.Count > 0).Select(s => ((double)s.Second, s.Latency.P99Ms)).ToList()),
            new ChartSeries("max", "#8250df", seconds.Where(s => s.Latency.Count > 0).Select(s => ((double)s.Second, s.Latency.MaxMs)).ToList(), Dashed: true),
        ], logarithmic: true));
        var rate = new List<ChartSeries>
        {
            new("answered/s", "#0969da", seconds.Select(s => ((double)s.Second, (double)(s.Completed - s.ErrorCount))).ToList()),
            new("errors/s", "#cf222e", seconds.Select(s => ((double)s.Second, (double)s.ErrorCount)).ToList()),
            new("dropped/s", "#bf5700", seconds.Select(s => ((double)s.Second, (double)s.Dropped)).ToList()),
        };
        if (options.RequestsPerSecond is { } target)
        {
            rate.Insert(0, new ChartSeries("target", "#8c959f", seconds.Select(s => ((double)s.Second, target)).ToList(), Dashed: true));
        }

        html.Append(TimeChart.Render("Requests per second", "requests/s", rate));
        // The percentile spectrum: x is the number of nines (1 = p90, 2 = p99, 3 = p99.9), as HdrHistogram plots it.
        var spectrum = new List<(double, double)>();
        foreach (var nines in Enumerable.Range(0, 41).Select(i => i / 10.0))
        {
            var percentile = 100 * (1 - Math.Pow(10, -nines));
            if (report.Histogram.TotalCount > 0)
            {
                spectrum.Add((nines, report.Histogram.GetValueAtPercentile(percentile) / 1000.0));
            }
        }

        html.Append(TimeChart.Render("Latency distribution", "ms (log)", [new ChartSeries("latency at percentile", "#bf5700", spectrum)], logarithmic: true, xLabel: "nines (1 = p90, 2 = p99, 3 = p99.9, 4 = p99.99)"));
        html.Append("<p class=\"muted\">Seconds are by intended send time: a stall shows where it began. Made by <code>scale load --report</code> (docs/load.md).</p></body></html>\n");
        return html.ToString();
    }

    public static void Write(LoadReport report, string path) => File.WriteAllText(path, Render(report));

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
