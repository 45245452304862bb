using Scale.Lab.Network;

namespace Scale.Lab.Tests.Clients;

/// <summary>
/// Latency and loss where the kernel has no netem, against recorded iptables answers: the exact commands the lab
/// issues in a zone's namespace (rules, the delay line's start and stop) and what it reads back. Nothing here
/// touches this machine's network.
/// </summary>
public sealed class LabNetworkDelayLineTests
{
    private const string InA = "ip netns exec scl27000-a";
    private const string Iptables = InA + " iptables -w -t mangle";
    private const string Queues = InA + " cat /proc/net/netfilter/nfnetlink_queue";

    // 16 × (27000 mod 4096) + zone: zone a's queue.
    private const string QueueA = "38784";

    private static readonly LabNetworkLayout Layout = new(27000, ["a", "b", "c"]);

    private static (LabNetwork Network, RecordingCommandRunner Commands) Create(Action<RecordingCommandRunner> script)
    {
        var commands = new RecordingCommandRunner();
        script(commands.Fail("tc", 2, Recorded.TcNetemUnknown));
        return (new LabNetwork(Layout, commands, ["dotnet", "/opt/scale/scale.dll"]), commands);
    }

    [Fact]
    public async Task DegradeAsync_NoNetem_LossThenDelayLineThenTheJump_InOrder()
    {
        var (network, commands) = Create(c => c
            .Fail($"{Iptables} -S scale-degrade", 1, RecordedIptables.NoChain)
            .Answer($"{InA} dotnet", RecordedIptables.DelayLineStarted));

        var degradation = await network.DegradeAsync(0, 100, 10, 1, CancellationToken.None);

        string[] expected =
        [
            "tc -n scl27000-a qdisc replace dev eth0 root netem delay 100ms 10ms loss 1%",
            // Whatever an earlier degradation left goes first: there is none.
            $"{Iptables} -S scale-degrade",
            Queues,
            $"{Iptables} -N scale-degrade",
            $"{Iptables} -A scale-degrade -m statistic --mode random --probability 0.01 -j DROP",
            // The delay line binds its queue before any packet is sent there.
            $"{InA} dotnet /opt/scale/scale.dll lab delay-line --queue {QueueA} --delay-ms 100 --jitter-ms 10 --detach",
            $"{Iptables} -A scale-degrade -m comment --comment delay 100ms jitter 10ms -j NFQUEUE --queue-num {QueueA} --queue-bypass",
            // Last: only a complete chain sees packets.
            $"{Iptables} -A OUTPUT -o eth0 -j scale-degrade",
        ];
        Assert.Equal(expected, commands.Lines);
        Assert.Equal(NetworkDegradationMechanism.DelayLine, degradation.Mechanism);
        Assert.Equal("delay-line", degradation.MechanismName);
        Assert.Equal((100.0, 10.0, 1.0), (degradation.DelayMs, degradation.JitterMs, degradation.LossPercent));
        Assert.Contains("pid 4242", degradation.Detail, StringComparison.Ordinal);
        Assert.Contains("1% at random", degradation.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DegradeAsync_NoNetem_LossOnly_NoDelayLine()
    {
        var (network, commands) = Create(c => c.Fail($"{Iptables} -S scale-degrade", 1, RecordedIptables.NoChain));

        var degradation = await network.DegradeAsync(2, 0, 5, 30, CancellationToken.None);

        Assert.DoesNotContain(commands.Lines, l => l.Contains("delay-line", StringComparison.Ordinal) || l.Contains("NFQUEUE", StringComparison.Ordinal));
        Assert.Contains("ip netns exec scl27000-c iptables -w -t mangle -A scale-degrade -m statistic --mode random --probability 0.3 -j DROP", commands.Lines);
        Assert.Equal("ip netns exec scl27000-c iptables -w -t mangle -A OUTPUT -o eth0 -j scale-degrade", commands.Lines[^1]);
        Assert.Equal((0.0, 0.0, 30.0), (degradation.DelayMs, degradation.JitterMs, degradation.LossPercent));
    }

    [Fact]
    public async Task DegradeAsync_WithNetem_NetemOnly_ReportsIt()
    {
        var commands = new RecordingCommandRunner();
        var network = new LabNetwork(Layout, commands, ["dotnet", "/opt/scale/scale.dll"]);

        var degradation = await network.DegradeAsync(1, 100, 10, 1, CancellationToken.None);

        Assert.Equal(["tc -n scl27000-b qdisc replace dev eth0 root netem delay 100ms 10ms loss 1%"], commands.Lines);
        Assert.Equal(NetworkDegradationMechanism.Netem, degradation.Mechanism);
        Assert.Equal("netem", degradation.MechanismName);
        Assert.Equal((100.0, 10.0, 1.0), (degradation.DelayMs, degradation.JitterMs, degradation.LossPercent));
    }

    [Fact]
    public async Task DegradeAsync_NoNetemNoIptables_ThrowsNetworkFaultUnsupported_SayingWhatToInstall()
    {
        var (network, _) = Create(c => c.Fail(Iptables, 1, RecordedIptables.NotInstalled));

        var error = await Assert.ThrowsAsync<NetworkFaultUnsupportedException>(() => network.DegradeAsync(0, 100, 10, 1, CancellationToken.None));

        Assert.Contains("apt-get install iptables", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DegradeAsync_NoNetemNoQueueToUserspace_ThrowsNetworkFaultUnsupported_RulesRemoved()
    {
        var (network, commands) = Create(c => c
            .Answer($"{Iptables} -S scale-degrade", new ProgramResult(1, RecordedIptables.NoChain), new ProgramResult(0, "-N scale-degrade\n"))
            .Fail($"{Iptables} -D", 1, RecordedIptables.NoSuchRule)
            .Fail($"{InA} dotnet", DelayLine.UnavailableExitCode, "scale lab delay-line: NFQUEUE 38784: bind: Protocol not supported\n"));

        var error = await Assert.ThrowsAsync<NetworkFaultUnsupportedException>(() => network.DegradeAsync(0, 100, 0, 0, CancellationToken.None));

        Assert.Contains("Protocol not supported", error.Message, StringComparison.Ordinal);
        Assert.Equal([$"{Iptables} -F scale-degrade", $"{Iptables} -X scale-degrade", Queues], commands.Lines.TakeLast(3));
    }

    [Fact]
    public async Task DegradeAsync_DelayLineFails_ThrowsInvalidOperationWithItsOutput()
    {
        var (network, _) = Create(c => c
            .Fail($"{Iptables} -S scale-degrade", 1, RecordedIptables.NoChain)
            .Fail($"{InA} dotnet", 1, "scale lab delay-line: NFQUEUE 38784: bind: Device or resource busy (another delay line holds this queue in this network namespace)\n"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => network.DegradeAsync(0, 100, 0, 0, CancellationToken.None));

        Assert.Contains("another delay line", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoreAsync_DelayLineInPlace_JumpThenChainThenTheDelayLine()
    {
        var (network, commands) = Create(c => c
            .Answer($"{Iptables} -S scale-degrade", RecordedIptables.Chain)
            .Answer($"{Iptables} -D", new ProgramResult(0, ""), new ProgramResult(1, RecordedIptables.NoSuchRule))
            .Answer(Queues, RecordedIptables.QueueBound)
            .Answer($"{InA} dotnet", "stopped 1 delay line(s) on NFQUEUE 38784: pid 4242\n"));

        await network.RestoreAsync(0, CancellationToken.None);

        string[] expected =
        [
            "tc -n scl27000-a qdisc del dev eth0 root",
            $"{Iptables} -S scale-degrade",
            $"{Iptables} -D OUTPUT -o eth0 -j scale-degrade",
            $"{Iptables} -D OUTPUT -o eth0 -j scale-degrade",
            $"{Iptables} -F scale-degrade",
            $"{Iptables} -X scale-degrade",
            Queues,
            $"{InA} dotnet /opt/scale/scale.dll lab delay-line --queue {QueueA} --stop",
        ];
        Assert.Equal(expected, commands.Lines);
    }

    [Fact]
    public async Task RestoreAsync_NothingInPlace_NoChangeNoStop()
    {
        var (network, commands) = Create(c => c
            .Fail("tc", 2, Recorded.TcNothingToDelete)
            .Fail("ip netns exec scl27000-c iptables -w -t mangle -S scale-degrade", 1, RecordedIptables.NoChain));

        await network.RestoreAsync(2, CancellationToken.None);

        string[] expected =
        [
            "tc -n scl27000-c qdisc del dev eth0 root",
            "ip netns exec scl27000-c iptables -w -t mangle -S scale-degrade",
            "ip netns exec scl27000-c cat /proc/net/netfilter/nfnetlink_queue",
        ];
        Assert.Equal(expected, commands.Lines);
    }

    [Fact]
    public async Task DescribeAsync_DelayLineRunning_ShowsDelayAndLoss()
    {
        var network = Describing(RecordedIptables.QueueBound);

        var zones = await network.DescribeAsync(CancellationToken.None);

        Assert.Equal(["delay line (iptables, no netem): loss 30%, delay 100ms ± 10ms"], zones[0].Faults);
        Assert.Empty(zones[1].Faults);
    }

    [Fact]
    public async Task DescribeAsync_DelayLineDead_SaysPacketsPassUndelayed()
    {
        var network = Describing("");

        var zones = await network.DescribeAsync(CancellationToken.None);

        var fault = Assert.Single(zones[0].Faults);
        Assert.Contains("process is gone (NFQUEUE 38784 unbound): packets pass undelayed", fault, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeAsync_ChainWithoutTheJump_NoFault()
    {
        var commands = new RecordingCommandRunner()
            .Answer("ip -j netns list", Recorded.NetnsListLab)
            .Answer("ip -j link show dev", Recorded.HostLinkUp)
            .Answer("ip -n scl27000-a -j link show dev eth0", Recorded.ZoneLinkUp)
            .Answer("tc", Recorded.QdiscNoqueue)
            .Answer(Iptables + " -S", RecordedIptables.Chain);
        var network = new LabNetwork(Layout, commands, ["scale"]);

        var zones = await network.DescribeAsync(CancellationToken.None);

        Assert.Empty(zones[0].Faults);
    }

    [Theory]
    [InlineData(new[] { "/usr/share/dotnet/dotnet", "/x/scale.dll", "lab", "delay-line", "--queue", "3712", "--delay-ms", "100", "--jitter-ms", "0" }, true)]
    [InlineData(new[] { "scale", "lab", "delay-line", "--queue", "3712", "--delay-ms", "100", "--detach" }, true)]
    [InlineData(new[] { "dotnet", "/x/scale.dll", "lab", "delay-line", "--queue", "3712", "--stop" }, false)]
    [InlineData(new[] { "dotnet", "/x/scale.dll", "lab", "delay-line", "--queue", "37120" }, false)]
    [InlineData(new[] { "dotnet", "/x/scale.dll", "lab", "up", "--queue", "3712" }, false)]
    [InlineData(new[] { "grep", "delay-line", "--queue", "3712" }, false)]
    public void IsDelayLine_ByItsCommandLine(string[] words, bool expected)
    {
        Assert.Equal(expected, DelayLine.IsDelayLine(words, 3712));
    }

    [Fact]
    public void Queue_DistinctPerZoneAndBasePort()
    {
        var queues = new[] { 27000, 28000, 31000, 33000, 33100, 64000 }
            .SelectMany(port => Enumerable.Range(0, 3).Select(zone => new NetfilterDegradation(new LabNetworkLayout(port, ["a", "b", "c"]), new RecordingCommandRunner(), []).Queue(zone)))
            .ToList();

        Assert.Equal(queues.Count, queues.Distinct().Count());
        Assert.Equal(38784, new NetfilterDegradation(Layout, new RecordingCommandRunner(), []).Queue(0));
    }

    private static LabNetwork Describing(string queues)
    {
        var commands = new RecordingCommandRunner()
            .Answer("ip -j netns list", Recorded.NetnsListLab)
            .Answer("ip -j link show dev", Recorded.HostLinkUp)
            .Answer("ip -n scl27000-a -j link show dev eth0", Recorded.ZoneLinkUp)
            .Answer("ip -n scl27000-b -j link show dev eth0", Recorded.ZoneLinkUp)
            .Answer("ip -n scl27000-c -j link show dev eth0", Recorded.ZoneLinkUp)
            .Answer("tc", Recorded.QdiscNoqueue)
            .Answer(Iptables + " -S", RecordedIptables.Table)
            .Answer(Queues, queues);
        return new LabNetwork(Layout, commands, ["scale"]);
    }
}

/// <summary>What iptables 1.8.9 (nf_tables, Debian 12) and the kernel printed in a zone's namespace, recorded on the CI machine (queue numbers as the lab at 27000 would have them).</summary>
internal static class RecordedIptables
{
    /// <summary>`iptables -w -t mangle -S scale-degrade` when the chain does not exist (exit code 1).</summary>
    public const string NoChain = "iptables v1.8.9 (nf_tables): chain `scale-degrade' in table `mangle' is incompatible, use 'nft' tool.\n";

    /// <summary>`ip netns exec ns iptables ...` without iptables installed (exit code 1).</summary>
    public const string NotInstalled = "exec of \"iptables\" failed: No such file or directory\n";

    /// <summary>`iptables -w -t mangle -D OUTPUT -o eth0 -j scale-degrade` when the rule is not there (exit code 1, after the first removal).</summary>
    public const string NoSuchRule = "iptables: Bad rule (does a matching rule exist in that chain?).\n";

    /// <summary>What the delay line's --detach printed.</summary>
    public const string DelayLineStarted = "delay line pid 4242 on NFQUEUE 38784: +100 ms ± 10 ms\n";

    /// <summary>`iptables -w -t mangle -S scale-degrade` with loss 30% and a delay line.</summary>
    public const string Chain = """
        -N scale-degrade
        -A scale-degrade -m statistic --mode random --probability 0.29999999981 -j DROP
        -A scale-degrade -m comment --comment "delay 100ms jitter 10ms" -j NFQUEUE --queue-num 38784 --queue-bypass

        """;

    /// <summary>`iptables -w -t mangle -S` with loss 30% and a delay line.</summary>
    public const string Table = """
        -P PREROUTING ACCEPT
        -P INPUT ACCEPT
        -P FORWARD ACCEPT
        -P OUTPUT ACCEPT
        -P POSTROUTING ACCEPT
        -N scale-degrade
        -A OUTPUT -o eth0 -j scale-degrade
        -A scale-degrade -m statistic --mode random --probability 0.29999999981 -j DROP
        -A scale-degrade -m comment --comment "delay 100ms jitter 10ms" -j NFQUEUE --queue-num 38784 --queue-bypass

        """;

    /// <summary>/proc/net/netfilter/nfnetlink_queue with the delay line's queue bound (queue, port id, waiting, copy mode ...).</summary>
    public const string QueueBound = "38784  18590     0 1     0     0     0        0  1\n";
}
