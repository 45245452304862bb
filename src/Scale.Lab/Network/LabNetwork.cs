using System.Globalization;
using System.Text.Json;

namespace Scale.Lab.Network;

/// <summary>A network fault this machine cannot make (its kernel lacks the part), with what is missing.</summary>
public sealed class NetworkFaultUnsupportedException(string message) : Exception(message);

/// <summary>Who a partitioned zone can no longer reach.</summary>
public enum PartitionScope
{
    /// <summary>The other zones (and they it); the load balancer and monitoring still reach it.</summary>
    Zones,

    /// <summary>Everything outside the zone: the other zones, the load balancer, monitoring.</summary>
    All,
}

/// <summary>One zone as `scale lab status` shows its network place.</summary>
public sealed record ZoneNetworkState(string Zone, string Namespace, string Address, bool NamespaceExists, bool LinkUp, IReadOnlyList<string> Faults);

/// <summary>
/// Makes, breaks and removes the lab's network (<see cref="LabNetworkLayout"/>) with iproute2: namespaces, the bridge,
/// veth pairs, and the faults a cloud network has. Every fault lives in a namespace or on a link the lab made, so
/// deleting those (`scale lab down`) undoes it too.
/// </summary>
/// <remarks>
/// A partition is made by pointing the neighbour (ARP) entries of the addresses on the other side at a MAC address no
/// interface has: packets leave and are silently lost on the bridge, as in a real partition (connections time out;
/// nothing is refused). It needs nothing beyond iproute2, where firewall rules would need netfilter. Latency and
/// loss use tc's netem queueing discipline on the zone's interface, and where the kernel has no netem, iptables rules
/// and the lab's userspace delay line in the zone's namespace (<see cref="NetfilterDegradation"/>).
/// </remarks>
/// <param name="layout">The lab's names and addresses.</param>
/// <param name="commands">Runs iproute2, tc, iptables and the delay line's start and stop.</param>
/// <param name="scaleCommand">
/// The scale program (and its leading arguments, e.g. <c>dotnet /path/scale.dll</c>) that runs a zone's delay line;
/// default: the scale.dll beside this assembly, run by this process's dotnet.
/// </param>
public sealed class LabNetwork(LabNetworkLayout layout, ICommandRunner commands, IReadOnlyList<string>? scaleCommand = null)
{
    /// <summary>A locally administered unicast MAC that no lab interface has: where a partition sends packets.</summary>
    public const string NowhereMac = "02:00:5c:a1:de:ad";

    private readonly NetfilterDegradation _netfilter = new(layout, commands, scaleCommand ?? DelayLine.ThisScaleCommand());

    public LabNetworkLayout Layout => layout;

    /// <summary>Creates the bridge, the namespaces and the veth pairs that are missing, and brings every link up.</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        await CheckSubnetFreeAsync(cancellationToken);
        var links = await HostLinksAsync(cancellationToken);
        if (!links.Contains(layout.Bridge))
        {
            await IpAsync(["link", "add", layout.Bridge, "type", "bridge"], cancellationToken);
        }

        // `replace` adds the address when missing and is harmless when present (an `up` killed between the two steps).
        await IpAsync(["addr", "replace", $"{layout.HostAddress}/24", "dev", layout.Bridge], cancellationToken);

