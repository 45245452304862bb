namespace Scale.Lab;

/// <summary>What a component is in the lab: its supervisord program, zone, address and how its health is checked.</summary>
public sealed record LabComponent(string Name, string Kind, string? Zone, int Port, string? HealthPath, int? Group = null)
{
    public string Address => $"127.0.0.1:{Port}";
}

/// <summary>
/// The lab's names, ports and paths: three zones (a, b, c), each with an etcd member, a Patroni-managed
/// PostgreSQL with its exporter, and web instances; HAProxy, Prometheus and alertmanager once.
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
        var components = new List<LabComponent>();
        for (var z = 0; z < Zones.Count; z++)
        {
            var zone = Zones[z];
            components.Add(new LabComponent($"etcd-{zone}", "etcd", zone, EtcdClientPort(z), "/health"));
            components.Add(new LabComponent($"pg-{zone}", "patroni", zone, PatroniPort(z), "/health"));
            components.Add(new LabComponent($"pg-exporter-{zone}", "postgres_exporter", zone, ExporterPort(z), "/metrics"));
            for (var n = 1; n <= options.WebPerZone; n++)
            {
                components.Add(new LabComponent($"web-{zone}{n}", "web", zone, WebInstancePort(z, n), "/readyz"));
            }
        }

        components.Add(new LabComponent("haproxy", "haproxy", null, StatsPort, "/stats"));
        components.Add(new LabComponent("prometheus", "prometheus", null, PrometheusPort, "/-/ready"));
        components.Add(new LabComponent("alertmanager", "alertmanager", null, AlertmanagerPort, "/-/ready"));
        Components = components;
    }

    public LabOptions Options { get; }

    public string Root { get; }

    public IReadOnlyList<LabComponent> Components { get; }

    public IEnumerable<LabComponent> Web => Components.Where(c => c.Kind == "web");

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

    public string SupervisorSocket => PathOf("supervisor.sock");

    public string SupervisorConfig => PathOf("supervisord.conf");

    public string SupervisorPidFile => PathOf("supervisord.pid");

    public string SecretsFile => PathOf("secrets.json");

    /// <summary>The connection string of the web instances and the batch job: the primary and the replicas through HAProxy.</summary>
    public string DatabaseFor(LabSecrets secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        return $"Host=127.0.0.1:{PrimaryPort},127.0.0.1:{ReplicasPort};Database=scale;Username=scale;Password={secrets.AppPassword};Timeout=5;Command Timeout=30";
    }
}
