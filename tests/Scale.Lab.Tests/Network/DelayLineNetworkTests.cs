using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using Scale.Lab.Network;
using Scale.Testing;

namespace Scale.Lab.Tests.Network;

/// <summary>
/// The lab's own network (bridge, three zone namespaces) at base port 33000, made once for these tests and removed
/// after them. Needs root, as the lab does. Installs iptables when missing (the lab's `up` does the same).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LabNetworkAt33000 : IAsyncLifetime
{
    public const int BasePort = 33000;

    public LabNetwork Network { get; } = Create(BasePort);

    /// <summary>The zones' network with the built scale program as the delay line's.</summary>
    public static LabNetwork Create(int basePort) =>
        new(new LabNetworkLayout(basePort, ["a", "b", "c"]), SystemCommandRunner.Instance, ["dotnet", ScaleProcess.DllPath]);

    public async Task InitializeAsync()
    {
        Assert.True(Environment.UserName == "root", "the lab's network namespaces need root");
        await EnsureIptablesAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Network.RemoveAsync(timeout.Token);
        await Network.EnsureAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Network.RemoveAsync(timeout.Token);
    }

    /// <summary>Installs Debian's iptables when missing (waiting for another apt to finish).</summary>
    public static async Task EnsureIptablesAsync()
    {
        if (ProgramRunner.Find("iptables") is null)
        {
            await ProgramRunner.RunAsync("env", ["DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", "iptables"], CancellationToken.None);
        }
    }
}

/// <summary>
/// Latency and loss on a real zone, whichever mechanism this kernel allows (here: no netem, so the delay line): ping
/// round trips from the host (the bridge) to zone a, whose replies leave the zone through the fault. Timing bounds are
/// loose (a delay of 100 ms must add 95-160 ms to the median round trip) so that a busy machine still passes.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DelayLineNetworkTests(LabNetworkAt33000 lab) : IClassFixture<LabNetworkAt33000>
{
    private const int Zone = 0;

    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(90);

    private LabNetwork Network => lab.Network;

    private string Address => Network.Layout.ZoneAddress(Zone);

    [Fact]
    public async Task Degrade_Delay100Ms_RoundTripRisesByTheDelay_RestoreTakesItAllAway()
    {
        using var timeout = new CancellationTokenSource(TestTimeout);
        var baseline = await MedianRoundTripAsync(timeout.Token);
        try
        {
            var degradation = await Network.DegradeAsync(Zone, 100, 0, 0, timeout.Token);
            Assert.Equal(100, degradation.DelayMs);
            var delayed = await MedianRoundTripAsync(timeout.Token);

            Assert.InRange(delayed - baseline, 95, 159.999);
            var described = (await Network.DescribeAsync(timeout.Token))[Zone].Faults;
            Assert.Contains(described, f => f.Contains("delay 100ms", StringComparison.Ordinal));
        }
        finally
        {
            await Network.RestoreAsync(Zone, CancellationToken.None);
        }

        var restored = await MedianRoundTripAsync(timeout.Token);
        Assert.True(restored < baseline + 20, $"round trip {restored} ms after restore, {baseline} ms before");
        Assert.Empty((await Network.DescribeAsync(timeout.Token))[Zone].Faults);
        Assert.Empty(await Network.ZoneProcessesAsync(Zone, timeout.Token));
        var rules = await ProgramRunner.RunAsync("ip", ["netns", "exec", Network.Layout.Namespace(Zone), "iptables", "-w", "-t", "mangle", "-S"], timeout.Token);
        Assert.DoesNotContain(NetfilterDegradation.Chain, rules, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Degrade_Delay100MsJitter20Ms_RoundTripsSpreadAroundTheDelay()
    {
        using var timeout = new CancellationTokenSource(TestTimeout);
        try
        {
            await Network.DegradeAsync(Zone, 100, 20, 0, timeout.Token);
            var trips = await RoundTripsAsync(15, timeout.Token);

            // Never under the delay less the jitter; a busy machine may add to some round trips, not to most.
            Assert.All(trips, t => Assert.True(t >= 75, $"round trips {string.Join(", ", trips)}"));
            Assert.InRange(trips.Order().ElementAt(trips.Count / 2), 75, 159.999);
            Assert.True(trips.Max() - trips.Min() > 5, $"round trips {string.Join(", ", trips)}: no jitter");
        }
        finally
        {
            await Network.RestoreAsync(Zone, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Degrade_Loss30Percent_ABurstOfPingsLosesSomeNotAll()
    {
        using var timeout = new CancellationTokenSource(TestTimeout);
        try
        {
            var degradation = await Network.DegradeAsync(Zone, 0, 0, 30, timeout.Token);
            Assert.Equal(30, degradation.LossPercent);

            // 60 pings, 10 at a time: P(none lost) = 0.7^60 ≈ 5e-10, P(all lost) ≈ 0.
            var answered = 0;
            for (var round = 0; round < 6; round++)
            {
                var replies = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => PingAsync(TimeSpan.FromSeconds(1), timeout.Token)));
                answered += replies.Count(r => r is not null);
            }

            Assert.InRange(answered, 1, 59);
        }
        finally
        {
            await Network.RestoreAsync(Zone, CancellationToken.None);
        }

        Assert.Equal(10, (await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => PingAsync(TimeSpan.FromSeconds(1), timeout.Token)))).Count(r => r is not null));
    }

    [Fact]
    public async Task Degrade_DelayLineKilled_TrafficFlowsUndelayed()
    {
        using var timeout = new CancellationTokenSource(TestTimeout);
        try
        {
            var degradation = await Network.DegradeAsync(Zone, 100, 0, 0, timeout.Token);
            if (degradation.Mechanism != NetworkDegradationMechanism.DelayLine)
            {
                return; // A kernel with netem: no delay line to kill.
            }

            Assert.True(await MedianRoundTripAsync(timeout.Token) >= 95);
            var pids = await Network.DelayLineProcessesAsync(Zone, timeout.Token);
            Assert.Equal(pids, await Network.ZoneProcessesAsync(Zone, timeout.Token));
            Assert.Single(pids);
            using (var process = Process.GetProcessById(pids[0]))
            {
                process.Kill();
            }

            await Task.Delay(TimeSpan.FromMilliseconds(300), timeout.Token);
            // Every ping answered (RoundTripsAsync asserts it), most of them at once.
            var undelayed = await MedianRoundTripAsync(timeout.Token);
            Assert.True(undelayed < 20, $"median round trip {undelayed} ms with the delay line dead");
            var described = (await Network.DescribeAsync(timeout.Token))[Zone].Faults;
            Assert.Contains(described, f => f.Contains("process is gone", StringComparison.Ordinal));
        }
        finally
        {
            await Network.RestoreAsync(Zone, CancellationToken.None);
        }

        Assert.Empty((await Network.DescribeAsync(timeout.Token))[Zone].Faults);
        Assert.Empty(await Network.DelayLineProcessesAsync(Zone, timeout.Token));
    }

    [Fact]
    public async Task Degrade_Twice_ReplacesTheFirst_OneDelayLine()
    {
        using var timeout = new CancellationTokenSource(TestTimeout);
        try
        {
            await Network.DegradeAsync(Zone, 300, 0, 0, timeout.Token);
            var second = await Network.DegradeAsync(Zone, 100, 0, 0, timeout.Token);
            var delayed = await MedianRoundTripAsync(timeout.Token);

            Assert.InRange(delayed, 95, 159.999);
            if (second.Mechanism == NetworkDegradationMechanism.DelayLine)
            {
                Assert.Single(await Network.ZoneProcessesAsync(Zone, timeout.Token));
            }
        }
        finally
        {
            await Network.RestoreAsync(Zone, CancellationToken.None);
        }
    }

    private async Task<double> MedianRoundTripAsync(CancellationToken cancellationToken)
    {
        var trips = await RoundTripsAsync(9, cancellationToken);
        return trips.Order().ElementAt(trips.Count / 2);
    }

    // Round trips in ms of pings 50 ms apart; every one must be answered.
    private async Task<IReadOnlyList<double>> RoundTripsAsync(int count, CancellationToken cancellationToken)
    {
        var trips = new List<double>();
        for (var i = 0; i < count; i++)
        {
            var trip = await PingAsync(TimeSpan.FromSeconds(2), cancellationToken);
            Assert.True(trip is not null, $"ping {i + 1} of {count} to {Address} not answered");
            trips.Add(trip.Value);
            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }

        return trips;
    }

    private async Task<double?> PingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var ping = new Ping();
        var started = Stopwatch.GetTimestamp();
        var reply = await ping.SendPingAsync(IPAddress.Parse(Address), timeout, cancellationToken: cancellationToken);
        return reply.Status == IPStatus.Success ? Stopwatch.GetElapsedTime(started).TotalMilliseconds : null;
    }
}

