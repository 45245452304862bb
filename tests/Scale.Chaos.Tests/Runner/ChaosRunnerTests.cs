using System.Globalization;
using System.Text.Json.Nodes;
using Scale.Chaos.Experiments;
using Scale.Chaos.Report;
using Scale.Chaos.Runner;
using Scale.Chaos.Targets;
using Scale.Testing;

namespace Scale.Chaos.Tests.Runner;

/// <summary>
/// The runner's orchestration against a recording target: what runs when (controls, steady state before, method,
/// steady state after, rollbacks always), how a run ends (completed, failed, aborted, deviated), the lines watched
/// during the method, safeguards, and the journal and report made from a run. Providers are process providers and
/// Scale functions that only use the target, so no lab is needed.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ChaosRunnerTests
{
    private const string ProcessTrue = """{ "type": "process", "path": "/bin/true" }""";
    private const string ProcessFalse = """{ "type": "process", "path": "/bin/false" }""";
    private const string AllReady = """{ "type": "scale", "func": "all_ready", "arguments": { "kind": "web+database" } }""";
    private const string BatchRollback = """[ { "type": "action", "name": "undo", "provider": { "type": "scale", "func": "kill_batch_workers", "arguments": { "count": 1 } } } ]""";

    [Fact]
    public async Task RunAsync_HypothesisFailsBefore_FailsWithoutRunningTheMethodButRollsBack()
    {
        await using var target = new RecordingTarget { Unready = new HashSet<string>(StringComparer.Ordinal) { "web-b1" } };

        var result = await RunAsync($$"""
            {
              "title": "t",
              "steady-state-hypothesis": { "title": "all ready", "probes": [
                { "type": "probe", "name": "every-instance-ready", "tolerance": true, "provider": {{AllReady}} } ] },
              "method": [ { "type": "action", "name": "terminate", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } } } ],
              "rollbacks": {{BatchRollback}}
            }
            """, target);

        Assert.Equal("failed", result.Status);
        Assert.False(result.HypothesisHeld);
        Assert.Equal(["kill_batch_workers 1"], target.Actions);
        var verdict = Assert.Single(result.Verdicts);
        Assert.Equal((Phase.Before, false), (verdict.Phase, verdict.Met));
        Assert.Empty(result.Journal["run"]!.AsArray());
        Assert.Single(result.Journal["rollbacks"]!.AsArray());
        Assert.False(result.Journal["steady_states"]!["before"]!["steady_state_met"]!.GetValue<bool>());
        Assert.Null(result.Journal["steady_states"]!["after"]);
        // The timeline says which instance was not ready, not only that one was not.
        Assert.Equal("before: not every instance ready (not ready: web-b1)", Assert.Single(result.Timeline, e => e.Kind == "check").Text);
    }

    [Theory]
    [InlineData("""{ "type": "process", "path": "/nonexistent/scale-chaos-test-program" }""", "could not be started")]
    [InlineData("""{ "type": "scale", "func": "terminate_zone" }""", "needs a zone")]
    [InlineData("""{ "type": "scale", "func": "terminate_zonee", "arguments": { "zone": "a" } }""", "not a Scale function")]
    public async Task RunAsync_ActionFails_StatusFailedAndTheMethodGoesOn(string provider, string error)
    {
        await using var target = new RecordingTarget();

        var result = await RunAsync($$"""
            {
              "title": "t",
              "steady-state-hypothesis": { "title": "ok", "probes": [ { "type": "probe", "name": "ok", "tolerance": 0, "provider": {{ProcessTrue}} } ] },
              "method": [
                { "type": "action", "name": "broken", "provider": {{provider}} },
                { "type": "action", "name": "echo", "provider": { "type": "process", "path": "/bin/sh", "arguments": ["-c", "echo went on"] } } ],
              "rollbacks": {{BatchRollback}}
            }
            """, target);

        Assert.Equal("failed", result.Status);
        Assert.False(result.HypothesisHeld);
        var runs = result.Journal["run"]!.AsArray();
        Assert.Equal(2, runs.Count);
        Assert.Equal("failed", runs[0]!["status"]!.GetValue<string>());
        Assert.Contains(error, runs[0]!["exception"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("succeeded", runs[1]!["status"]!.GetValue<string>());
        Assert.Equal("went on\n", runs[1]!["output"]!["stdout"]!.GetValue<string>());
        Assert.Contains(result.Timeline, e => e.Kind == "error" && e.Text.StartsWith("broken:", StringComparison.Ordinal));
        Assert.Equal(["kill_batch_workers 1"], target.Actions);
        // The steady state after is still checked.
        Assert.Contains(result.Verdicts, v => v.Phase == Phase.After && v.Met);
    }

    [Fact]
    public async Task RunAsync_MethodProbeMissesItsTolerance_Deviates()
    {
        await using var target = new RecordingTarget();

        var result = await RunAsync($$"""
            {
              "title": "t",
              "steady-state-hypothesis": { "title": "ok", "probes": [ { "type": "probe", "name": "ok", "tolerance": 0, "provider": {{ProcessTrue}} } ] },
              "method": [ { "type": "probe", "name": "primary-is-pg-b", "tolerance": "pg-b", "provider": { "type": "scale", "func": "primary" } } ]
            }
            """, target);

        Assert.Equal("completed", result.Status);
        Assert.True(result.Deviated);
        Assert.False(result.HypothesisHeld);
        var verdict = Assert.Single(result.Verdicts, v => v.Phase == Phase.Method);
        Assert.Equal(("primary-is-pg-b", "pg-a", false), (verdict.Line, verdict.Measured, verdict.Met));
        Assert.False(result.Journal["run"]![0]!["tolerance_met"]!.GetValue<bool>());
        Assert.True(result.Journal["deviated"]!.GetValue<bool>());
        Assert.False(result.Journal["extensions"]![0]!["hypothesis_held"]!.GetValue<bool>());
    }

    [Fact]
    public async Task RunAsync_HypothesisFailsAfter_Deviates()
    {
        await using var target = new RecordingTarget { PrimaryOutage = TimeSpan.FromHours(1) };

        var result = await RunAsync("""
            {
              "title": "t",
              "steady-state-hypothesis": { "title": "a primary", "probes": [
                { "type": "probe", "name": "primary", "tolerance": ["pg-a", "pg-b", "pg-c"], "provider": { "type": "scale", "func": "primary" } } ] },
              "method": [ { "type": "action", "name": "kill", "provider": { "type": "scale", "func": "kill_primary" } } ]
            }
            """, target);

        Assert.Equal("completed", result.Status);
        Assert.True(result.Deviated);
        Assert.Equal([(Phase.Before, true), (Phase.After, false)], result.Verdicts.Select(v => (v.Phase, v.Met)));
    }

    [Fact]
    public async Task RunAsync_EverythingHolds_CompletedAndHypothesisHeld()
    {
        await using var target = new RecordingTarget { ZoneOutage = TimeSpan.FromSeconds(1) };

        var result = await RunAsync($$"""
            {
              "title": "t",
              "steady-state-hypothesis": { "title": "healthy", "probes": [
                { "type": "probe", "name": "every-instance-ready", "tolerance": true, "provider": {{AllReady}} },
                { "type": "probe", "name": "a-primary", "tolerance": ["pg-a", "pg-b"], "provider": { "type": "scale", "func": "primary" } },
                { "type": "probe", "name": "shell-ok", "tolerance": 0, "provider": { "type": "process", "path": "/bin/sh", "arguments": ["-c", "echo fine"] } } ] },
              "method": [
                { "type": "action", "name": "terminate-zone-b", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "b" } } },
                { "type": "probe", "name": "self-heal-seconds", "tolerance": { "type": "range", "range": [0, 10] },
                  "provider": { "type": "scale", "func": "wait_for", "arguments": { "condition": "all_ready", "timeout_seconds": 10 } } },
                { "type": "probe", "name": "primary-kept", "tolerance": "pg-a", "provider": { "type": "scale", "func": "primary" } } ],
              "rollbacks": {{BatchRollback}}
            }
            """, target);

        Assert.Equal("completed", result.Status);
        Assert.False(result.Deviated);
        Assert.True(result.HypothesisHeld);
        Assert.All(result.Verdicts, v => Assert.True(v.Met, $"{v.Line} ({v.Phase}): {v.Explanation}"));
        Assert.Equal(3, result.Verdicts.Count(v => v.Phase == Phase.Before));
        Assert.Equal(3, result.Verdicts.Count(v => v.Phase == Phase.After));
        Assert.Equal(2, result.Verdicts.Count(v => v.Phase == Phase.Method));
        Assert.Equal(["terminate_zone b", "kill_batch_workers 1"], target.Actions);
        var healed = result.Journal["run"]![1]!["output"]!.GetValue<double>();
        Assert.InRange(healed, 0.9, 10);
        // The rollback's kill is marked as a fault too, after the recovery.
        var fault = result.Timeline.First(e => e.Kind == "fault");
        Assert.Equal("zone b terminated", fault.Text);
        var recovery = Assert.Single(result.Timeline, e => e.Kind == "recovery");
        Assert.True(recovery.At >= fault.At + 0.9, $"recovery at {recovery.At} s, fault at {fault.At} s");
        // It names what it waited for (zone b's instances) and when each was ready, not the instances that never left.
        Assert.Matches(@"^all web and database instances ready \d+\.\d s after the fault \(last ready: (pg-b|web-b1) \d+\.\d s, (web-b1|pg-b) \d+\.\d s\)$", recovery.Text);
        Assert.True(result.Journal["extensions"]![0]!["hypothesis_held"]!.GetValue<bool>());
    }

    /// <summary>Zone b terminated, then a wait until every instance is ready, judged against [0, <paramref name="allowedSeconds"/>].</summary>
    private static string ZoneBBackAndReady(double allowedSeconds) => string.Create(CultureInfo.InvariantCulture, $$"""
        {
          "title": "t",
          "method": [
            { "type": "action", "name": "terminate-zone-b", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "b" } } },
            { "type": "probe", "name": "back-and-ready-seconds", "tolerance": { "type": "range", "range": [0, {{allowedSeconds}}] },
              "provider": { "type": "scale", "func": "wait_for", "arguments": { "condition": "all_ready", "timeout_seconds": 10 } } } ]
        }
        """);

    [Theory]
    [InlineData(0.9, 0.2, true)]
    [InlineData(0.1, 0.6, false)]
    public async Task RunAsync_ReadinessLineFailsAfterAnIdlePriorityBoot_ExplanationSaysWhetherTheBootWaitedForACpu(double waiting, double running, bool starved)
    {
        // The first look (when the wait begins) sees no boot; later ones see zone b's instance and one of another wait's.
        var looks = 0;
        IdlePriorityBoot[] boots =
        [
            new("web-a1", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(50)),
            new("web-b1", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(running), TimeSpan.FromSeconds(waiting)),
        ];
        await using var target = new RecordingTarget
        {
            ZoneOutage = TimeSpan.FromSeconds(1),
            Boots = () => Interlocked.Increment(ref looks) == 1 ? boots[..1] : boots,
        };

        var result = await RunAsync(ZoneBBackAndReady(0.5), target);

        var verdict = Assert.Single(result.Verdicts);
        Assert.False(verdict.Met);
        var boot = string.Create(CultureInfo.InvariantCulture, $"web-b1 ready after 1.0 s, {running:0.0} s on a CPU and {waiting:0.0} s waiting for one");
        var recovery = Assert.Single(result.Timeline, e => e.Kind == "recovery");
        Assert.EndsWith($"; booted at idle priority: {boot}", recovery.Text, StringComparison.Ordinal);
        Assert.StartsWith(verdict.Measured + " outside [0, 0.5]; ", verdict.Explanation, StringComparison.Ordinal);
        Assert.Contains(boot, verdict.Explanation, StringComparison.Ordinal);
        Assert.DoesNotContain("web-a1", verdict.Explanation, StringComparison.Ordinal);
        Assert.Equal(starved, verdict.Explanation.Contains("measures the CPU this machine had left", StringComparison.Ordinal));
        Assert.Equal(!starved, verdict.Explanation.EndsWith("the time is the service's", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_BootReadAMomentAfterTheWaitSawItReady_StillReported()
    {
        // Zone b is back after 1 s; the target reads its instance's boot only at 1.6 s, booting until then.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var recordedAt = TimeSpan.FromSeconds(1.6);
        await using var target = new RecordingTarget
        {
            ZoneOutage = TimeSpan.FromSeconds(1),
            Booting = () => clock.Elapsed < recordedAt ? ["web-b1"] : [],
            Boots = () => clock.Elapsed < recordedAt ? [] : [new("web-b1", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(0.2), TimeSpan.FromSeconds(0.7))],
        };

        var result = await RunAsync(ZoneBBackAndReady(10), target);

        var recovery = Assert.Single(result.Timeline, e => e.Kind == "recovery");
        Assert.EndsWith("; booted at idle priority: web-b1 ready after 1.0 s, 0.2 s on a CPU and 0.7 s waiting for one", recovery.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ReadinessLineHoldsAfterAnIdlePriorityBoot_NoNoteInItsExplanation()
    {
        await using var target = new RecordingTarget
        {
            ZoneOutage = TimeSpan.FromSeconds(1),
            Boots = () => [new("web-b1", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(0.1), TimeSpan.FromSeconds(0.9))],
        };

        var result = await RunAsync(ZoneBBackAndReady(10), target);

        var verdict = Assert.Single(result.Verdicts);
        Assert.True(verdict.Met);
        Assert.Equal(verdict.Measured + " in [0, 10]", verdict.Explanation);
    }

    [Fact]
    public async Task RunAsync_WaitForPrimary_ReturnsTheSecondsFromTheFaultAndMarksTheRecovery()
    {
        await using var target = new RecordingTarget { PrimaryOutage = TimeSpan.FromSeconds(2) };

        var result = await RunAsync("""
            {
              "title": "t",
              "method": [
                { "type": "action", "name": "kill", "provider": { "type": "scale", "func": "kill_primary" } },
                { "type": "probe", "name": "promoted-seconds", "tolerance": { "type": "range", "range": [0, 10] },
                  "provider": { "type": "scale", "func": "wait_for", "arguments": { "condition": "primary", "timeout_seconds": 10 } } },
                { "type": "probe", "name": "new-primary", "tolerance": "pg-b", "provider": { "type": "scale", "func": "primary" } } ]
            }
            """, target);

        var seconds = result.Journal["run"]![1]!["output"]!.GetValue<double>();
        Assert.InRange(seconds, 1.9, 8);
        var recovery = Assert.Single(result.Timeline, e => e.Kind == "recovery");
        Assert.Contains("a primary", recovery.Text, StringComparison.Ordinal);
        var fault = Assert.Single(result.Timeline, e => e.Kind == "fault");
        Assert.InRange(recovery.At - fault.At, 1.9, 8);
        Assert.Equal("primary pg-a killed", fault.Text);
        Assert.True(result.HypothesisHeld);
        Assert.Equal("kill_primary", result.Journal["run"]![0]!["output"]!["action"]!.GetValue<string>());
    }

    [Fact]
    public async Task RunAsync_WaitForConditionNeverMet_ReturnsNullAndMarksTheTimeout()
    {
        await using var target = new RecordingTarget { PrimaryOutage = TimeSpan.FromHours(1) };

        var result = await RunAsync("""
            {
              "title": "t",
              "method": [
                { "type": "action", "name": "kill", "provider": { "type": "scale", "func": "kill_primary" } },
                { "type": "probe", "name": "promoted-seconds", "tolerance": { "type": "range", "range": [0, 30] },
                  "provider": { "type": "scale", "func": "wait_for", "arguments": { "condition": "primary", "timeout_seconds": 1 } } } ]
            }
            """, target);

        Assert.Null(result.Journal["run"]![1]!["output"]);
        Assert.Contains(result.Timeline, e => e.Kind == "timeout");
        Assert.DoesNotContain(result.Timeline, e => e.Kind == "recovery");
        Assert.True(result.Deviated);
        Assert.False(Assert.Single(result.Verdicts).Met);
    }

    [Fact]
    public async Task RunAsync_WaitForAllReadyNeverMet_NamesTheInstancesStillNotReady()
    {
        await using var target = new RecordingTarget { Unready = new HashSet<string>(["pg-c"], StringComparer.Ordinal) };

        var result = await RunAsync("""
            {
              "title": "t",
              "method": [
                { "type": "action", "name": "terminate", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } } },
                { "type": "probe", "name": "self-heal-seconds", "tolerance": { "type": "range", "range": [0, 30] },
                  "provider": { "type": "scale", "func": "wait_for", "arguments": { "condition": "all_ready", "timeout_seconds": 2 } } } ]
            }
            """, target);

        Assert.Null(result.Journal["run"]![1]!["output"]);
        var timeout = Assert.Single(result.Timeline, e => e.Kind == "timeout");
        Assert.Equal("all web and database instances ready: not within 2 s (not ready: pg-c)", timeout.Text);
    }

    [Fact]
    public async Task RunAsync_TargetThrowsUnexpectedly_RollsBackAndRethrows()
    {
        await using var target = new RecordingTarget { TerminateZoneThrows = new NotSupportedException("the target broke") };
        var experiment = Parse($$"""
            {
              "title": "t",
              "method": [
                { "type": "action", "name": "terminate", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } } },
                { "type": "action", "name": "never", "provider": { "type": "scale", "func": "kill_primary" } } ],
              "rollbacks": {{BatchRollback}}
            }
            """);

        var error = await Assert.ThrowsAsync<NotSupportedException>(() => new ChaosRunner(target, new ChaosRunOptions()).RunAsync(experiment, CancellationToken.None));

        Assert.Equal("the target broke", error.Message);
        Assert.Equal(["terminate_zone a", "kill_batch_workers 1"], target.Actions);
    }

    [Fact]
    public async Task RunAsync_UnknownControl_ThrowsNamingItAndStillRollsBack()
    {
        await using var target = new RecordingTarget();
        var experiment = Parse($$"""
            {
              "title": "t",
              "controls": [ { "name": "mystery", "provider": { "type": "scale", "func": "chaos_monkey" } } ],
              "method": [ { "type": "action", "name": "terminate", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } } } ],
              "rollbacks": {{BatchRollback}}
            }
            """);

        var error = await Assert.ThrowsAsync<ChaosException>(() => new ChaosRunner(target, new ChaosRunOptions()).RunAsync(experiment, CancellationToken.None));

        Assert.Contains("chaos_monkey", error.Message, StringComparison.Ordinal);
        Assert.Contains("controls[0]", error.Message, StringComparison.Ordinal);
        Assert.Equal(["kill_batch_workers 1"], target.Actions);
    }

    [Fact]
    public async Task RunAsync_SafeguardBreached_AbortsTheMethodAndRollsBack()
    {
        await using var target = new RecordingTarget();

        var result = await RunAsync($$"""
            {
              "title": "t",
              "controls": [ { "name": "safeguards", "provider": { "type": "scale", "func": "safeguards", "arguments": { "probes": [
                { "type": "probe", "name": "always-breached", "tolerance": 0, "breached_for_seconds": 2, "provider": {{ProcessFalse}} } ] } } } ],
              "steady-state-hypothesis": { "title": "ok", "probes": [ { "type": "probe", "name": "ok", "tolerance": 0, "provider": {{ProcessTrue}} } ] },
              "method": [
                { "type": "probe", "name": "wait", "provider": {{ProcessTrue}}, "pauses": { "after": 8 } },
                { "type": "action", "name": "terminate", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } } } ],
              "rollbacks": {{BatchRollback}}
            }
            """, target);

        Assert.Equal("aborted", result.Status);
        Assert.False(result.HypothesisHeld);
        Assert.Equal(["kill_batch_workers 1"], target.Actions);
        Assert.True((result.End - result.Start).TotalSeconds < 7, $"the run took {(result.End - result.Start).TotalSeconds} s: the pause was not cut short");
        var guard = Assert.Single(result.Timeline, e => e.Kind == "guard");
        Assert.Contains("always-breached", guard.Text, StringComparison.Ordinal);
        Assert.Equal("aborted", result.Journal["status"]!.GetValue<string>());
        Assert.Single(result.Journal["rollbacks"]!.AsArray());
        Assert.Contains("aborted by a safeguard", HtmlReport.Render(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_SafeguardHolding_DoesNotAbort()
    {
        await using var target = new RecordingTarget();

        var result = await RunAsync($$"""
            {
              "title": "t",
              "controls": [ { "name": "safeguards", "provider": { "type": "scale", "func": "safeguards", "arguments": { "probes": [
                { "type": "probe", "name": "never-breached", "tolerance": 0, "breached_for_seconds": 1, "provider": {{ProcessTrue}} } ] } } } ],
              "method": [
                { "type": "probe", "name": "wait", "provider": {{ProcessTrue}}, "pauses": { "after": 2.5 } },
                { "type": "action", "name": "terminate", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } } } ]
            }
            """, target);

        Assert.Equal("completed", result.Status);
        Assert.Equal(["terminate_zone a"], target.Actions);
        Assert.DoesNotContain(result.Timeline, e => e.Kind == "guard");
    }

    [Fact]
    public async Task RunAsync_SafeguardWithoutTolerance_Throws()
    {
        await using var target = new RecordingTarget();
        var experiment = Parse($$"""
            {
              "title": "t",
              "controls": [ { "name": "safeguards", "provider": { "type": "scale", "func": "safeguards", "arguments": { "probes": [
                { "type": "probe", "name": "no-tolerance", "provider": {{ProcessTrue}} } ] } } } ],
              "method": [ { "type": "action", "name": "terminate", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "a" } } } ]
            }
            """);

        var error = await Assert.ThrowsAsync<ChaosException>(() => new ChaosRunner(target, new ChaosRunOptions()).RunAsync(experiment, CancellationToken.None));

        Assert.Contains("controls[0].provider.arguments.probes[0]", error.Message, StringComparison.Ordinal);
        Assert.Empty(target.Actions);
    }

    [Fact]
    public async Task RunAsync_DuringLineFailsLongerThanAllowed_DeviatesWithADuringVerdict()
    {
        await using var target = new RecordingTarget { PrimaryOutage = TimeSpan.FromSeconds(4) };

        var result = await RunAsync("""
            {
              "title": "t",
              "steady-state-hypothesis": { "title": "a primary", "probes": [
                { "type": "probe", "name": "a-primary", "tolerance": ["pg-a", "pg-b"], "during": { "allowed-degradation-seconds": 1 },
                  "provider": { "type": "scale", "func": "primary" } } ] },
              "method": [
                { "type": "action", "name": "kill", "provider": { "type": "scale", "func": "kill_primary" } },
                { "type": "probe", "name": "promoted-seconds", "provider": { "type": "scale", "func": "wait_for", "arguments": { "condition": "primary", "timeout_seconds": 15 } } } ]
            }
            """, target);

        Assert.Equal("completed", result.Status);
        Assert.True(result.Deviated);
        Assert.False(result.HypothesisHeld);
        Assert.Equal([(Phase.Before, true), (Phase.During, false), (Phase.After, true)], result.Verdicts.Select(v => (v.Phase, v.Met)));
        var during = result.Verdicts.Single(v => v.Phase == Phase.During);
        Assert.Equal("a-primary", during.Line);
        Assert.Contains("beyond the allowed 1 s", during.Explanation, StringComparison.Ordinal);
        var checks = result.Journal["steady_states"]!["during"]!.AsArray();
        Assert.True(checks.Count >= 2, $"{checks.Count} checks during the method");
        Assert.Contains(checks, c => !c!["steady_state_met"]!.GetValue<bool>());
        Assert.Contains(result.Journal["extensions"]![0]!["verdicts"]!.AsArray(), v => v!["phase"]!.GetValue<string>() == "during" && !v["met"]!.GetValue<bool>());
    }

    [Fact]
    public async Task RunAsync_DuringLineFailsWithinTheAllowance_Holds()
    {
        await using var target = new RecordingTarget { PrimaryOutage = TimeSpan.FromSeconds(1.2) };

        var result = await RunAsync("""
            {
              "title": "t",
              "steady-state-hypothesis": { "title": "a primary", "probes": [
                { "type": "probe", "name": "a-primary", "tolerance": ["pg-a", "pg-b"], "during": { "allowed-degradation-seconds": 5 },
                  "provider": { "type": "scale", "func": "primary" } } ] },
              "method": [
                { "type": "action", "name": "kill", "provider": { "type": "scale", "func": "kill_primary" } },
                { "type": "probe", "name": "promoted-seconds", "provider": { "type": "scale", "func": "wait_for", "arguments": { "condition": "primary", "timeout_seconds": 15 } },
                  "pauses": { "after": 2 } } ]
            }
            """, target);

        Assert.True(result.HypothesisHeld, string.Join("; ", result.Verdicts.Select(v => $"{v.Line} {v.Phase}: {v.Explanation}")));
        var during = Assert.Single(result.Verdicts, v => v.Phase == Phase.During);
        Assert.True(during.Met);
        Assert.True(result.Journal["steady_states"]!["during"]!.AsArray().Count >= 2);
    }

    [Fact]
    public async Task RunAsync_MethodProbeComparedWithALine_UsesThatLinesValueBefore()
    {
        await using var target = new RecordingTarget();

        var result = await RunAsync("""
            {
              "title": "t",
              "steady-state-hypothesis": { "title": "web", "probes": [
                { "type": "probe", "name": "web-ready", "tolerance": { "type": "range", "range": [3, 3] },
                  "provider": { "type": "scale", "func": "instances_ready", "arguments": { "kind": "web" } } } ] },
              "method": [
                { "type": "probe", "name": "same-as-before", "tolerance": { "type": "equals-before" }, "compare-with": "web-ready",
                  "provider": { "type": "scale", "func": "instances_ready", "arguments": { "kind": "web" } } },
                { "type": "probe", "name": "no-line-to-compare", "tolerance": { "type": "equals-before" },
                  "provider": { "type": "scale", "func": "instances_ready", "arguments": { "kind": "web" } } } ]
            }
            """, target);

        var method = result.Verdicts.Where(v => v.Phase == Phase.Method).ToDictionary(v => v.Line, v => v.Met, StringComparer.Ordinal);
        Assert.True(method["same-as-before"]);
        Assert.False(method["no-line-to-compare"]);
    }

    [Fact]
    public async Task RunAsync_SameSeed_DrawsTheSameRandomChoices()
    {
        const string Json = """
            { "title": "t", "method": [ { "type": "action", "name": "kill", "provider": { "type": "scale", "func": "kill_batch_workers", "arguments": { "count": 2 } } } ] }
            """;
        await using var first = new RecordingTarget();
        await using var again = new RecordingTarget();
        await using var other = new RecordingTarget();

        await RunAsync(Json, first, seed: 7);
        await RunAsync(Json, again, seed: 7);
        await RunAsync(Json, other, seed: 8);

        Assert.Equal(first.Draws, again.Draws);
        Assert.NotEqual(first.Draws, other.Draws);
        Assert.Equal(["kill_batch_workers 2"], first.Actions);
    }

    [Fact]
    public async Task Journal_CompletedRun_HasChaosToolkitsKeysAndScalesExtension()
    {
        await using var target = new RecordingTarget { ZoneOutage = TimeSpan.Zero };
        using var folder = new TempFolder("scale-chaos-journal-");

        var result = await RunAsync($$"""
            {
              "title": "journal test",
              "configuration": { "zone": "c" },
              "steady-state-hypothesis": { "title": "ok", "probes": [
                { "type": "probe", "name": "shell-ok", "tolerance": 0, "provider": {{ProcessTrue}} },
                { "type": "probe", "name": "every-instance-ready", "tolerance": true, "provider": {{AllReady}} } ] },
              "method": [ { "type": "action", "name": "terminate", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "${zone}" } } } ],
              "rollbacks": {{BatchRollback}}
            }
            """, target);
        var path = Path.Join(folder.Path, "journal.json");
        ChaosJournal.Write(result, path);
        var journal = Assert.IsType<JsonObject>(JsonNode.Parse(File.ReadAllText(path)));

        foreach (var key in new[] { "status", "deviated", "steady_states", "run", "rollbacks", "start", "end", "duration", "experiment", "extensions" })
        {
            Assert.True(journal.ContainsKey(key), $"the journal has no {key}");
        }

        Assert.Equal(result.Status, journal["status"]!.GetValue<string>());
        Assert.Equal(result.Deviated, journal["deviated"]!.GetValue<bool>());
        Assert.True(journal["steady_states"]!["before"]!["steady_state_met"]!.GetValue<bool>());
        Assert.True(journal["steady_states"]!["after"]!["steady_state_met"]!.GetValue<bool>());
        Assert.Equal(2, journal["steady_states"]!["after"]!["probes"]!.AsArray().Count);
        Assert.IsType<JsonArray>(journal["steady_states"]!["during"]);
        Assert.Equal("c", journal["run"]![0]!["activity"]!["provider"]!["arguments"]!["zone"]!.GetValue<string>());
        Assert.Equal("undo", journal["rollbacks"]![0]!["activity"]!["name"]!.GetValue<string>());
        Assert.Equal("journal test", journal["experiment"]!["title"]!.GetValue<string>());
        Assert.True(DateTimeOffset.Parse(journal["end"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) >= DateTimeOffset.Parse(journal["start"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(journal["duration"]!.GetValue<double>(), 0, 30);
        var scale = journal["extensions"]![0]!;
        Assert.Equal("scale", scale["name"]!.GetValue<string>());
        Assert.Equal("test", scale["target"]!.GetValue<string>());
        Assert.Equal(result.Verdicts.Select(v => v.Line), scale["verdicts"]!.AsArray().Select(v => v!["line"]!.GetValue<string>()));
        Assert.Equal(result.Verdicts.Select(v => v.Phase.ToString().ToLowerInvariant()), scale["verdicts"]!.AsArray().Select(v => v!["phase"]!.GetValue<string>()));
        Assert.Contains(scale["timeline"]!.AsArray(), e => e!["kind"]!.GetValue<string>() == "fault" && e["text"]!.GetValue<string>() == "zone c terminated");
        Assert.Null(scale["load"]);
        Assert.True(scale["hypothesis_held"]!.GetValue<bool>());
    }

    [Fact]
    public async Task HtmlReport_RunWithoutLoad_ShowsEveryVerdictLineEncodedAndNoChart()
    {
        await using var target = new RecordingTarget();

        var result = await RunAsync($$"""
            {
              "title": "report <test> & co",
              "steady-state-hypothesis": { "title": "ok", "probes": [
                { "type": "probe", "name": "shell-ok", "tolerance": 0, "provider": {{ProcessTrue}} },
                { "type": "probe", "name": "<b>bold</b>-line", "tolerance": true, "provider": {{AllReady}} } ] },
              "method": [ { "type": "probe", "name": "primary-is-pg-a", "tolerance": "pg-a", "provider": { "type": "scale", "func": "primary" } } ]
            }
            """, target);
        var html = HtmlReport.Render(result);

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.All(result.Verdicts, v => Assert.Contains(System.Net.WebUtility.HtmlEncode(v.Line), html, StringComparison.Ordinal));
        Assert.Contains("&lt;b&gt;bold&lt;/b&gt;-line", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>bold</b>", html, StringComparison.Ordinal);
        Assert.Contains("report &lt;test&gt; &amp; co", html, StringComparison.Ordinal);
        Assert.Contains("hypothesis held", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<svg", html, StringComparison.Ordinal);
        Assert.EndsWith("</html>\n", html, StringComparison.Ordinal);
    }

    private static Experiment Parse(string json) => Experiment.Parse("test.json", (JsonObject)JsonNode.Parse(json)!, shortForm: false);

    private static async Task<ChaosResult> RunAsync(string json, RecordingTarget target, int seed = 1)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await new ChaosRunner(target, new ChaosRunOptions { Seed = seed }).RunAsync(Parse(json), timeout.Token);
    }
}
