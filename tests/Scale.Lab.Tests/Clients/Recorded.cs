namespace Scale.Lab.Tests.Clients;

/// <summary>
/// What iproute2 (6.1.0, Debian 12) and tc really printed, recorded on the CI machine. Where the lab's names appear,
/// they were either read from a lab left running there (read only: `ip -j link show`, `ip -j netns list`,
/// `ip -4 route show table all`, `ip -j neigh show dev scl27000-br`) or recorded on a throwaway namespace
/// (rec-tmp-q7) with a veth pair (rec-q7h / eth0) on 10.249.250.0/24, deleted afterwards, and the names and addresses
/// then edited to the lab's (27000 → scl27000-*, 10.105.120.0/24). Anything else says where it came from.
/// </summary>
internal static class Recorded
{
    /// <summary>`ip -j netns list` with the lab's three namespaces (read from a running lab; note the kernel's order).</summary>
    public const string NetnsListLab = """[{"name":"scl27000-a","id":0},{"name":"scl27000-c","id":2},{"name":"scl27000-b","id":1}]""";

    /// <summary>`ip -j netns list` with the throwaway namespace and only zone a's, edited from the recording.</summary>
    public const string NetnsListZoneAOnly = """[{"name":"scl27000-a","id":0},{"name":"rec-tmp-q7","id":3}]""";

    /// <summary>
    /// `ip -j netns list` when /run/netns does not exist (no namespace was ever made): iproute2 prints nothing and
    /// exits 0 (ipnetns.c netns_list returns before opening the JSON array).
    /// </summary>
    public const string NetnsListNone = "";

    /// <summary>`ip -j netns list` when /run/netns exists but is empty: an empty JSON array.</summary>
    public const string NetnsListEmpty = "[]\n";

    /// <summary>`ip -j link show` on a machine without the lab: loopback, two ifb devices, the uplink (recorded).</summary>
    public const string LinksWithoutLab =
        """[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00"},{"ifindex":2,"ifname":"ifb0","flags":["BROADCAST","NOARP"],"mtu":1500,"qdisc":"noop","operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":32,"link_type":"ether","address":"32:a9:2a:0b:50:72","broadcast":"ff:ff:ff:ff:ff:ff"},{"ifindex":3,"ifname":"ifb1","flags":["BROADCAST","NOARP"],"mtu":1500,"qdisc":"noop","operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":32,"link_type":"ether","address":"36:0d:48:e2:22:df","broadcast":"ff:ff:ff:ff:ff:ff"},{"ifindex":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1400,"qdisc":"pfifo_fast","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"02:fc:00:00:00:01","broadcast":"ff:ff:ff:ff:ff:ff"}]""";

    /// <summary>`ip -j link show` with the lab's bridge and the host ends of its three veth pairs (read from a running lab).</summary>
    public const string LinksWithLab =
        """[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00"},{"ifindex":2,"ifname":"ifb0","flags":["BROADCAST","NOARP"],"mtu":1500,"qdisc":"noop","operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":32,"link_type":"ether","address":"32:a9:2a:0b:50:72","broadcast":"ff:ff:ff:ff:ff:ff"},{"ifindex":3,"ifname":"ifb1","flags":["BROADCAST","NOARP"],"mtu":1500,"qdisc":"noop","operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":32,"link_type":"ether","address":"36:0d:48:e2:22:df","broadcast":"ff:ff:ff:ff:ff:ff"},{"ifindex":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1400,"qdisc":"pfifo_fast","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"02:fc:00:00:00:01","broadcast":"ff:ff:ff:ff:ff:ff"},{"ifindex":18,"ifname":"scl27000-br","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"5e:10:aa:90:de:a4","broadcast":"ff:ff:ff:ff:ff:ff"},{"ifindex":19,"link_index":2,"ifname":"scl27000-a","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","master":"scl27000-br","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"5e:10:aa:90:de:a4","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0},{"ifindex":20,"link_index":2,"ifname":"scl27000-b","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","master":"scl27000-br","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"a6:6a:cd:9a:76:14","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":1},{"ifindex":21,"link_index":2,"ifname":"scl27000-c","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","master":"scl27000-br","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"aa:d9:b4:a3:fc:85","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":2}]""";

