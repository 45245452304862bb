using Scale.Lab.Network;

namespace Scale.Lab.Tests.Clients;

/// <summary>
/// The lab's network client against recorded iproute2/tc answers: the exact commands it issues to make, break, heal
/// and remove the zones' network, and what it reads back. Nothing here touches this machine's network.
/// </summary>
public sealed class LabNetworkTests
{
    private const string Mac = LabNetwork.NowhereMac;

    private static readonly LabNetworkLayout Layout = new(27000, ["a", "b", "c"]);

    private static (LabNetwork Network, RecordingCommandRunner Commands) Create(Action<RecordingCommandRunner> script)
    {
        var commands = new RecordingCommandRunner();
        script(commands);
        return (new LabNetwork(Layout, commands), commands);
    }

    [Fact]
    public void Layout_BasePort27000_NamesAndAddressesAsDocumented()
    {
        // 27000 = 0x6978: 10.105.120.0/24.
        Assert.Equal("10.105.120", Layout.Subnet);
        Assert.Equal("10.105.120.0/24", Layout.SubnetCidr);
        Assert.Equal("scl27000-br", Layout.Bridge);
        Assert.Equal("10.105.120.1", Layout.HostAddress);
        Assert.Equal(["scl27000-a", "scl27000-b", "scl27000-c"], Enumerable.Range(0, 3).Select(Layout.Namespace));
        Assert.Equal(["10.105.120.11", "10.105.120.12", "10.105.120.13"], Enumerable.Range(0, 3).Select(Layout.ZoneAddress));
        Assert.True(Layout.Bridge.Length <= 15, "interface names are at most 15 bytes");
    }

    [Theory]
    [InlineData(Recorded.NetnsListNone)]
    [InlineData(Recorded.NetnsListEmpty)]
    public async Task EnsureAsync_EmptyMachine_CreatesBridgeNamespacesAndVethPairsInOrder(string netnsList)
    {
        var (network, commands) = Create(c => c
            .Answer("ip -4 route show table all", Recorded.RoutesWithoutLab)
            .Answer("ip -j link show", Recorded.LinksWithoutLab)
            .Answer("ip -j netns list", netnsList)
            // The namespace was just made: there is no eth0 in it to delete.
            .Fail("ip -n scl27000-a link del eth0", 1, Recorded.CannotFindEth0)
            .Fail("ip -n scl27000-b link del eth0", 1, Recorded.CannotFindEth0)
            .Fail("ip -n scl27000-c link del eth0", 1, Recorded.CannotFindEth0));

        await network.EnsureAsync(CancellationToken.None);

        string[] expected =
        [
            "ip -4 route show table all",
            "ip -j link show",
            "ip link add scl27000-br type bridge",
            "ip addr replace 10.105.120.1/24 dev scl27000-br",
            "ip link set scl27000-br up",
            "ip -j netns list",
            .. Zone("a", "10.105.120.11"),
            .. Zone("b", "10.105.120.12"),
            .. Zone("c", "10.105.120.13"),
        ];
        Assert.Equal(expected, commands.Lines);

        static string[] Zone(string zone, string address) =>
        [
            $"ip netns add scl27000-{zone}",
            $"ip -n scl27000-{zone} link del eth0",
            $"ip link add scl27000-{zone} type veth peer name eth0 netns scl27000-{zone}",
            $"ip link set scl27000-{zone} master scl27000-br",
            $"ip -n scl27000-{zone} addr replace {address}/24 dev eth0",
            $"ip -n scl27000-{zone} link set lo up",
            $"ip -n scl27000-{zone} link set eth0 up",
            $"ip link set scl27000-{zone} up",
        ];
    }