/// <summary>`scale lab down` while a zone is degraded: its delay line dies with the zone's namespace (base port 33100).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DelayLineRemoveTests
{
    [Fact]
    public async Task Remove_WhileDelayed_NoDelayLineLeft()
    {
        Assert.True(Environment.UserName == "root", "the lab's network namespaces need root");
        await LabNetworkAt33000.EnsureIptablesAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var network = LabNetworkAt33000.Create(33100);
        var queue = new NetfilterDegradation(network.Layout, SystemCommandRunner.Instance, []).Queue(1);
        try
        {
            await network.EnsureAsync(timeout.Token);
            var degradation = await network.DegradeAsync(1, 50, 5, 1, timeout.Token);
            if (degradation.Mechanism == NetworkDegradationMechanism.DelayLine)
            {
                Assert.Contains(DelayLinePids(queue), pid => pid > 0);
            }
        }
        finally
        {
            await network.RemoveAsync(CancellationToken.None);
        }

        Assert.Empty(DelayLinePids(queue));
        var namespaces = await ProgramRunner.RunAsync("ip", ["netns", "list"], timeout.Token);
        Assert.DoesNotContain("scl33100-", namespaces, StringComparison.Ordinal);
    }

    private static List<int> DelayLinePids(ushort queue) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => (Pid: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0, Folder: d))
            .Where(p => p.Pid > 0 && DelayLine.IsDelayLine(ReadCommandLine(p.Folder), queue))
            .Select(p => p.Pid)
            .ToList();

    private static string[] ReadCommandLine(string folder)
    {
        try
        {
            return File.ReadAllText(Path.Join(folder, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return [];
        }
    }
}