    /// <summary>
    /// `ip -j link show` after the namespaces were deleted (their veth pairs went with them): the bridge is left, and
    /// another lab (base port 31000) has its own bridge and a zone link. Edited from <see cref="LinksWithLab"/>.
    /// </summary>
    public const string LinksBridgeLeftAndOtherLab =
        """[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00"},{"ifindex":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1400,"qdisc":"pfifo_fast","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"02:fc:00:00:00:01","broadcast":"ff:ff:ff:ff:ff:ff"},{"ifindex":18,"ifname":"scl27000-br","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"5e:10:aa:90:de:a4","broadcast":"ff:ff:ff:ff:ff:ff"},{"ifindex":30,"ifname":"scl31000-br","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"5e:10:aa:90:de:b5","broadcast":"ff:ff:ff:ff:ff:ff"},{"ifindex":31,"link_index":2,"ifname":"scl31000-a","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","master":"scl31000-br","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"5e:10:aa:90:de:b6","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":5}]""";

    /// <summary>`ip -4 route show table all` with the lab up (read from a running lab on the CI machine).</summary>
    public const string RoutesWithLab = """
        default via 192.0.2.1 dev eth0 
        10.105.120.0/24 dev scl27000-br proto kernel scope link src 10.105.120.1 
        192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2 
        local 10.105.120.1 dev scl27000-br table local proto kernel scope host src 10.105.120.1 
        broadcast 10.105.120.255 dev scl27000-br table local proto kernel scope link src 10.105.120.1 
        local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 
        local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 
        broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1 
        local 192.0.2.2 dev eth0 table local proto kernel scope host src 192.0.2.2 
        broadcast 192.0.2.255 dev eth0 table local proto kernel scope link src 192.0.2.2 

        """;

    /// <summary>`ip -4 route show table all` without the lab (the lab's lines removed from <see cref="RoutesWithLab"/>).</summary>
    public const string RoutesWithoutLab = """
        default via 192.0.2.1 dev eth0 
        192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2 
        local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 
        local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 
        broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1 
        local 192.0.2.2 dev eth0 table local proto kernel scope host src 192.0.2.2 
        broadcast 192.0.2.255 dev eth0 table local proto kernel scope link src 192.0.2.2 

        """;

    /// <summary>
    /// `ip -4 route show table all` where something else (here a container bridge, docker1) already has the lab's
    /// subnet: the recorded lines of the throwaway veth (10.249.250.0/24 dev rec-q7h) with device and subnet edited.
    /// </summary>
    public const string RoutesSubnetTaken = """
        default via 192.0.2.1 dev eth0 
        10.105.120.0/24 dev docker1 proto kernel scope link src 10.105.120.1 linkdown 
        192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2 
        local 10.105.120.1 dev docker1 table local proto kernel scope host src 10.105.120.1 
        broadcast 10.105.120.255 dev docker1 table local proto kernel scope link src 10.105.120.1 linkdown 
        local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 

        """;

    /// <summary>`ip -j link show dev scl27000-a` (the host end of a veth pair, up), recorded on rec-q7h.</summary>
    public const string HostLinkUp =
        """[{"ifindex":22,"link_index":2,"ifname":"scl27000-a","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","master":"scl27000-br","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"ce:c1:2b:c8:90:19","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":3}]""";

    /// <summary>`ip -n scl27000-a -j link show dev eth0`, up (recorded in rec-tmp-q7).</summary>
    public const string ZoneLinkUp =
        """[{"ifindex":2,"link_index":22,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"8e:e5:1d:1e:89:33","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0}]""";

    /// <summary>`ip -n scl27000-b -j link show dev eth0` after `link set eth0 down` (recorded in rec-tmp-q7): no UP flag.</summary>
    public const string ZoneLinkDown =
        """[{"ifindex":2,"link_index":22,"ifname":"eth0","flags":["BROADCAST","MULTICAST"],"mtu":1500,"qdisc":"noqueue","operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"8e:e5:1d:1e:89:33","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0}]""";

    /// <summary>`ip -j link show dev rec-nonexist` (recorded; exit code 1, on stderr).</summary>
    public const string NoSuchDevice = "Device \"scl27000-c\" does not exist.\n";

    /// <summary>
    /// `ip -n scl27000-a -j neigh show dev eth0` in zone a partitioned from b: the poisoned entry (.12, the lab's MAC,
    /// PERMANENT), a learnt one for the host (.1, REACHABLE), a learnt one for zone c (.13) and a FAILED one without a
    /// MAC. Recorded in rec-tmp-q7 (poisoned with `neigh replace ... nud permanent`, learnt by connecting to the host
    /// end, FAILED by connecting to an absent address); .13 added by hand in the same shape.
    /// </summary>
    public const string NeighZoneAPoisonedB =
        """[{"dst":"10.105.120.1","lladdr":"ce:c1:2b:c8:90:19","state":["REACHABLE"]},{"dst":"10.105.120.99","state":["FAILED"]},{"dst":"10.105.120.12","lladdr":"02:00:5c:a1:de:ad","state":["PERMANENT"]},{"dst":"10.105.120.13","lladdr":"aa:d9:b4:a3:fc:86","state":["STALE"]}]""";

