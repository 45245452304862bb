using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Scale.Chaos.Runner;
using Scale.Load.Charts;

namespace Scale.Chaos.Report;

/// <summary>
/// One self-contained HTML file per run: the verdict per hypothesis line with its measured value, per-second charts
/// (request rate, error ratio, p50/p99) with every fault, recovery and rollback marked, the timeline and the method's
/// activities. No script and no external file: it opens anywhere, and prints.
/// </summary>
public static class HtmlReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Render(ChaosResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var (badge, color) = result.HypothesisHeld ? ("hypothesis held", "#1a7f37")
            : result.Status == "aborted" ? ("aborted by a safeguard", "#bf5700")
            : result.Status == "failed" ? ("failed", "#cf222e")
            : result.Status == "interrupted" ? ("interrupted", "#6e7781")
            : ("deviated", "#cf222e");
        var html = new StringBuilder();
        html.Append(Invariant, $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{E(result.Experiment.Title)}} · scale chaos</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#1f2328;padding:0 12px}
            h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
            .badge{display:inline-block;padding:3px 10px;border-radius:12px;color:#fff;font-weight:600;background:{{color}}}
            table{border-collapse:collapse;width:100%;font-size:13px} th,td{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}
            th{background:#f6f8fa} .ok{color:#1a7f37;font-weight:600} .no{color:#cf222e;font-weight:600} .muted{color:#656d76}
            code{font-size:12px} svg{max-width:100%;height:auto;margin:6px 0}
            </style></head><body>
            <h1>{{E(result.Experiment.Title)}}</h1>
            <p><span class="badge">{{E(badge)}}</span> <span class="muted">status {{E(result.Status)}} · target {{E(result.Target)}} · {{(result.ShortForm ? "short form" : "full form")}} · seed {{result.Seed}} · {{result.Start:yyyy-MM-dd HH:mm:ss}} UTC · {{(result.End - result.Start).TotalSeconds:0}} s</span></p>
            <p>{{E(result.Experiment.Description)}}</p>
            <p class="muted">{{E(Path.GetFileName(result.Experiment.Source))}}{{(result.Experiment.Tags.Count > 0 ? " · tags: " + E(string.Join(", ", result.Experiment.Tags)) : "")}}</p>
            <h2>Verdicts</h2>
            <table><tr><th>line</th><th>phase</th><th>tolerance</th><th>measured</th><th></th><th>why</th></tr>
            """);
        foreach (var verdict in result.Verdicts)
        {
            html.Append(Invariant, $"<tr><td>{E(verdict.Line)}</td><td>{verdict.Phase.ToString().ToLowerInvariant()}</td><td><code>{E(verdict.Tolerance)}</code></td><td>{E(verdict.Measured)}</td><td class=\"{(verdict.Met ? "ok" : "no")}\">{(verdict.Met ? "✓ met" : "✗ not met")}</td><td>{E(verdict.Explanation)}</td></tr>\n");
        }

        html.Append("</table>\n");
        if (result.Series.Count > 0)
        {
            html.Append("<h2>Steady load, second by second</h2>\n");
            html.Append("<p class=\"muted\">By the second each request was due (its intended send time), so a stall shows where it began. Dashed lines: faults (red), recoveries (green), rollbacks (grey), the method (blue).</p>\n");
            var markers = Markers(result);
            var offset = result.LoadStartedAt;
            var seconds = result.Series.Where(s => s.Due > 0).ToList();
            var rate = new List<ChartSeries>
            {
                new("answered/s", "#0969da", seconds.Select(s => (offset + s.Second, (double)(s.Completed - s.ErrorCount))).ToList()),
                new("failed or dropped/s", "#cf222e", seconds.Select(s => (offset + s.Second, (double)(s.ErrorCount + s.Dropped))).ToList()),
            };
            if (result.TargetRate is { } target)
            {
                rate.Insert(0, new ChartSeries("target", "#8c959f", seconds.Select(s => (offset + s.Second, target)).ToList(), Dashed: true));
            }

            html.Append(TimeChart.Render("Requests per second", "requests/s", rate, markers));
            html.Append(TimeChart.Render("Error ratio", "% of due", [
                new ChartSeries("errors + dropped", "#cf222e", seconds.Select(s => (offset + s.Second, 100.0 * (s.ErrorCount + s.Dropped) / s.Due)).ToList()),
            ], markers, yMaxHint: 1));
            html.Append(TimeChart.Render("Latency from the intended send time", "ms (log)", [
                new ChartSeries("p50", "#1a7f37", seconds.Where(s => s.Latency.Count > 0).Select(s => (offset + s.Second, s.Latency.P50Ms)).ToList()),
                new ChartSeries("p99", "#bf5700", seconds.Where(s => s.Latency.Count > 0).Select(s => (offset + s.Second, s.Latency.P99Ms)).ToList()),
                new ChartSeries("max", "#8250df", seconds.Where(s => s.Latency.Count > 0).Select(s => (offset + s.Second, s.Latency.MaxMs)).ToList(), Dashed: true),
            ], markers, logarithmic: true));
            if (result.Load is { } load)
            {
                html.Append(Invariant, $"<p class=\"muted\">{load.Due:N0} requests due, {load.Completed:N0} answered, {load.ErrorCount:N0} failed ({string.Join(", ", load.Errors.Select(e => $"{e.Key} {e.Value}"))}), {load.Dropped:N0} dropped; p50 {load.Latency.P50Ms:0.##} ms, p99 {load.Latency.P99Ms:0.##} ms, max {load.Latency.MaxMs:0.#} ms; the generator used {load.CpuShareOfOneCore:P0} of one core.</p>\n");
            }
        }

        html.Append("<h2>Timeline</h2>\n<table><tr><th>at (s)</th><th>what</th><th></th></tr>\n");
        foreach (var entry in result.Timeline)
        {
            html.Append(Invariant, $"<tr><td>{entry.At:0.0}</td><td>{E(entry.Kind)}</td><td>{E(entry.Text)}</td></tr>\n");
        }

        html.Append("</table>\n<h2>Method and rollbacks</h2>\n<table><tr><th>activity</th><th>status</th><th>duration (s)</th><th>output</th></tr>\n");
        foreach (var entry in (result.Journal["run"] as JsonArray ?? []).Concat(result.Journal["rollbacks"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var output = entry["output"]?.ToJsonString() ?? entry["exception"]?.ToJsonString() ?? "";
            html.Append(Invariant, $"<tr><td>{E(entry["activity"]?["name"]?.ToString() ?? "")}</td><td>{E(entry["status"]?.ToString() ?? "")}</td><td>{E(entry["duration"]?.ToString() ?? "")}</td><td><code>{E(output.Length > 400 ? output[..400] + "…" : output)}</code></td></tr>\n");
        }

        html.Append("</table>\n<p class=\"muted\">Made by <code>scale chaos run</code>; the journal (Chaos Toolkit's format) holds every value shown here.</p>\n</body></html>\n");
        return html.ToString();
    }

    public static void Write(ChaosResult result, string path) => File.WriteAllText(path, Render(result));

    private static List<ChartMarker> Markers(ChaosResult result) =>
        result.Timeline.Where(e => e.Kind is "fault" or "recovery" or "rollback" or "guard" or "timeout" || e.Text.StartsWith("method", StringComparison.Ordinal))
            .Select(e => new ChartMarker(e.At, e.Text, e.Kind switch
            {
                "fault" => "#cf222e",
                "recovery" => "#1a7f37",
                "rollback" => "#6e7781",
                "guard" or "timeout" => "#bf5700",
                _ => "#0969da",
            }))
            .ToList();

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