    [Fact]
    public async Task EnsureAsync_EverythingExists_CreatesNothingOnlySetsLinksUp()
    {
        var (network, commands) = Create(c => c
            .Answer("ip -4 route show table all", Recorded.RoutesWithLab)
            .Answer("ip -j link show", Recorded.LinksWithLab)
            .Answer("ip -j netns list", Recorded.NetnsListLab));

        await network.EnsureAsync(CancellationToken.None);

        string[] expected =
        [
            "ip -4 route show table all",
            "ip -j link show",
            // Addresses are (re)asserted with `replace`, harmless when present: an `up` killed between two steps heals.
            "ip addr replace 10.105.120.1/24 dev scl27000-br",
            "ip link set scl27000-br up",
            "ip -j netns list",
            "ip -n scl27000-a addr replace 10.105.120.11/24 dev eth0", "ip -n scl27000-a link set lo up", "ip -n scl27000-a link set eth0 up", "ip link set scl27000-a up",
            "ip -n scl27000-b addr replace 10.105.120.12/24 dev eth0", "ip -n scl27000-b link set lo up", "ip -n scl27000-b link set eth0 up", "ip link set scl27000-b up",
            "ip -n scl27000-c addr replace 10.105.120.13/24 dev eth0", "ip -n scl27000-c link set lo up", "ip -n scl27000-c link set eth0 up", "ip link set scl27000-c up",
        ];
        Assert.Equal(expected, commands.Lines);
        Assert.DoesNotContain(commands.Calls, c => c.Arguments.Contains("add") || c.Arguments.Contains("del"));
    }

