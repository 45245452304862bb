using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Scale.Chaos.Experiments;
using Scale.Chaos.Runner;
using Scale.Testing;

namespace Scale.Chaos.Tests.Runner;

/// <summary>
/// Failures the runner must contain: a failing background activity fails the run, a slow Prometheus fails its probe
/// (not the run), and an aborted run leaves no process provider running.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ChaosRunnerFailureTests
{
    private const string BatchRollback = """[ { "type": "action", "name": "undo", "provider": { "type": "scale", "func": "kill_batch_workers", "arguments": { "count": 1 } } } ]""";

    [Fact]
    public async Task RunAsync_BackgroundActionFails_StatusFailed()
    {
        await using var target = new RecordingTarget();
        var experiment = Parse("""
            {
              "title": "t",
              "method": [
                { "type": "action", "name": "broken-in-background", "background": true, "provider": { "type": "process", "path": "/nonexistent/scale-chaos-test-program" } },
                { "type": "action", "name": "fine", "provider": { "type": "process", "path": "/bin/true" } } ]
            }
            """);

        var result = await new ChaosRunner(target, new ChaosRunOptions()).RunAsync(experiment, CancellationToken.None);

        Assert.Contains(result.Journal["run"]!.AsArray(), r => r!["status"]!.GetValue<string>() == "failed");
        Assert.Equal("failed", result.Status);
    }

    [Fact]
    public async Task RunAsync_PrometheusDoesNotAnswerInTime_TheProbeFailsAndTheRunGoesOn()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/api/v1/query", async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(8));
            return "{}";
        }));
        var url = server.Url;
        await using var target = new RecordingTarget();
        var experiment = Parse($$"""
            {
              "title": "t",
              "method": [ { "type": "probe", "name": "slow-prometheus", "tolerance": 1,
                "provider": { "type": "scale", "func": "prometheus", "arguments": { "query": "up", "prometheus_url": "{{url}}" } } } ],
              "rollbacks": {{BatchRollback}}
            }
            """);

        var result = await new ChaosRunner(target, new ChaosRunOptions()).RunAsync(experiment, CancellationToken.None);

        Assert.Equal("failed", result.Journal["run"]![0]!["status"]!.GetValue<string>());
        Assert.True(result.Deviated);
        Assert.Equal(["kill_batch_workers 1"], target.Actions);
    }

    [Fact]
    public async Task RunAsync_SafeguardAbortsDuringAProcessAction_TheProgramIsKilled()
    {
        using var folder = new TempFolder("scale-chaos-abort-");
        var marker = Path.Join(folder.Path, "still-running");
        await using var target = new RecordingTarget();
        var experiment = Parse($$"""
            {
              "title": "t",
              "controls": [ { "name": "safeguards", "provider": { "type": "scale", "func": "safeguards", "arguments": { "probes": [
                { "type": "probe", "name": "always-breached", "tolerance": 0, "breached_for_seconds": 1, "provider": { "type": "process", "path": "/bin/false" } } ] } } } ],
              "method": [ { "type": "action", "name": "long", "provider": { "type": "process", "path": "/bin/sh", "arguments": ["-c", "sleep 4; touch '{{marker}}'"] } } ]
            }
            """);

        var result = await new ChaosRunner(target, new ChaosRunOptions()).RunAsync(experiment, CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(5));

        Assert.Equal("aborted", result.Status);
        Assert.False(File.Exists(marker), "the method's program went on after the run was aborted");
    }

    private static Experiment Parse(string json) => Experiment.Parse("test.json", (JsonObject)JsonNode.Parse(json)!, shortForm: false);
}