        await IpAsync(["link", "set", layout.Bridge, "up"], cancellationToken);
        var namespaces = await NamespacesAsync(cancellationToken);
        for (var z = 0; z < layout.Zones.Count; z++)
        {
            var ns = layout.Namespace(z);
            if (!namespaces.Contains(ns))
            {
                await IpAsync(["netns", "add", ns], cancellationToken);
            }

            if (!links.Contains(layout.HostLink(z)))
            {
                // A leftover zone interface (a namespace kept from a crashed `up`) would block the new pair's name.
                await IpAsync(["-n", ns, "link", "del", LabNetworkLayout.ZoneInterface], cancellationToken, check: false);
                await IpAsync(["link", "add", layout.HostLink(z), "type", "veth", "peer", "name", LabNetworkLayout.ZoneInterface, "netns", ns], cancellationToken);
                await IpAsync(["link", "set", layout.HostLink(z), "master", layout.Bridge], cancellationToken);
            }

            await IpAsync(["-n", ns, "addr", "replace", $"{layout.ZoneAddress(z)}/24", "dev", LabNetworkLayout.ZoneInterface], cancellationToken);

            await IpAsync(["-n", ns, "link", "set", "lo", "up"], cancellationToken);
            await IpAsync(["-n", ns, "link", "set", LabNetworkLayout.ZoneInterface, "up"], cancellationToken);
            await IpAsync(["link", "set", layout.HostLink(z), "up"], cancellationToken);
        }
    }

    /// <summary>
    /// Kills every process in the zones' namespaces, deletes the namespaces (their interfaces, addresses, neighbour
    /// entries and qdiscs go with them), the host ends of the veth pairs and the bridge. Harmless when none exist.
    /// </summary>
    public async Task RemoveAsync(CancellationToken cancellationToken)
    {
        var namespaces = await NamespacesAsync(cancellationToken);
        for (var z = 0; z < layout.Zones.Count; z++)
        {
            if (namespaces.Contains(layout.Namespace(z)))
            {
                await KillZoneProcessesAsync(z, cancellationToken);
                await IpAsync(["netns", "del", layout.Namespace(z)], cancellationToken, check: false);
            }
        }

        var links = await HostLinksAsync(cancellationToken);
        for (var z = 0; z < layout.Zones.Count; z++)
        {
            if (links.Contains(layout.HostLink(z)))
            {
                await IpAsync(["link", "del", layout.HostLink(z)], cancellationToken, check: false);
            }
        }

        if (links.Contains(layout.Bridge))
        {
            await IpAsync(["link", "del", layout.Bridge], cancellationToken, check: false);
        }
    }

    /// <summary>What exists of the lab's network: namespaces, links, and the faults in place.</summary>
    public async Task<IReadOnlyList<ZoneNetworkState>> DescribeAsync(CancellationToken cancellationToken)
    {
        var namespaces = await NamespacesAsync(cancellationToken);
        var result = new List<ZoneNetworkState>();
        var hostNeighbours = await PoisonedAsync(null, cancellationToken);
        for (var z = 0; z < layout.Zones.Count; z++)
        {
            var ns = layout.Namespace(z);
            var exists = namespaces.Contains(ns);
            var faults = new List<string>();
            var linkUp = false;
            if (exists)
            {
                linkUp = await LinkUpAsync(null, layout.HostLink(z), cancellationToken) && await LinkUpAsync(ns, LabNetworkLayout.ZoneInterface, cancellationToken);
                var unreachable = await PoisonedAsync(ns, cancellationToken);
                if (unreachable.Count > 0)
                {
                    faults.Add($"partitioned from {string.Join(", ", unreachable.Select(Describe))}");
                }

                if (await NetemAsync(ns, cancellationToken) is { } netem)
                {
                    faults.Add($"netem: {netem}");
                }

                if (await _netfilter.DescribeAsync(z, cancellationToken) is { } delayLine)
                {
                    faults.Add(delayLine);
                }
            }

            if (hostNeighbours.Contains(layout.ZoneAddress(z)))
            {
                faults.Add("unreachable from the load balancer");
            }

            if (exists && !linkUp)
            {
                faults.Add("link down (zone dark)");
            }

            result.Add(new ZoneNetworkState(layout.Zones[z], ns, layout.ZoneAddress(z), exists, linkUp, faults));
        }

        return result;
    }

    /// <summary>The processes running in the zone's namespace (none when it does not exist).</summary>
    public async Task<IReadOnlyList<int>> ZoneProcessesAsync(int zone, CancellationToken cancellationToken)
    {
        var result = await commands.RunAsync("ip", ["netns", "pids", layout.Namespace(zone)], cancellationToken);
        return result.ExitCode != 0
            ? []
            : result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
                .Where(p => p > 0)
                .ToList();
    }

    /// <summary>
    /// The zone's delay line processes (<see cref="NetfilterDegradation"/>; none where netem does the work), so that
    /// a fault killing the zone's programs can spare the network fault that runs beside them.
    /// </summary>
    public async Task<IReadOnlyList<int>> DelayLineProcessesAsync(int zone, CancellationToken cancellationToken)
    {
        var queue = _netfilter.Queue(zone);
        return (await ZoneProcessesAsync(zone, cancellationToken))
            .Where(pid => DelayLine.IsDelayLine(CommandLine(pid), queue))
            .ToList();

        static string[] CommandLine(int pid)
        {
            try
            {
                return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return [];
            }
        }
    }

    /// <summary>SIGKILL to every process in the zone's namespace, again until none is left (a dying supervisor may fork). Returns how many were killed.</summary>
    public async Task<int> KillZoneProcessesAsync(int zone, CancellationToken cancellationToken)
    {
        var killed = 0;
        for (var round = 0; round < 20; round++)
        {
            var pids = await ZoneProcessesAsync(zone, cancellationToken);
            if (pids.Count == 0)
            {
                break;
            }

            foreach (var pid in pids)
            {
                try
                {
                    using var process = System.Diagnostics.Process.GetProcessById(pid);
                    process.Kill();
                    killed++;
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Gone already.
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }

        return killed;
    }

    /// <summary>
    /// Takes the zone's link down (both ends of its veth pair) or up again. Down, the zone is dark: nothing reaches it
    /// and nothing is refused; connections to it time out.
    /// </summary>
    public async Task SetZoneLinkAsync(int zone, bool up, CancellationToken cancellationToken)
    {
        var state = up ? "up" : "down";
        await IpAsync(["link", "set", layout.HostLink(zone), state], cancellationToken);
        await IpAsync(["-n", layout.Namespace(zone), "link", "set", LabNetworkLayout.ZoneInterface, state], cancellationToken);
    }

    /// <summary>Cuts the zone off from the other zones (and, with <see cref="PartitionScope.All"/>, from the host): both directions, silently.</summary>
    public async Task PartitionAsync(int zone, PartitionScope scope, CancellationToken cancellationToken)
    {
        var ns = layout.Namespace(zone);
        for (var other = 0; other < layout.Zones.Count; other++)
        {
            if (other == zone)
            {
                continue;
            }

            await PoisonAsync(ns, layout.ZoneAddress(other), cancellationToken);
            await PoisonAsync(layout.Namespace(other), layout.ZoneAddress(zone), cancellationToken);
        }

        if (scope == PartitionScope.All)
        {
            await PoisonAsync(ns, layout.HostAddress, cancellationToken);
            await PoisonAsync(null, layout.ZoneAddress(zone), cancellationToken);
        }
    }

    /// <summary>Undoes <see cref="PartitionAsync"/> for the zone (any scope); harmless when it is not partitioned.</summary>
    public async Task HealAsync(int zone, CancellationToken cancellationToken)
    {
        var ns = layout.Namespace(zone);
        for (var other = 0; other < layout.Zones.Count; other++)
        {
            if (other != zone)
            {
                await UnpoisonAsync(ns, layout.ZoneAddress(other), cancellationToken);
                await UnpoisonAsync(layout.Namespace(other), layout.ZoneAddress(zone), cancellationToken);
            }
        }

        await UnpoisonAsync(ns, layout.HostAddress, cancellationToken);
        await UnpoisonAsync(null, layout.ZoneAddress(zone), cancellationToken);
    }

    /// <summary>
    /// Every packet leaving the zone waits <paramref name="delayMs"/> (± <paramref name="jitterMs"/>) and is lost with
    /// probability <paramref name="lossPercent"/>: a round trip with the zone gains the delay. tc netem on the zone's
    /// interface; where the kernel has no netem, iptables rules and a delay line in the zone's namespace
    /// (<see cref="NetfilterDegradation"/>). Replaces the zone's previous degradation. Returns what was put in place.
    /// </summary>
    /// <exception cref="NetworkFaultUnsupportedException">Neither mechanism works on this machine.</exception>
    public async Task<NetworkDegradation> DegradeAsync(int zone, double delayMs, double jitterMs, double lossPercent, CancellationToken cancellationToken)
    {
        var arguments = new List<string> { "-n", layout.Namespace(zone), "qdisc", "replace", "dev", LabNetworkLayout.ZoneInterface, "root", "netem" };
        if (delayMs > 0)
        {
            arguments.AddRange(["delay", Ms(delayMs)]);
            if (jitterMs > 0)
            {
                arguments.Add(Ms(jitterMs));
            }
        }

        if (lossPercent > 0)
        {
            arguments.AddRange(["loss", string.Create(CultureInfo.InvariantCulture, $"{lossPercent}%")]);
        }

        var result = await commands.RunAsync("tc", arguments, cancellationToken);
        if (result.ExitCode != 0)
        {
            if (result.Output.Contains("qdisc kind is unknown", StringComparison.Ordinal))
            {
                // No sch_netem (many container and VM kernels): the netfilter way.
                return await _netfilter.DegradeAsync(zone, delayMs, jitterMs, lossPercent, cancellationToken);
            }

            throw new InvalidOperationException($"tc {string.Join(' ', arguments)} failed: {result.Output.Trim()}");
        }

        return new NetworkDegradation(NetworkDegradationMechanism.Netem, delayMs, delayMs > 0 ? jitterMs : 0, lossPercent, $"tc {string.Join(' ', arguments)}");

        static string Ms(double value) => string.Create(CultureInfo.InvariantCulture, $"{value}ms");
    }

    /// <summary>Removes the zone's netem, or its delay line and rules; harmless when there are none.</summary>
    public async Task RestoreAsync(int zone, CancellationToken cancellationToken)
    {
        await commands.RunAsync("tc", ["-n", layout.Namespace(zone), "qdisc", "del", "dev", LabNetworkLayout.ZoneInterface, "root"], cancellationToken);
        await _netfilter.RestoreAsync(zone, cancellationToken);
    }

    private async Task CheckSubnetFreeAsync(CancellationToken cancellationToken)
    {
        var routes = await commands.RunAsync("ip", ["-4", "route", "show", "table", "all"], cancellationToken);
        var clash = routes.Output.Split('\n')
            .Where(l => l.StartsWith(layout.Subnet + ".", StringComparison.Ordinal) && !l.Contains($"dev {layout.Bridge}", StringComparison.Ordinal))
            .FirstOrDefault();
        if (clash is not null)
        {
            throw new InvalidOperationException($"the lab's subnet {layout.SubnetCidr} (from its base port) is already routed on this machine ({clash.Trim()}): start the lab with another --base-port");
        }
    }

    private async Task PoisonAsync(string? ns, string address, CancellationToken cancellationToken) =>
        await IpAsync([.. Where(ns), "neigh", "replace", address, "lladdr", NowhereMac, "dev", Device(ns), "nud", "permanent"], cancellationToken);

    private async Task UnpoisonAsync(string? ns, string address, CancellationToken cancellationToken)
    {
        // Only an entry the lab poisoned is removed: a learnt one stays.
        if ((await PoisonedAsync(ns, cancellationToken)).Contains(address))
        {
            await IpAsync([.. Where(ns), "neigh", "del", address, "dev", Device(ns)], cancellationToken, check: false);
        }
    }

    private async Task<HashSet<string>> PoisonedAsync(string? ns, CancellationToken cancellationToken)
    {
        var result = await commands.RunAsync("ip", [.. Where(ns), "-j", "neigh", "show", "dev", Device(ns)], cancellationToken);
        var poisoned = new HashSet<string>(StringComparer.Ordinal);
        if (result.ExitCode != 0 || string.IsNullOrWhiteSpace(result.Output))
        {
            return poisoned;
        }

        using var json = JsonDocument.Parse(result.Output);
        foreach (var entry in json.RootElement.EnumerateArray())
        {
            if (entry.TryGetProperty("lladdr", out var mac) && string.Equals(mac.GetString(), NowhereMac, StringComparison.OrdinalIgnoreCase)
                && entry.TryGetProperty("dst", out var dst) && dst.GetString() is { } address)
            {
                poisoned.Add(address);
            }
        }

        return poisoned;
    }

    private async Task<string?> NetemAsync(string ns, CancellationToken cancellationToken)
    {
        var result = await commands.RunAsync("tc", ["-n", ns, "qdisc", "show", "dev", LabNetworkLayout.ZoneInterface], cancellationToken);
        var line = result.Output.Split('\n').FirstOrDefault(l => l.Contains("netem", StringComparison.Ordinal));
        return line is null ? null : line[(line.IndexOf("netem", StringComparison.Ordinal) + 5)..].Trim();
    }

    private async Task<bool> LinkUpAsync(string? ns, string link, CancellationToken cancellationToken)
    {
        var result = await commands.RunAsync("ip", [.. Where(ns), "-j", "link", "show", "dev", link], cancellationToken);
        if (result.ExitCode != 0 || string.IsNullOrWhiteSpace(result.Output))
        {
            return false;
        }

        using var json = JsonDocument.Parse(result.Output);
        return json.RootElement.EnumerateArray().Any(l => l.TryGetProperty("flags", out var flags) && flags.EnumerateArray().Any(f => f.GetString() == "UP"));
    }

    private async Task<HashSet<string>> NamespacesAsync(CancellationToken cancellationToken)
    {
        var result = await commands.RunAsync("ip", ["-j", "netns", "list"], cancellationToken);
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (result.ExitCode == 0 && !string.IsNullOrWhiteSpace(result.Output))
        {
            using var json = JsonDocument.Parse(result.Output);
            foreach (var ns in json.RootElement.EnumerateArray())
            {
                names.Add(ns.GetProperty("name").GetString() ?? "");
            }
        }

        return names;
    }

    private async Task<HashSet<string>> HostLinksAsync(CancellationToken cancellationToken)
    {
        var result = await commands.RunAsync("ip", ["-j", "link", "show"], cancellationToken);
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (result.ExitCode == 0 && !string.IsNullOrWhiteSpace(result.Output))
        {
            using var json = JsonDocument.Parse(result.Output);
            foreach (var link in json.RootElement.EnumerateArray())
            {
                if (link.GetProperty("ifname").GetString() is { } name && name.StartsWith(layout.Prefix + "-", StringComparison.Ordinal))
                {
                    names.Add(name);
                }
            }
        }

        return names;
    }

    private string Describe(string address)
    {
        if (address == layout.HostAddress)
        {
            return "the host (load balancer, monitoring)";
        }

        for (var z = 0; z < layout.Zones.Count; z++)
        {
            if (layout.ZoneAddress(z) == address)
            {
                return $"zone {layout.Zones[z]}";
            }
        }

        return address;
    }

    private static string[] Where(string? ns) => ns is null ? [] : ["-n", ns];

    private string Device(string? ns) => ns is null ? layout.Bridge : LabNetworkLayout.ZoneInterface;

    private async Task IpAsync(string[] arguments, CancellationToken cancellationToken, bool check = true)
    {
        var result = await commands.RunAsync("ip", arguments, cancellationToken);
        if (check && result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed: {result.Output.Trim()}");
        }
    }
}