    [Fact]
    public async Task EnsureAsync_OneZoneLeftFromACrash_CreatesOnlyWhatIsMissing()
    {
        // Zone a's namespace survived (with its eth0), its host link and the other zones did not; the bridge is there.
        var (network, commands) = Create(c => c
            .Answer("ip -4 route show table all", Recorded.RoutesWithLab)
            .Answer("ip -j link show", Recorded.LinksBridgeLeftAndOtherLab)
            .Answer("ip -j netns list", Recorded.NetnsListZoneAOnly));

        await network.EnsureAsync(CancellationToken.None);

        var changes = commands.Lines.Where(l => l.Contains(" add ", StringComparison.Ordinal) || l.Contains(" del ", StringComparison.Ordinal)).ToList();
        string[] expected =
        [
            // The kept namespace's eth0 would block the new pair's name: deleted first.
            "ip -n scl27000-a link del eth0",
            "ip link add scl27000-a type veth peer name eth0 netns scl27000-a",
            "ip netns add scl27000-b",
            "ip -n scl27000-b link del eth0",
            "ip link add scl27000-b type veth peer name eth0 netns scl27000-b",
            "ip netns add scl27000-c",
            "ip -n scl27000-c link del eth0",
            "ip link add scl27000-c type veth peer name eth0 netns scl27000-c",
        ];
        Assert.Equal(expected, changes);
        Assert.DoesNotContain("ip link add scl27000-br type bridge", commands.Lines);
        Assert.DoesNotContain("ip netns add scl27000-a", commands.Lines);
        // Another lab's links are none of this one's business.
        Assert.DoesNotContain(commands.Lines, l => l.Contains("scl31000", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EnsureAsync_SubnetRoutedOnAnotherDevice_ThrowsNamingSubnetAndBasePort_ChangesNothing()
    {
        var (network, commands) = Create(c => c
            .Answer("ip -4 route show table all", Recorded.RoutesSubnetTaken)
            .Answer("ip -j link show", Recorded.LinksWithoutLab)
            .Answer("ip -j netns list", Recorded.NetnsListNone));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => network.EnsureAsync(CancellationToken.None));

        Assert.Contains("10.105.120.0/24", error.Message, StringComparison.Ordinal);
        Assert.Contains("--base-port", error.Message, StringComparison.Ordinal);
        Assert.Contains("docker1", error.Message, StringComparison.Ordinal);
        Assert.Equal(["ip -4 route show table all"], commands.Lines);
    }

    [Fact]
    public async Task EnsureAsync_CommandFails_ThrowsWithTheCommandAndItsOutput()
    {
        var (network, _) = Create(c => c
            .Answer("ip -4 route show table all", Recorded.RoutesWithoutLab)
            .Answer("ip -j link show", Recorded.LinksWithoutLab)
            .Answer("ip -j netns list", Recorded.NetnsListNone)
            .Fail("ip link add scl27000-br", 2, "RTNETLINK answers: Operation not permitted\n"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => network.EnsureAsync(CancellationToken.None));

        Assert.Contains("ip link add scl27000-br type bridge", error.Message, StringComparison.Ordinal);
        Assert.Contains("Operation not permitted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveAsync_LabUp_DeletesNamespacesThenOnlyTheLinksStillPresent()
    {
        // After `ip netns del` the veth pairs are gone with their namespaces; the bridge (and another lab) remain.
        var (network, commands) = Create(c => c
            .Answer("ip -j netns list", Recorded.NetnsListLab)
            .Answer("ip netns pids", Recorded.NetnsPidsNone)
            .Answer("ip -j link show", Recorded.LinksBridgeLeftAndOtherLab));

        await network.RemoveAsync(CancellationToken.None);

        string[] expected =
        [
            "ip -j netns list",
            "ip netns pids scl27000-a", "ip netns del scl27000-a",
            "ip netns pids scl27000-b", "ip netns del scl27000-b",
            "ip netns pids scl27000-c", "ip netns del scl27000-c",
            "ip -j link show",
            "ip link del scl27000-br",
        ];
        Assert.Equal(expected, commands.Lines);
    }

    [Fact]
    public async Task RemoveAsync_OnlyHostLinksLeft_DeletesThemAndTheBridge_NoNamespaceCommands()
    {
        var (network, commands) = Create(c => c
            .Answer("ip -j netns list", Recorded.NetnsListEmpty)
            .Answer("ip -j link show", Recorded.LinksWithLab));

        await network.RemoveAsync(CancellationToken.None);

        string[] expected =
        [
            "ip -j netns list",
            "ip -j link show",
            "ip link del scl27000-a",
            "ip link del scl27000-b",
            "ip link del scl27000-c",
            "ip link del scl27000-br",
        ];
        Assert.Equal(expected, commands.Lines);
    }

    [Theory]
    [InlineData(Recorded.NetnsListNone)]
    [InlineData(Recorded.NetnsListEmpty)]
    public async Task RemoveAsync_NothingExists_OnlyLooks(string netnsList)
    {
        var (network, commands) = Create(c => c
            .Answer("ip -j netns list", netnsList)
            .Answer("ip -j link show", Recorded.LinksWithoutLab)
            .Fail("ip netns pids", 1, Recorded.NetnsPidsNoNamespace));

        await network.RemoveAsync(CancellationToken.None);

        Assert.Equal(["ip -j netns list", "ip -j link show"], commands.Lines);
    }

    [Fact]
    public async Task RemoveAsync_DeleteFails_DoesNotThrow()
    {
        // `down` after a half-made `up`: a delete that fails must not stop the rest of the cleaning.
        var (network, commands) = Create(c => c
            .Answer("ip -j netns list", Recorded.NetnsListLab)
            .Answer("ip netns pids", Recorded.NetnsPidsNone)
            .Fail("ip netns del", 1, "Cannot remove namespace file \"/run/netns/scl27000-a\": Device or resource busy\n")
            .Answer("ip -j link show", Recorded.LinksWithLab)
            .Fail("ip link del", 1, "Cannot find device \"scl27000-a\"\n"));

        await network.RemoveAsync(CancellationToken.None);

        Assert.Equal(3, commands.LinesStartingWith("ip netns del").Count);
        Assert.Equal(4, commands.LinesStartingWith("ip link del").Count);
    }

    [Fact]
    public async Task ZoneProcessesAsync_RecordedPids_ParsesThem_NoNamespaceIsNone()
    {
        var (network, commands) = Create(c => c
            .Answer("ip netns pids scl27000-a", Recorded.NetnsPidsOne)
            .Answer("ip netns pids scl27000-b", Recorded.NetnsPidsNone)
            .Fail("ip netns pids scl27000-c", 1, Recorded.NetnsPidsNoNamespace));

        Assert.Equal([24452], await network.ZoneProcessesAsync(0, CancellationToken.None));
        Assert.Empty(await network.ZoneProcessesAsync(1, CancellationToken.None));
        Assert.Empty(await network.ZoneProcessesAsync(2, CancellationToken.None));
        Assert.Equal(["ip netns pids scl27000-a", "ip netns pids scl27000-b", "ip netns pids scl27000-c"], commands.Lines);
    }

    [Fact]
    public async Task PartitionAsync_ZoneAFromZones_PoisonsExactlyTheOtherZonesAddressesBothWays()
    {
        var (network, commands) = Create(_ => { });

        await network.PartitionAsync(0, PartitionScope.Zones, CancellationToken.None);

        string[] expected =
        [
            $"ip -n scl27000-a neigh replace 10.105.120.12 lladdr {Mac} dev eth0 nud permanent",
            $"ip -n scl27000-a neigh replace 10.105.120.13 lladdr {Mac} dev eth0 nud permanent",
            $"ip -n scl27000-b neigh replace 10.105.120.11 lladdr {Mac} dev eth0 nud permanent",
            $"ip -n scl27000-c neigh replace 10.105.120.11 lladdr {Mac} dev eth0 nud permanent",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), commands.Lines.Order(StringComparer.Ordinal));
        Assert.Equal("02:00:5c:a1:de:ad", Mac);
    }

    [Fact]
    public async Task PartitionAsync_ZoneAFromAll_AlsoPoisonsTheHostInAAndAOnTheBridge()
    {
        var (network, commands) = Create(_ => { });

        await network.PartitionAsync(0, PartitionScope.All, CancellationToken.None);

        string[] expected =
        [
            $"ip -n scl27000-a neigh replace 10.105.120.12 lladdr {Mac} dev eth0 nud permanent",
            $"ip -n scl27000-a neigh replace 10.105.120.13 lladdr {Mac} dev eth0 nud permanent",
            $"ip -n scl27000-b neigh replace 10.105.120.11 lladdr {Mac} dev eth0 nud permanent",
            $"ip -n scl27000-c neigh replace 10.105.120.11 lladdr {Mac} dev eth0 nud permanent",
            $"ip -n scl27000-a neigh replace 10.105.120.1 lladdr {Mac} dev eth0 nud permanent",
            $"ip neigh replace 10.105.120.11 lladdr {Mac} dev scl27000-br nud permanent",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), commands.Lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task PartitionAsync_ZoneB_PoisonsAAndCInBAndBInThem()
    {
        var (network, commands) = Create(_ => { });

        await network.PartitionAsync(1, PartitionScope.Zones, CancellationToken.None);

        string[] expected =
        [
            $"ip -n scl27000-b neigh replace 10.105.120.11 lladdr {Mac} dev eth0 nud permanent",
            $"ip -n scl27000-b neigh replace 10.105.120.13 lladdr {Mac} dev eth0 nud permanent",
            $"ip -n scl27000-a neigh replace 10.105.120.12 lladdr {Mac} dev eth0 nud permanent",
            $"ip -n scl27000-c neigh replace 10.105.120.12 lladdr {Mac} dev eth0 nud permanent",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), commands.Lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task PartitionAsync_IpFails_Throws()
    {
        var (network, _) = Create(c => c.Fail("ip -n scl27000-a neigh replace", 2, "RTNETLINK answers: No such device\n"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => network.PartitionAsync(0, PartitionScope.Zones, CancellationToken.None));

        Assert.Contains("No such device", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealAsync_OnePoisonedOneLearntEntry_DeletesOnlyThePoisonedOnes()
    {
        // Zone a was cut off from b only (by hand, say): in a, .12 is poisoned and .13 learnt; in b, .11 poisoned;
        // in c, .11 learnt; on the bridge, everything learnt.
        var (network, commands) = Create(c => c
            .Answer("ip -n scl27000-a -j neigh show dev eth0", Recorded.NeighZoneAPoisonedB)
            .Answer("ip -n scl27000-b -j neigh show dev eth0", Recorded.NeighZoneBPoisonedA)
            .Answer("ip -n scl27000-c -j neigh show dev eth0", Recorded.NeighZoneCLearntA)
            .Answer("ip -j neigh show dev scl27000-br", Recorded.NeighBridgeLearnt));

        await network.HealAsync(0, CancellationToken.None);

        var deletes = commands.Lines.Where(l => l.Contains(" neigh del ", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        Assert.Equal(
            ["ip -n scl27000-a neigh del 10.105.120.12 dev eth0", "ip -n scl27000-b neigh del 10.105.120.11 dev eth0"],
            deletes);
        Assert.DoesNotContain(commands.Lines, l => l.Contains("neigh replace", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HealAsync_PartitionedFromAll_AlsoDeletesTheBridgeEntry()
    {
        var (network, commands) = Create(c => c
            .Answer("ip -n scl27000-a -j neigh show dev eth0", Recorded.NeighZoneAPoisonedB)
            .Answer("ip -n scl27000-b -j neigh show dev eth0", Recorded.NeighZoneBPoisonedA)
            .Answer("ip -n scl27000-c -j neigh show dev eth0", Recorded.NeighZoneCLearntA)
            .Answer("ip -j neigh show dev scl27000-br", Recorded.NeighBridgePoisonedA));

        await network.HealAsync(0, CancellationToken.None);

        Assert.Contains("ip neigh del 10.105.120.11 dev scl27000-br", commands.Lines);
        Assert.Equal(3, commands.Lines.Count(l => l.Contains(" neigh del ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task HealAsync_NothingPoisonedOrNoNamespaces_DeletesNothing_DoesNotThrow()
    {
        var (network, commands) = Create(c => c
            .Answer("ip -n scl27000-a -j neigh show dev eth0", Recorded.NeighEmpty)
            .Fail("ip -n scl27000-b -j neigh show dev eth0", 255, Recorded.NoSuchNamespaceNeigh)
            .Answer("ip -n scl27000-c -j neigh show dev eth0", Recorded.NeighZoneCLearntA)
            .Fail("ip -j neigh show dev scl27000-br", 1, "Cannot find device \"scl27000-br\"\n"));

        await network.HealAsync(0, CancellationToken.None);

        Assert.DoesNotContain(commands.Lines, l => l.Contains(" neigh del ", StringComparison.Ordinal));
        Assert.All(commands.Lines, l => Assert.Contains("-j neigh show", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DegradeAsync_DelayJitterLoss_BuildsTheNetemCommand()
    {
        var (network, commands) = Create(_ => { });

        await network.DegradeAsync(0, 100, 10, 1, CancellationToken.None);

        Assert.Equal(["tc -n scl27000-a qdisc replace dev eth0 root netem delay 100ms 10ms loss 1%"], commands.Lines);
    }

    [Theory]
    [InlineData(2, 250, 0, 0, "tc -n scl27000-c qdisc replace dev eth0 root netem delay 250ms")]
    [InlineData(1, 0, 5, 0.5, "tc -n scl27000-b qdisc replace dev eth0 root netem loss 0.5%")]
    [InlineData(0, 12.5, 2.5, 0, "tc -n scl27000-a qdisc replace dev eth0 root netem delay 12.5ms 2.5ms")]
    public async Task DegradeAsync_PartsLeftOut_OnlyTheGivenOnes(int zone, double delay, double jitter, double loss, string expected)
    {
        var (network, commands) = Create(_ => { });

        await network.DegradeAsync(zone, delay, jitter, loss, CancellationToken.None);

        Assert.Equal([expected], commands.Lines);
    }

    [Fact]
    public async Task DegradeAsync_KernelWithoutNetem_NoIptablesForTheDelayLine_ThrowsNetworkFaultUnsupported()
    {
        // Without netem the lab falls back to iptables and its delay line (LabNetworkDelayLineTests); without those either, it refuses.
        var (network, _) = Create(c => c
            .Fail("tc", 2, Recorded.TcNetemUnknown)
            .Fail("ip netns exec scl27000-a iptables", 1, "exec of \"iptables\" failed: No such file or directory\n"));

        var error = await Assert.ThrowsAsync<NetworkFaultUnsupportedException>(() => network.DegradeAsync(0, 100, 10, 1, CancellationToken.None));

        Assert.Contains("netem", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DegradeAsync_OtherTcError_ThrowsInvalidOperationWithTheOutput()
    {
        var (network, _) = Create(c => c.Fail("tc", 1, "Cannot find device \"eth0\"\n"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => network.DegradeAsync(1, 100, 0, 0, CancellationToken.None));

        Assert.Contains("Cannot find device", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoreAsync_NoNetem_DeletesRootQdisc_DoesNotThrow()
    {
        var (network, commands) = Create(c => c.Fail("tc", 2, Recorded.TcNothingToDelete));

        await network.RestoreAsync(2, CancellationToken.None);

        // Then the delay line's rules and process, where netem is missing (LabNetworkDelayLineTests).
        Assert.Equal("tc -n scl27000-c qdisc del dev eth0 root", commands.Lines[0]);
    }

    [Fact]
    public async Task SetZoneLinkAsync_DownThenUp_BothEndsOfThePair()
    {
        var (network, commands) = Create(_ => { });

        await network.SetZoneLinkAsync(1, up: false, CancellationToken.None);
        await network.SetZoneLinkAsync(1, up: true, CancellationToken.None);

        string[] expected =
        [
            "ip link set scl27000-b down", "ip -n scl27000-b link set eth0 down",
            "ip link set scl27000-b up", "ip -n scl27000-b link set eth0 up",
        ];
        Assert.Equal(expected, commands.Lines);
    }

    [Fact]
    public async Task DescribeAsync_RecordedFaults_ReportsExistenceLinksPartitionsAndNetem()
    {
        // a: up, cut off from b and c, and from the load balancer; b: its eth0 down, netem on it; c: no namespace.
        var (network, _) = Create(c => c
            .Answer("ip -j netns list", """[{"name":"scl27000-a","id":0},{"name":"scl27000-b","id":1}]""")
            .Answer("ip -j neigh show dev scl27000-br", Recorded.NeighBridgePoisonedA)
            .Answer("ip -j link show dev scl27000-a", Recorded.HostLinkUp)
            .Answer("ip -j link show dev scl27000-b", Recorded.HostLinkUp.Replace("\"ifname\":\"scl27000-a\"", "\"ifname\":\"scl27000-b\"", StringComparison.Ordinal))
            .Fail("ip -j link show dev scl27000-c", 1, Recorded.NoSuchDevice)
            .Answer("ip -n scl27000-a -j link show dev eth0", Recorded.ZoneLinkUp)
            .Answer("ip -n scl27000-b -j link show dev eth0", Recorded.ZoneLinkDown)
            .Answer("ip -n scl27000-a -j neigh show dev eth0",
                $$"""[{"dst":"10.105.120.12","lladdr":"{{Mac}}","state":["PERMANENT"]},{"dst":"10.105.120.1","lladdr":"ce:c1:2b:c8:90:19","state":["REACHABLE"]},{"dst":"10.105.120.13","lladdr":"{{Mac}}","state":["PERMANENT"]}]""")
            .Answer("ip -n scl27000-b -j neigh show dev eth0", Recorded.NeighEmpty)
            .Answer("tc -n scl27000-a qdisc show dev eth0", Recorded.QdiscNoqueue)
            .Answer("tc -n scl27000-b qdisc show dev eth0", Recorded.QdiscNetem));

        var zones = await network.DescribeAsync(CancellationToken.None);

        Assert.Equal(["a", "b", "c"], zones.Select(z => z.Zone));
        Assert.Equal(["scl27000-a", "scl27000-b", "scl27000-c"], zones.Select(z => z.Namespace));
        Assert.Equal(["10.105.120.11", "10.105.120.12", "10.105.120.13"], zones.Select(z => z.Address));
        Assert.Equal([true, true, false], zones.Select(z => z.NamespaceExists));
        Assert.Equal([true, false, false], zones.Select(z => z.LinkUp));

        var a = zones[0].Faults;
        Assert.Equal(2, a.Count);
        Assert.StartsWith("partitioned from ", a[0], StringComparison.Ordinal);
        Assert.Contains("zone b", a[0], StringComparison.Ordinal);
        Assert.Contains("zone c", a[0], StringComparison.Ordinal);
        Assert.DoesNotContain("host", a[0], StringComparison.Ordinal);
        Assert.Equal("unreachable from the load balancer", a[1]);
        Assert.DoesNotContain(a, f => f.StartsWith("netem", StringComparison.Ordinal));

        var b = zones[1].Faults;
        Assert.Equal(2, b.Count);
        Assert.StartsWith("netem: ", b[0], StringComparison.Ordinal);
        Assert.Contains("delay 100ms", b[0], StringComparison.Ordinal);
        Assert.Contains("loss 1%", b[0], StringComparison.Ordinal);
        Assert.Equal("link down (zone dark)", b[1]);

        Assert.Empty(zones[2].Faults);
    }

    [Fact]
    public async Task DescribeAsync_PartitionedFromTheHost_NamesTheHost()
    {
        var (network, _) = Create(c => c
            .Answer("ip -j netns list", Recorded.NetnsListLab)
            .Answer("ip -j neigh show dev scl27000-br", Recorded.NeighBridgeLearnt)
            .Answer("ip -j link show dev", Recorded.HostLinkUp)
            .Answer("ip -n scl27000-a -j link show dev eth0", Recorded.ZoneLinkUp)
            .Answer("ip -n scl27000-b -j link show dev eth0", Recorded.ZoneLinkUp)
            .Answer("ip -n scl27000-c -j link show dev eth0", Recorded.ZoneLinkUp)
            .Answer("ip -n scl27000-a -j neigh show dev eth0", Recorded.NeighEmpty)
            .Answer("ip -n scl27000-b -j neigh show dev eth0", Recorded.NeighEmpty)
            .Answer("ip -n scl27000-c -j neigh show dev eth0", $$"""[{"dst":"10.105.120.1","lladdr":"{{Mac}}","state":["PERMANENT"]}]""")
            .Answer("tc", Recorded.QdiscNoqueue));

        var zones = await network.DescribeAsync(CancellationToken.None);

        Assert.All(zones, z => Assert.True(z.NamespaceExists && z.LinkUp));
        Assert.Empty(zones[0].Faults);
        Assert.Empty(zones[1].Faults);
        Assert.Equal(["partitioned from the host (load balancer, monitoring)"], zones[2].Faults);
    }

    [Fact]
    public async Task DescribeAsync_NoLab_EveryZoneAbsent_AsksNothingInsideNamespaces()
    {
        var (network, commands) = Create(c => c
            .Answer("ip -j netns list", Recorded.NetnsListNone)
            .Fail("ip -j neigh show dev scl27000-br", 1, "Cannot find device \"scl27000-br\"\n"));

        var zones = await network.DescribeAsync(CancellationToken.None);

        Assert.All(zones, z =>
        {
            Assert.False(z.NamespaceExists);
            Assert.False(z.LinkUp);
            Assert.Empty(z.Faults);
        });
        Assert.Equal(["ip -j netns list", "ip -j neigh show dev scl27000-br"], commands.Lines);
    }
}
