using System.Globalization;
using System.Net;

namespace Scale.Lab.Network;

/// <summary>
/// The lab's network: one network namespace per zone, each with its own address on a /24, all joined by a bridge in
/// the host's namespace, where the load balancer and monitoring run. Names and the subnet derive from the base
/// port, so two labs on different base ports never share a namespace, a link or an address.
/// </summary>
/// <remarks>
/// <code>
///   host namespace:  bridge {Prefix}-br  {HostAddress}/24   (HAProxy's PostgreSQL frontends, Prometheus' scrapes)
///       │ veth {Prefix}-a ── eth0 in namespace {Prefix}-a   {ZoneAddress(0)}   etcd-a, pg-a, pg-exporter-a, web-a*
///       │ veth {Prefix}-b ── eth0 in namespace {Prefix}-b   {ZoneAddress(1)}
///       │ veth {Prefix}-c ── eth0 in namespace {Prefix}-c   {ZoneAddress(2)}
/// </code>
/// </remarks>
public sealed class LabNetworkLayout
{
    /// <summary>The name of the zone end of each veth pair, inside its namespace.</summary>
    public const string ZoneInterface = "eth0";

    public LabNetworkLayout(int basePort, IReadOnlyList<string> zones)
    {
        ArgumentNullException.ThrowIfNull(zones);
        Zones = zones;
        BasePort = basePort;
        // Interface names are at most 15 bytes: "scl" + 5 digits + "-br" is 11.
        Prefix = string.Create(CultureInfo.InvariantCulture, $"scl{basePort}");
        // 10.<high byte>.<low byte>.0/24 of the base port: unique per base port, and private (RFC 1918).
        Subnet = string.Create(CultureInfo.InvariantCulture, $"10.{(basePort >> 8) & 255}.{basePort & 255}");
    }

    public IReadOnlyList<string> Zones { get; }

    /// <summary>The lab's base port, from which every name here derives.</summary>
    public int BasePort { get; }

    /// <summary>scl&lt;base port&gt;: the start of every name the lab's network uses.</summary>
    public string Prefix { get; }

    /// <summary>The first three octets of the lab's /24.</summary>
    public string Subnet { get; }

    public string SubnetCidr => $"{Subnet}.0/24";

    public string Bridge => $"{Prefix}-br";

    /// <summary>The host's address on the bridge: what the zones reach the load balancer at.</summary>
    public string HostAddress => $"{Subnet}.1";

    public string Namespace(int zone) => $"{Prefix}-{Zones[zone]}";

    /// <summary>The host end of the zone's veth pair (attached to the bridge).</summary>
    public string HostLink(int zone) => $"{Prefix}-{Zones[zone]}";

    public string ZoneAddress(int zone) => string.Create(CultureInfo.InvariantCulture, $"{Subnet}.{11 + zone}");

    public int ZoneIndex(string zone)
    {
        for (var z = 0; z < Zones.Count; z++)
        {
            if (Zones[z] == zone)
            {
                return z;
            }
        }

        throw new ArgumentException($"the lab has no zone '{zone}' (zones: {string.Join(", ", Zones)})", nameof(zone));
    }

    /// <summary>True when <paramref name="address"/> is inside the lab's /24.</summary>
    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.ToString().StartsWith(Subnet + ".", StringComparison.Ordinal);
    }
}