    /// <summary>`ip -n scl27000-b -j neigh show dev eth0` with zone a's address poisoned (shape as recorded).</summary>
    public const string NeighZoneBPoisonedA =
        """[{"dst":"10.105.120.11","lladdr":"02:00:5c:a1:de:ad","state":["PERMANENT"]},{"dst":"10.105.120.1","lladdr":"ce:c1:2b:c8:90:19","state":["REACHABLE"]}]""";

    /// <summary>`ip -n scl27000-c -j neigh show dev eth0`: zone a learnt, not poisoned (recorded shape, DELAY state as recorded on rec-q7h).</summary>
    public const string NeighZoneCLearntA = """[{"dst":"10.105.120.11","lladdr":"8e:e5:1d:1e:89:33","state":["DELAY"]}]""";

    /// <summary>`ip -j neigh show dev scl27000-br` with the lab running and nothing poisoned (read from a running lab).</summary>
    public const string NeighBridgeLearnt =
        """[{"dst":"10.105.120.12","lladdr":"f6:47:83:5a:d9:a7","state":["REACHABLE"]},{"dst":"10.105.120.11","lladdr":"52:55:8d:28:11:c0","state":["REACHABLE"]},{"dst":"10.105.120.13","lladdr":"2e:b2:c1:ff:ce:1b","state":["REACHABLE"]}]""";

    /// <summary><see cref="NeighBridgeLearnt"/> with zone a's entry poisoned (the host cut off from a).</summary>
    public const string NeighBridgePoisonedA =
        """[{"dst":"10.105.120.12","lladdr":"f6:47:83:5a:d9:a7","state":["REACHABLE"]},{"dst":"10.105.120.11","lladdr":"02:00:5c:a1:de:ad","state":["PERMANENT"]},{"dst":"10.105.120.13","lladdr":"2e:b2:c1:ff:ce:1b","state":["REACHABLE"]}]""";

    /// <summary>`ip -j neigh show dev rec-q7h` with nothing learnt yet (recorded): an empty array.</summary>
    public const string NeighEmpty = "[]\n";

    /// <summary>`ip -n rec-tmp-nonexistent -j neigh show dev eth0` (recorded; exit code 255).</summary>
    public const string NoSuchNamespaceNeigh = "Cannot open network namespace \"scl27000-c\": No such file or directory\n";

    /// <summary>`ip netns pids rec-tmp-q7` with one `sleep` in it (recorded).</summary>
    public const string NetnsPidsOne = "24452\n";

    /// <summary>`ip netns pids rec-tmp-q7` with nothing in it (recorded: no output, exit 0).</summary>
    public const string NetnsPidsNone = "";

    /// <summary>`ip netns pids rec-tmp-nonexistent` (recorded; exit code 1).</summary>
    public const string NetnsPidsNoNamespace = "Cannot open network namespace: No such file or directory\n";

    /// <summary>`ip -n ns link del eth0` when there is no eth0 (iproute2's message; exit code 1).</summary>
    public const string CannotFindEth0 = "Cannot find device \"eth0\"\n";

    /// <summary>`tc -n rec-tmp-q7 qdisc show dev eth0` without netem (recorded).</summary>
    public const string QdiscNoqueue = "qdisc noqueue 0: root refcnt 2 \n";

    /// <summary>
    /// `tc -n ns qdisc show dev eth0` with netem delay 100ms 10ms loss 1%: NOT recorded (this machine's kernel has no
    /// sch_netem), written in the format iproute2's q_netem.c prints (limit, then delay and jitter, then loss).
    /// </summary>
    public const string QdiscNetem = "qdisc netem 8001: root refcnt 2 limit 1000 delay 100ms  10ms loss 1%\n";

    /// <summary>`tc -n rec-tmp-q7 qdisc replace dev eth0 root netem delay 100ms 10ms loss 1%` on a kernel without sch_netem (recorded; exit code 2).</summary>
    public const string TcNetemUnknown = "Error: Specified qdisc kind is unknown.\n";

    /// <summary>`tc -n rec-tmp-q7 qdisc del dev eth0 root` when there is no qdisc to delete (recorded; exit code 2).</summary>
    public const string TcNothingToDelete = "Error: Cannot delete qdisc with handle of zero.\n";
}
