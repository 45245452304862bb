using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Scale.Chaos.Experiments;
using Scale.Chaos.Report;
using Scale.Chaos.Runner;

namespace Scale.Chaos.Tests.Runner;

/// <summary>
/// The load control against a real HTTP server on loopback (Kestrel answering 200): the probes on the steady load
/// return values, the journal carries the load and its seconds, and the report draws its three charts.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ChaosRunnerLoadTests
{
    [Fact]
    public async Task RunAsync_LoadControl_ProbesMeasureTheLoadAndTheReportDrawsThreeCharts()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/", () => "ok"));
        var url = server.Url;
        await using var target = new RecordingTarget();
        var experiment = Experiment.Parse("load.json", (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse($$"""
            {
              "title": "steady load",
              "configuration": { "rps": 50 },
              "controls": [ { "name": "steady-load", "provider": { "type": "scale", "func": "load",
                "arguments": { "url": "{{url}}", "rps": "${rps}", "concurrency": 10, "warmup_seconds": 1, "steady_seconds": 2 } } } ],
              "steady-state-hypothesis": { "title": "requests succeed", "probes": [
                { "type": "probe", "name": "success-ratio", "tolerance": { "type": "range", "range": [0.99, 1] },
                  "provider": { "type": "scale", "func": "success_ratio", "arguments": { "since": "start" } } },
                { "type": "probe", "name": "p99-latency-ms", "tolerance": { "type": "relative-to-before", "max-factor": 2, "floor": 2000 },
                  "provider": { "type": "scale", "func": "latency_ms", "arguments": { "percentile": "99", "window_seconds": 2 } } },
                { "type": "probe", "name": "achieved-rps", "tolerance": { "type": "range", "range": [5, null] },
                  "provider": { "type": "scale", "func": "achieved_rps", "arguments": { "window_seconds": 2 } } } ] },
              "method": [
                { "type": "action", "name": "fault", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } } },
                { "type": "probe", "name": "wait", "provider": { "type": "process", "path": "/bin/true" }, "pauses": { "after": 2 } } ]
            }
            """)!, shortForm: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var result = await new ChaosRunner(target, new ChaosRunOptions()).RunAsync(experiment, timeout.Token);

        var verdicts = result.Verdicts.ToDictionary(v => (v.Line, v.Phase));
        foreach (var phase in new[] { Phase.Before, Phase.After })
        {
            var success = verdicts[("success-ratio", phase)];
            Assert.True(success.Met, success.Explanation);
            Assert.InRange(double.Parse(success.Measured, CultureInfo.InvariantCulture), 0.99, 1);
            var latency = verdicts[("p99-latency-ms", phase)];
            Assert.True(latency.Met, latency.Explanation);
            Assert.InRange(double.Parse(latency.Measured, CultureInfo.InvariantCulture), 0.001, 2000);
            var rate = verdicts[("achieved-rps", phase)];
            Assert.True(rate.Met, rate.Explanation);
        }

        Assert.Equal(50, result.TargetRate);
        Assert.NotNull(result.Load);
        Assert.True(result.Load.Completed > 100, $"{result.Load.Completed} requests answered");
        Assert.NotEmpty(result.Series);
        var load = result.Journal["extensions"]![0]!["load"]!;
        Assert.Equal(50, load["target_rps"]!.GetValue<double>());
        Assert.Equal(result.Load.Completed, load["completed"]!.GetValue<long>());
        Assert.Equal(result.Series.Count, result.Journal["extensions"]![0]!["series"]!.AsArray().Count);
        Assert.Contains(result.Timeline, e => e.Kind == "phase" && e.Text.StartsWith("load starts: 50 requests/s", StringComparison.Ordinal));

        var html = HtmlReport.Render(result);
        Assert.Equal(3, Svg().Count(html));
        Assert.All(result.Verdicts, v => Assert.Contains(v.Line, html, StringComparison.Ordinal));
        // The fault is marked on the charts.
        Assert.Contains("<title>zone a terminated</title>", html, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"<svg\b")]
    private static partial Regex Svg();
}
