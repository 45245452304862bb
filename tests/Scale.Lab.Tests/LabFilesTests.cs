using Scale.Testing;

namespace Scale.Lab.Tests;

/// <summary>The lab's generated configuration, checked by the programs that will read it.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LabFilesTests : IDisposable
{
    private readonly TempFolder _work = new("scale-lab-files");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task GeneratedConfiguration_PassesHaproxyAndPromtoolChecks_AndLayoutPortsAreDistinct()
    {
        var layout = new LabLayout(new LabOptions { Directory = _work.Path, ScaleProgram = "/opt/scale/scale.dll", WebPerZone = 2 });
        var programs = new LabPrograms("/usr/bin/dotnet", "/opt/scale/scale.dll", "/usr/bin/etcd", "/usr/bin/patroni", "/usr/lib/postgresql/15/bin",
            "/usr/bin/prometheus-postgres-exporter", "/usr/sbin/haproxy", "/usr/bin/prometheus", "/usr/bin/prometheus-alertmanager");
        new LabFiles(layout, new LabSecrets(Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N")), programs, null).WriteAll();

        var haproxy = await Tools.RequireAsync("haproxy", "haproxy");
        var check = await Tools.RunAsync(haproxy, ["-c", "-f", layout.PathOf("haproxy.cfg")], TimeSpan.FromSeconds(30));
        Assert.True(check.ExitCode == 0, check.Output);
        var promtool = await Tools.RequireAsync("promtool", "prometheus");
        var prometheus = await Tools.RunAsync(promtool, ["check", "config", layout.PathOf("prometheus", "prometheus.yml")], TimeSpan.FromSeconds(30));
        Assert.True(prometheus.ExitCode == 0, prometheus.Output);

        // Every component has a port of its own, and none is the public, stats or PostgreSQL role ports.
        var ports = layout.Components.Select(c => c.Port).Concat([layout.WebPort, layout.PrimaryPort, layout.ReplicasPort])
            .Concat(Enumerable.Range(0, 3).SelectMany(z => new[] { layout.EtcdPeerPort(z), layout.PostgresPort(z) })).ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.Equal(6, layout.Web.Count());
        Assert.Equal(["a", "a", "b", "b", "c", "c"], layout.Web.Select(w => w.Zone));

        // Each zone's Patroni joins the same cluster, with synchronous replication, and its secrets are its owner's only.
        var patroni = await File.ReadAllTextAsync(layout.PathOf("pg-b", "patroni.yml"));
        Assert.Contains("scope: scale-lab", patroni, StringComparison.Ordinal);
        Assert.Contains("synchronous_mode: true", patroni, StringComparison.Ordinal);
        Assert.Contains("name: pg-b", patroni, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(layout.PathOf("pg-b", "patroni.yml")));
        // One supervisord per zone (its own programs only, listening on the zone's address) and one for the host.
        var programCount = 0;
        foreach (var zone in new string?[] { "a", "b", "c", null })
        {
            var supervisor = await File.ReadAllTextAsync(layout.SupervisorConfig(zone));
            var expected = layout.InZone(zone).Select(c => c.Name).Order(StringComparer.Ordinal);
            var actual = supervisor.Split("[program:").Skip(1).Select(p => p[..p.IndexOf(']', StringComparison.Ordinal)]).Order(StringComparer.Ordinal);
            Assert.Equal(expected, actual);
            Assert.Contains("autorestart=true", supervisor, StringComparison.Ordinal);
            programCount += actual.Count();
        }

        Assert.Equal(layout.Components.Count, programCount);
        Assert.Contains($"--urls http://{layout.Network.ZoneAddress(1)}:", await File.ReadAllTextAsync(layout.SupervisorConfig("b")), StringComparison.Ordinal);
        Assert.Contains($"listen: {layout.Network.ZoneAddress(1)}:{layout.PostgresPort(1)}", patroni, StringComparison.Ordinal);
        Assert.Contains($"host all all {layout.Network.SubnetCidr} scram-sha-256", patroni, StringComparison.Ordinal);
    }
}
