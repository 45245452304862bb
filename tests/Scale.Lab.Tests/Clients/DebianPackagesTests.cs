using Scale.Lab.Packages;

namespace Scale.Lab.Tests.Clients;

/// <summary>Which Debian packages the lab would install, with a stand-in for finding programs.</summary>
public sealed class DebianPackagesTests
{
    // PostgreSQL is looked for in /usr/lib/postgresql, not through the find function: what this machine has decides.
    private static readonly string[] Postgres = DebianPackages.PostgresBin() is null ? ["postgresql"] : [];

    [Fact]
    public void Missing_EverythingFound_OnlyPostgresIfThisMachineLacksIt()
    {
        var missing = DebianPackages.Missing(program => $"/usr/bin/{program}");

        Assert.Equal(Postgres, missing);
    }

    [Fact]
    public void Missing_NothingFound_EveryPackageOnce_InRequirementOrder()
    {
        var asked = new List<string>();

        var missing = DebianPackages.Missing(program =>
        {
            asked.Add(program);
            return null;
        });

        string[] expected =
        [
            "supervisor", "etcd-server", "patroni", "haproxy", "prometheus", "prometheus-alertmanager",
            "prometheus-postgres-exporter", "iproute2", "iptables", "stress-ng", .. Postgres,
        ];
        Assert.Equal(expected, missing);
        Assert.Equal(DebianPackages.Requirements.Select(r => r.Program), asked);
    }

    [Fact]
    public void Missing_OneOfTwoProgramsOfAPackage_PackageListedOnce()
    {
        // supervisorctl without supervisord, tc without ip: each package once, and only those.
        var absent = new HashSet<string>(StringComparer.Ordinal) { "supervisord", "tc", "etcd" };

        var missing = DebianPackages.Missing(program => absent.Contains(program) ? null : $"/usr/sbin/{program}");

        Assert.Equal(["supervisor", "etcd-server", "iproute2", .. Postgres], missing);
    }

    [Fact]
    public void Missing_RealFind_NamesOnlyKnownPackages()
    {
        var known = DebianPackages.Requirements.Select(r => r.Package).Append("postgresql").ToHashSet(StringComparer.Ordinal);

        var missing = DebianPackages.Missing(ProgramRunner.Find);

        Assert.All(missing, p => Assert.Contains(p, known));
        Assert.Equal(missing.Count, missing.Distinct(StringComparer.Ordinal).Count());
        // This machine has iproute2 (the lab's network runs on it).
        Assert.Equal(ProgramRunner.Find("ip") is null || ProgramRunner.Find("tc") is null, missing.Contains("iproute2"));
    }

    [Fact]
    public void Missing_NullFind_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => DebianPackages.Missing(null!));
    }

    [Fact]
    public void Requirements_CoverTheNetworkTools()
    {
        Assert.Contains(("ip", "iproute2"), DebianPackages.Requirements);
        Assert.Contains(("tc", "iproute2"), DebianPackages.Requirements);
    }
}
