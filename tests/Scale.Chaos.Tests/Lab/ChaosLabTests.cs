using System.Text.Json;
using Scale.Testing;

namespace Scale.Chaos.Tests.Lab;

/// <summary>
/// The short form of each shipped experiment, run for real on the lab with `scale chaos run`: the test fails when
/// a hypothesis line fails, and shows every verdict. Bounded: each short form is under two minutes.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ChaosLabTests(ChaosLab lab) : IClassFixture<ChaosLab>
{
    /// <summary>
    /// Every shipped experiment, and the zone experiments again as NAME@test_db: against the original's own steady
    /// state, /test_db (two database reads per request), at <see cref="TestDbRps"/>.
    /// </summary>
    public static TheoryData<string> Experiments => new()
    {
        "zone-outage", "zone-partition", "zone-latency", "zone-loss", "primary-loss", "cpu-exhaustion", "batch-worker-loss",
        "zone-outage@test_db", "zone-partition@test_db", "zone-latency@test_db",
    };

    /// <summary>
    /// The rate of the NAME@test_db runs here: 300 requests/s, not the 500 of deploy/chaos/run-all.sh and the series
    /// (docs/chaos-results). Why: this gate runs on 2 cores, where 500 /test_db requests/s keep the machine 67-86 %
    /// busy before any fault, and a zone that comes back boots its web instances on what is left. They then took
    /// 30-58 s to warm up, so one short zone-outage@test_db of three ran past its 85 s to be ready, and with the
    /// warm-up cut at 30 s (until 2026-12-07) one of two, and one CI run, joined still compiling, with p99 at
    /// 250-570 ms. At 300 requests/s (55-59 % busy) the same runs were ready 62-64 s after the fault. The runner's
    /// machine-capacity lines say how busy the machine was; the 500 requests/s results are the series'.
    /// </summary>
    private const int TestDbRps = 300;

    [Theory]
    [MemberData(nameof(Experiments))]
    public async Task ShortForm_OnTheLab_HypothesisHolds(string experimentAndLoad)
    {
        Assert.True(lab.Up is { ExitCode: 0 }, $"the lab did not start: {lab.Up}");
        var experiment = experimentAndLoad.Split('@')[0];
        string[] load = experimentAndLoad.EndsWith("@test_db", StringComparison.Ordinal) ? ["--var", """paths=["/test_db"]""", "--var", $"rps={TestDbRps}"] : [];
        var file = Path.Join(Checkout.Root, "deploy", "chaos", "experiments", experiment + ".json");
        var journal = Path.Join(lab.WorkPath, experimentAndLoad + ".journal.json");
        var report = Path.Join(lab.WorkPath, experimentAndLoad + ".html");
        var run = await ScaleProcess.RunAsync(lab.WorkPath, ["chaos", "run", file, "--target", "lab", "--short", .. lab.Where[..2], .. load, "--journal", journal, "--report", report],
            timeout: TimeSpan.FromMinutes(4));

        if (experiment == "zone-latency" && run.ToString().Contains("no netem queueing discipline", StringComparison.Ordinal))
        {
            // Some kernels (this project's CI machine's among them) are built without sch_netem: the experiment must
            // say so in its result and fail, not pretend. Partitions and outages do not need it.
            Assert.Equal(1, run.ExitCode);
            using var failed = JsonDocument.Parse(await File.ReadAllTextAsync(journal));
            Assert.Equal("failed", failed.RootElement.GetProperty("status").GetString());
            return;
        }

        // The verdicts are on stdout: a failure shows which line failed and by how much.
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("the hypothesis held", run.Stdout, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(journal));
        var root = document.RootElement;
        Assert.Equal("completed", root.GetProperty("status").GetString());
        Assert.False(root.GetProperty("deviated").GetBoolean());
        Assert.True(root.GetProperty("steady_states").GetProperty("before").GetProperty("steady_state_met").GetBoolean());
        Assert.True(root.GetProperty("steady_states").GetProperty("after").GetProperty("steady_state_met").GetBoolean());
        var scale = root.GetProperty("extensions")[0];
        var verdicts = scale.GetProperty("verdicts").EnumerateArray().ToList();
        Assert.NotEmpty(verdicts);
        Assert.All(verdicts, v => Assert.True(v.GetProperty("met").GetBoolean(), v.ToString()));
        // The fault really happened and was recorded; the short form stayed short.
        Assert.Contains(scale.GetProperty("timeline").EnumerateArray(), e => e.GetProperty("kind").GetString() == "fault");
        Assert.True(root.GetProperty("duration").GetDouble() < 180, $"the short form took {root.GetProperty("duration").GetDouble()} s");
        var html = await File.ReadAllTextAsync(report);
        Assert.Contains("hypothesis held", html, StringComparison.Ordinal);
        if (experiment != "batch-worker-loss")
        {
            // Experiments under load chart it: rate, error ratio, latency.
            Assert.Equal(3, html.Split("<svg", StringSplitOptions.None).Length - 1);
            Assert.True(scale.GetProperty("load").GetProperty("completed").GetInt64() > 1000);
        }

        // Whatever the fault, the lab is whole again afterwards (the next experiment starts from a steady state).
        ScaleRun status;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((status = await ScaleProcess.RunAsync(lab.WorkPath, ["lab", "status", .. lab.Where[..2], "--json"])).ExitCode != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        Assert.True(status.ExitCode == 0, status.ToString());
    }
}
