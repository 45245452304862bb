using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Scale.Chaos.Experiments;
using Scale.Chaos.Runner;
using Scale.Testing;

namespace Scale.Chaos.Tests.Runner;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TempBugProbeTests
{
    [Fact]
    public async Task Background()
    {
        await using var target = new RecordingTarget();
        var e = Experiment.Parse("t", (JsonObject)JsonNode.Parse("""
            { "title": "t", "method": [ { "type": "action", "name": "bg", "background": true, "provider": { "type": "process", "path": "/nonexistent/x" } },
              { "type": "action", "name": "fg", "provider": { "type": "process", "path": "/bin/true" } } ] }
            """)!, false);
        var r = await new ChaosRunner(target, new ChaosRunOptions()).RunAsync(e, CancellationToken.None);
        Assert.Equal("failed", r.Status);
    }

    [Fact]
    public async Task PrometheusTimeout()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var url = $"http://127.0.0.1:{Tools.FreePort()}/";
        builder.WebHost.UseUrls(url);
        await using var server = builder.Build();
        server.MapGet("/api/v1/query", async () => { await Task.Delay(8000); return "{}"; });
        await server.StartAsync();
        await using var target = new RecordingTarget();
        var e = Experiment.Parse("t", (JsonObject)JsonNode.Parse($$"""
            { "title": "t", "method": [ { "type": "probe", "name": "prom", "tolerance": 1, "provider": { "type": "scale", "func": "prometheus", "arguments": { "query": "up", "prometheus_url": "{{url}}" } } } ],
              "rollbacks": [ { "type": "action", "name": "undo", "provider": { "type": "scale", "func": "kill_batch_workers", "arguments": { "count": 1 } } } ] }
            """)!, false);
        var r = await new ChaosRunner(target, new ChaosRunOptions()).RunAsync(e, CancellationToken.None);
        Assert.Equal("completed", r.Status);
    }

    [Fact]
    public async Task ProcessKilledOnAbort()
    {
        using var folder = new TempFolder("scale-bug-");
        var marker = Path.Join(folder.Path, "still-running");
        await using var target = new RecordingTarget();
        var e = Experiment.Parse("t", (JsonObject)JsonNode.Parse($$"""
            { "title": "t",
              "controls": [ { "name": "safeguards", "provider": { "type": "scale", "func": "safeguards", "arguments": { "probes": [
                { "type": "probe", "name": "b", "tolerance": 0, "breached_for_seconds": 1, "provider": { "type": "process", "path": "/bin/false" } } ] } } } ],
              "method": [ { "type": "action", "name": "long", "provider": { "type": "process", "path": "/bin/sh", "arguments": ["-c", "sleep 4; touch {{marker}}"] } } ] }
            """)!, false);
        var r = await new ChaosRunner(target, new ChaosRunOptions()).RunAsync(e, CancellationToken.None);
        Assert.Equal("aborted", r.Status);
        await Task.Delay(5000);
        Assert.False(File.Exists(marker), "the method's process went on after the abort");
    }
}
