using Scale.Lab.Supervision;

namespace Scale.Lab.Tests;

/// <summary>The zones' CPU weights, on a cgroup v1 cpu hierarchy laid out in a temporary folder (the kernel's files are
/// plain files to write; the lab's real groups are covered by the lab test).</summary>
public sealed class ZoneCpuGroupsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("scale-cgroup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void EnsureBooting_AZoneComingBack_ItsBootingGroupAtTheLowestWeightTheZoneUnchanged()
    {
        File.WriteAllText(Path.Join(_root, "cpu.shares"), "1024");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.True(groups.Available, "the lab's CPU groups are only used by root: run the lab tests as root");
        Assert.Null(groups.Ensure(["a", "b", "host"]));

        Assert.True(groups.EnsureBooting("a"));

        Assert.Equal("a-booting", ZoneCpuGroups.BootingGroupOf("a"));
        Assert.Equal("2", Shares("a-booting"));
        Assert.Equal("1024", Shares("a"));
        Assert.Equal("1024", Shares("b"));
        Assert.Contains(groups.Describe(), line => line.EndsWith("/a-booting: cpu.shares 2, 0 processes", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Join(_root, "scl27000", "a-booting", "cpu.idle")), "a kernel without cpu.idle got one written");
    }

    [Fact]
    public void EnsureBooting_KernelWithCpuIdle_BootingGroupIdle()
    {
        File.WriteAllText(Path.Join(_root, "cpu.shares"), "1024");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.Null(groups.Ensure(["a", "b"]));
        // The kernel creates cpu.idle with every group (5.15 and later); a plain folder does not.
        Directory.CreateDirectory(Path.Join(_root, "scl27000", "a-booting"));
        File.WriteAllText(Path.Join(_root, "scl27000", "a-booting", "cpu.idle"), "0");

        Assert.True(groups.EnsureBooting("a"));

        Assert.Equal("1", File.ReadAllText(Path.Join(_root, "scl27000", "a-booting", "cpu.idle")));
        Assert.Equal("2", Shares("a-booting"));
        Assert.Contains(groups.Describe(), line => line.EndsWith("/a-booting: cpu.shares 2, idle, 0 processes", StringComparison.Ordinal));

        // A second boot of the zone finds the group idle, where the kernel refuses a weight (EINVAL) and shows 3.
        File.WriteAllText(Path.Join(_root, "scl27000", "a-booting", "cpu.shares"), "3");
        Assert.True(groups.EnsureBooting("a"));
        Assert.Equal("3", Shares("a-booting"));
    }

    [Fact]
    public void EnsureBooting_V2Hierarchy_WeightOne()
    {
        File.WriteAllText(Path.Join(_root, "cgroup.controllers"), "cpu io memory");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.True(groups.Available, "the lab's CPU groups are only used by root: run the lab tests as root");
        Assert.Null(groups.Ensure(["a"]));

        Assert.True(groups.EnsureBooting("a"));

        Assert.Equal("1", File.ReadAllText(Path.Join(_root, "scl27000", "a-booting", "cpu.weight")));
        Assert.Equal("100", File.ReadAllText(Path.Join(_root, "scl27000", "a", "cpu.weight")));
    }

    [Fact]
    public void MoveThenEndBoot_ABootedProcess_JoinsItsZone()
    {
        File.WriteAllText(Path.Join(_root, "cpu.shares"), "1024");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.Null(groups.Ensure(["a", "b"]));
        Assert.True(groups.EnsureBooting("a"));

        Assert.True(groups.Move(4321, "a-booting"));
        Assert.Equal("4321", Procs("a-booting"));

        groups.EndBoot("a");

        Assert.Equal("4321", Procs("a"));
        Assert.False(File.Exists(Path.Join(_root, "scl27000", "b", "cgroup.procs")), "another zone's group was written to");
    }

    [Fact]
    public void EnsureBootingAndMove_GroupsNotCreated_ChangeNothing()
    {
        File.WriteAllText(Path.Join(_root, "cpu.shares"), "1024");
        var groups = new ZoneCpuGroups("scl27000", _root);

        Assert.False(groups.EnsureBooting("a"));
        Assert.False(groups.Move(4321, "a-booting"));
        groups.EndBoot("a");
        Assert.False(Directory.Exists(Path.Join(_root, "scl27000")));
    }

    private string Procs(string group) => File.ReadAllText(Path.Join(_root, "scl27000", group, "cgroup.procs")).Trim();

    private string Shares(string group) => File.ReadAllText(Path.Join(_root, "scl27000", group, "cpu.shares"));
}
