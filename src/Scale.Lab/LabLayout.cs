using Scale.Lab.Network;

namespace Scale.Lab;

/// <summary>
/// What a component is in the lab: its supervisord program, zone, address and how its health is checked. A zone's
/// components listen on the zone's own address inside its network namespace; the load balancer and monitoring (no
/// zone) on the host's loopback.
/// </summary>
public sealed record LabComponent(string Name, string Kind, string? Zone, string Host, int Port, string? HealthPath)
{
    public string Address => $"{Host}:{Port}";
}

/// <summary>
/// The lab's names, addresses, ports and paths: three zones (a, b, c), each a network namespace with an etcd member,
/// a Patroni-managed PostgreSQL with its exporter, and web instances; HAProxy, Prometheus and alertmanager once, on
/// the host.
/// </summary>
public sealed class LabLayout
{
    public static readonly IReadOnlyList<string> Zones = ["a", "b", "c"];

    public LabLayout(LabOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Root = Path.GetFullPath(options.Directory);
        var b = options.BasePort;
        WebPort = b + 80;
        StatsPort = b + 81;
        PrimaryPort = b + 432;
        ReplicasPort = b + 433;
        PrometheusPort = b + 90;
        AlertmanagerPort = b + 93;
        Network = new LabNetworkLayout(b, Zones);
        var components = new List<LabComponent>();
        for (var z = 0; z < Zones.Count; z++)
        {
            var zone = Zones[z];
            var host = Network.ZoneAddress(z);
            components.Add(new LabComponent($"etcd-{zone}", "etcd", zone, host, EtcdClientPort(z), "/health"));
            components.Add(new LabComponent($"pg-{zone}", "patroni", zone, host, PatroniPort(z), "/health"));
            components.Add(new LabComponent($"pg-exporter-{zone}", "postgres_exporter", zone, host, ExporterPort(z), "/metrics"));
            for (var n = 1; n <= options.WebPerZone; n++)
            {
                components.Add(new LabComponent($"web-{zone}{n}", "web", zone, host, WebInstancePort(z, n), "/readyz"));
            }
        }

        components.Add(new LabComponent("haproxy", "haproxy", null, Loopback, StatsPort, "/stats"));
        components.Add(new LabComponent("prometheus", "prometheus", null, Loopback, PrometheusPort, "/-/ready"));
        components.Add(new LabComponent("alertmanager", "alertmanager", null, Loopback, AlertmanagerPort, "/-/ready"));
        Components = components;
    }

    private const string Loopback = "127.0.0.1";

    public LabOptions Options { get; }

    /// <summary>The zones' namespaces, links and addresses.</summary>
    public LabNetworkLayout Network { get; }

    public string Root { get; }

    public IReadOnlyList<LabComponent> Components { get; }

    public IEnumerable<LabComponent> Web => Components.Where(c => c.Kind == "web");

    /// <summary>
    /// What HAProxy's backup entry of a web instance adds to its name (web-a1-fallback): each instance is in the web
    /// backend twice, the backup taking traffic only when every active server is down (see LabFiles.Haproxy).
    /// </summary>
    public const string FallbackSuffix = "-fallback";

    /// <summary>The web instance a server of HAProxy's web backend is (its name, backup entry or not).</summary>
    public static string InstanceOfServer(string serverName)
    {
        ArgumentNullException.ThrowIfNull(serverName);
        return serverName.EndsWith(FallbackSuffix, StringComparison.Ordinal) ? serverName[..^FallbackSuffix.Length] : serverName;
    }

    public int WebPort { get; }

    public int StatsPort { get; }

    public int PrimaryPort { get; }

    public int ReplicasPort { get; }

    public int PrometheusPort { get; }

    public int AlertmanagerPort { get; }

    public string Url => $"http://127.0.0.1:{WebPort}/";

    public int EtcdClientPort(int zone) => Options.BasePort + 300 + (zone * 2);

    public int EtcdPeerPort(int zone) => Options.BasePort + 301 + (zone * 2);

    public int PatroniPort(int zone) => Options.BasePort + 200 + zone;

    public int PostgresPort(int zone) => Options.BasePort + 500 + zone;

    public int ExporterPort(int zone) => Options.BasePort + 600 + zone;

    public int WebInstancePort(int zone, int n) => Options.BasePort + 100 + (zone * 10) + n;

    public string PathOf(params string[] parts) => Path.Join([Root, .. parts]);

    public IEnumerable<LabComponent> InZone(string? zone) => Components.Where(c => c.Zone == zone);

    /// <summary>The supervisord of a zone (or of the host, for null): its folder holds its configuration, socket and pid.</summary>
    public string SupervisorFolder(string? zone) => zone is null ? Root : PathOf($"zone-{zone}");

    public string SupervisorSocket(string? zone) => Path.Join(SupervisorFolder(zone), "supervisor.sock");

    public string SupervisorConfig(string? zone) => Path.Join(SupervisorFolder(zone), "supervisord.conf");

    public string SupervisorPidFile(string? zone) => Path.Join(SupervisorFolder(zone), "supervisord.pid");

    public string SecretsFile => PathOf("secrets.json");

    /// <summary>
    /// The connection string of the web instances and the batch job: the primary and the replicas through HAProxy, at
    /// the host's address on the bridge (reachable from every zone and from the host).
    /// </summary>
    public string DatabaseFor(LabSecrets secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        return $"Host={Network.HostAddress}:{PrimaryPort},{Network.HostAddress}:{ReplicasPort};Database=scale;Username=scale;Password={secrets.AppPassword};Timeout=5;Command Timeout=30";
    }
}
