using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Scale.Chaos.Experiments;
using Scale.Chaos.Runner;

namespace Scale.Chaos.Tests.Runner;

/// <summary>
/// The machine-capacity verdict: a steady state that fails while every core is saturated is reported as the machine
/// being too small for the load, not as the service failing; with CPU to spare the failure stays the service's.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MachineCapacityTests
{
    [Fact]
    public void Parse_ProcStatLine_BusyIsEverythingButIdleAndIowait()
    {
        // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user already)
        var times = MachineCpu.Parse("cpu  100 5 50 800 20 3 2 0 40 0");

        Assert.Equal(new CpuTimes(160, 980), times);
    }

    [Theory]
    [InlineData("cpu0 100 5 50 800 20 3 2 0 0 0")]
    [InlineData("intr 1 2 3")]
    [InlineData("cpu  100 x 50")]
    [InlineData("")]
    [InlineData(null)]
    public void Parse_NotTheAggregateLine_Null(string? line) => Assert.Null(MachineCpu.Parse(line));

    [Fact]
    public void Read_ThisMachine_TotalGrowsAndBusyIsWithinIt()
    {
        var first = MachineCpu.Read();
        Thread.SpinWait(50_000_000);
        var second = MachineCpu.Read();

        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.True(second.Value.Total > first.Value.Total, $"{first} then {second}");
        Assert.InRange(CpuTimes.BusyShare(first.Value, second.Value)!.Value, 0, 1);
    }

    [Theory]
    [InlineData(false, 990, false, "cannot carry the steady load (500 requests/s)")]
    [InlineData(false, 600, true, "are the service's, not the machine's")]
    [InlineData(true, 990, true, "no CPU to spare")]
    [InlineData(true, 600, true, "CPU to spare")]
    public void Before_SteadyStateAndBusyShare_FailsOnlyWhenTheMachineIsWhyItFailed(bool steadyStateMet, long busyPerMille, bool expectedMet, string expectedText)
    {
        var verdict = MachineCapacity.Before(new CpuTimes(0, 0), new CpuTimes(busyPerMille, 1000), cores: 2, steadyStateMet, requestsPerSecond: 500);

        Assert.NotNull(verdict);
        Assert.Equal(expectedMet, verdict.Met);
        Assert.Equal(Phase.Before, verdict.Phase);
        Assert.Contains(expectedText, verdict.Explanation, StringComparison.Ordinal);
        Assert.Contains("of 2 cores busy", verdict.Measured, StringComparison.Ordinal);
    }

    [Fact]
    public void Before_NoReadingOrNoTimePassed_NoVerdict()
    {
        Assert.Null(MachineCapacity.Before(null, new CpuTimes(1, 2), 2, false, 500));
        Assert.Null(MachineCapacity.Before(new CpuTimes(1, 2), new CpuTimes(1, 2), 2, false, 500));
        Assert.Null(MachineCapacity.During(new CpuTimes(1, 2), null, 2));
    }

    [Fact]
    public void During_Saturated_InformationNeverAFailure()
    {
        var verdict = MachineCapacity.During(new CpuTimes(0, 0), new CpuTimes(999, 1000), 2);

        Assert.NotNull(verdict);
        Assert.True(verdict.Met);
        Assert.Contains("every core was saturated", verdict.Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, 990, false, "could not carry the load (500 requests/s) while the service recovered")]
    [InlineData(false, 600, true, "the lines that failed after the method are the service's")]
    [InlineData(false, 910, true, "not saturated, so the lines that failed after the method may be the service's or the machine's")]
    [InlineData(true, 990, true, "back with no CPU to spare")]
    [InlineData(true, 900, true, "little CPU to spare")]
    [InlineData(true, 600, true, "CPU to spare")]
    public void After_SteadyStateAndBusyShare_FailsOnlyWhenTheMachineIsWhyItFailed(bool steadyStateMet, long busyPerMille, bool expectedMet, string expectedText)
    {
        var verdict = MachineCapacity.After(new CpuTimes(0, 0), new CpuTimes(busyPerMille, 1000), cores: 2, steadyStateMet, requestsPerSecond: 500, seconds: 20);

        Assert.NotNull(verdict);
        Assert.Equal(expectedMet, verdict.Met);
        Assert.Equal(Phase.After, verdict.Phase);
        Assert.Contains(expectedText, verdict.Explanation, StringComparison.Ordinal);
        Assert.Contains("over the last 20 s", verdict.Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(995, false, "could not carry the load (40 requests/s) while the service recovered")]
    [InlineData(300, true, "the lines that failed after the method are the service's")]
    public async Task RunAsync_SteadyStateNotBackAfterTheMethod_TheVerdictSaysWhetherTheMachineWasSaturated(long busyPerMille, bool expectedMet, string expectedText)
    {
        // A service that fails from the fault on: the steady state holds before the method and not after it.
        var failing = 0;
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/", () =>
            Volatile.Read(ref failing) == 1 ? Results.StatusCode(StatusCodes.Status503ServiceUnavailable) : Results.Ok()));
        var url = server.Url;
        await using var target = new RecordingTarget { OnTerminateZone = _ => Volatile.Write(ref failing, 1) };
        var experiment = Experiment.Parse("capacity-after.json", (JsonObject)JsonNode.Parse($$"""
            {
              "title": "a steady state that is not back after the method",
              "controls": [ { "name": "steady-load", "provider": { "type": "scale", "func": "load",
                "arguments": { "url": "{{url}}", "rps": 40, "concurrency": 10, "warmup_seconds": 1, "steady_seconds": 2 } } } ],
              "steady-state-hypothesis": { "title": "requests succeed", "probes": [
                { "type": "probe", "name": "success-ratio", "tolerance": { "type": "range", "range": [0.99, 1] },
                  "provider": { "type": "scale", "func": "success_ratio", "arguments": { "window_seconds": 2 } } } ] },
              "method": [ { "type": "action", "name": "fault", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } },
                "pauses": { "after": 4 } } ]
            }
            """)!, shortForm: false);
        var options = RecordedMachine(busyPerMille);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var result = await new ChaosRunner(target, options).RunAsync(experiment, timeout.Token);

        Assert.Equal(["terminate_zone a"], target.Actions);
        Assert.False(result.HypothesisHeld);
        Assert.True(Assert.Single(result.Verdicts, v => v.Line == MachineCapacity.Line && v.Phase == Phase.Before).Met);
        var after = Assert.Single(result.Verdicts, v => v.Line == MachineCapacity.Line && v.Phase == Phase.After);
        Assert.Equal(expectedMet, after.Met);
        Assert.Contains(expectedText, after.Explanation, StringComparison.Ordinal);
        // The 2-s window is measured from a sample the monitor took during the 4-s method, not from its start.
        Assert.Matches(@"over the last [23] s", after.Explanation);
    }

    /// <summary>
    /// A saturated machine where 40 % of the CPU went to instances booting at idle priority: that CPU was there for the
    /// load, so the failure after the method is the service's, and the verdict says what idle priority took.
    /// </summary>
    [Fact]
    public async Task RunAsync_SaturatedButPartlyByIdlePriority_TheFailureAfterTheMethodIsTheServices()
    {
        var failing = 0;
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/", () =>
            Volatile.Read(ref failing) == 1 ? Results.StatusCode(StatusCodes.Status503ServiceUnavailable) : Results.Ok()));
        var url = server.Url;
        long idleReadings = 0;
        // 400 clock ticks (4 s at 100 a second) more at every reading, against the recorded machine's 1,000.
        await using var target = new RecordingTarget
        {
            OnTerminateZone = _ => Volatile.Write(ref failing, 1),
            IdlePriority = () => TimeSpan.FromSeconds(4 * Interlocked.Increment(ref idleReadings)),
        };
        var experiment = Experiment.Parse("capacity-idle.json", (JsonObject)JsonNode.Parse($$"""
            {
              "title": "a steady state that is not back after the method",
              "controls": [ { "name": "steady-load", "provider": { "type": "scale", "func": "load",
                "arguments": { "url": "{{url}}", "rps": 40, "concurrency": 10, "warmup_seconds": 1, "steady_seconds": 2 } } } ],
              "steady-state-hypothesis": { "title": "requests succeed", "probes": [
                { "type": "probe", "name": "success-ratio", "tolerance": { "type": "range", "range": [0.99, 1] },
                  "provider": { "type": "scale", "func": "success_ratio", "arguments": { "window_seconds": 2 } } } ] },
              "method": [ { "type": "action", "name": "fault", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } },
                "pauses": { "after": 4 } } ]
            }
            """)!, shortForm: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var result = await new ChaosRunner(target, RecordedMachine(990)).RunAsync(experiment, timeout.Token);

        Assert.False(result.HypothesisHeld);
        var after = Assert.Single(result.Verdicts, v => v.Line == MachineCapacity.Line && v.Phase == Phase.After);
        Assert.True(after.Met, after.Explanation);
        Assert.Contains("59 % of 2 cores busy", after.Measured, StringComparison.Ordinal);
        Assert.Contains("are the service's", after.Explanation, StringComparison.Ordinal);
        Assert.Contains("40 % used at idle priority", after.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void WithIdlePriority_MovesTheIdleTicksOutOfBusy()
    {
        var times = new CpuTimes(Busy: 900, Total: 1000).WithIdlePriority(TimeSpan.FromSeconds(3));

        Assert.Equal(new CpuTimes(600, 1000, 300), times);
        Assert.Equal(0.3, CpuTimes.IdlePriorityShare(new CpuTimes(0, 0), times));
        // Read a moment apart, the idle time can exceed what busy had: never below zero.
        Assert.Equal(0, new CpuTimes(100, 1000).WithIdlePriority(TimeSpan.FromSeconds(2)).Busy);
    }

    [Theory]
    [InlineData(995, false, "this machine cannot carry the steady load (40 requests/s)")]
    [InlineData(300, true, "the lines that failed before the method are the service's")]
    public async Task RunAsync_SteadyStateFailsBeforeTheMethod_TheVerdictSaysWhetherTheMachineWasSaturated(long busyPerMille, bool expectedMet, string expectedText)
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/", () => Results.StatusCode(StatusCodes.Status503ServiceUnavailable)));
        var url = server.Url;
        await using var target = new RecordingTarget();
        var experiment = Experiment.Parse("capacity.json", (JsonObject)JsonNode.Parse($$"""
            {
              "title": "a steady state that fails before the method",
              "controls": [ { "name": "steady-load", "provider": { "type": "scale", "func": "load",
                "arguments": { "url": "{{url}}", "rps": 40, "concurrency": 10, "warmup_seconds": 1, "steady_seconds": 3 } } } ],
              "steady-state-hypothesis": { "title": "requests succeed", "probes": [
                { "type": "probe", "name": "success-ratio", "tolerance": { "type": "range", "range": [0.99, 1] },
                  "provider": { "type": "scale", "func": "success_ratio", "arguments": { "since": "start" } } } ] },
              "method": [ { "type": "action", "name": "fault", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } } } ]
            }
            """)!, shortForm: false);
        var options = RecordedMachine(busyPerMille);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var result = await new ChaosRunner(target, options).RunAsync(experiment, timeout.Token);

        Assert.Equal("failed", result.Status);
        Assert.Empty(target.Actions);
        var capacity = Assert.Single(result.Verdicts, v => v.Line == MachineCapacity.Line);
        Assert.Equal(expectedMet, capacity.Met);
        Assert.Contains(expectedText, capacity.Explanation, StringComparison.Ordinal);
        var journalled = Assert.Single(result.Journal["extensions"]![0]!["verdicts"]!.AsArray(), v => v!["line"]!.GetValue<string>() == MachineCapacity.Line);
        Assert.Equal(expectedMet, journalled!["met"]!.GetValue<bool>());
    }

    /// <summary>A recorded 2-core machine: every reading 1,000 ticks after the last, <paramref name="busyPerMille"/> of them busy.</summary>
    private static ChaosRunOptions RecordedMachine(long busyPerMille)
    {
        long readings = 0;
        return new ChaosRunOptions
        {
            MachineCores = 2,
            ReadMachineCpu = () =>
            {
                var n = Interlocked.Increment(ref readings);
                return new CpuTimes(n * busyPerMille, n * 1000);
            },
        };
    }
}
