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

        // Beside the lab's group, not in it: idle toward the load generator too, which runs outside the lab.
        Assert.Equal("scl27000-a-booting", groups.BootingGroupOf("a"));
        Assert.Equal(Path.Join(_root, "scl27000-a-booting"), groups.BootingPathOf("a"));
        Assert.False(Directory.Exists(Path.Join(_root, "scl27000", "a-booting")), "the booting group was made inside the lab's group");
        Assert.Equal("2", BootingShares("a"));
        Assert.Equal("1024", Shares("a"));
        Assert.Equal("1024", Shares("b"));
        Assert.Contains(groups.Describe(), line => line.EndsWith("/scl27000-a-booting: cpu.shares 2, 0 processes", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Join(_root, "scl27000-a-booting", "cpu.idle")), "a kernel without cpu.idle got one written");
    }

    [Fact]
    public void EnsureBooting_KernelWithCpuIdle_BootingGroupIdle()
    {
        File.WriteAllText(Path.Join(_root, "cpu.shares"), "1024");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.Null(groups.Ensure(["a", "b"]));
        // The kernel creates cpu.idle with every group (5.15 and later); a plain folder does not.
        Directory.CreateDirectory(Path.Join(_root, "scl27000-a-booting"));
        File.WriteAllText(Path.Join(_root, "scl27000-a-booting", "cpu.idle"), "0");

        Assert.True(groups.EnsureBooting("a"));

        Assert.Equal("1", File.ReadAllText(Path.Join(_root, "scl27000-a-booting", "cpu.idle")));
        Assert.Equal("2", BootingShares("a"));
        Assert.Contains(groups.Describe(), line => line.EndsWith("/scl27000-a-booting: cpu.shares 2, idle, 0 processes", StringComparison.Ordinal));

        // A second boot of the zone finds the group idle, where the kernel refuses a weight (EINVAL) and shows 3.
        File.WriteAllText(Path.Join(_root, "scl27000-a-booting", "cpu.shares"), "3");
        Assert.True(groups.EnsureBooting("a"));
        Assert.Equal("3", BootingShares("a"));
    }

    [Fact]
    public void EnsureBooting_V2Hierarchy_WeightOne()
    {
        File.WriteAllText(Path.Join(_root, "cgroup.controllers"), "cpu io memory");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.True(groups.Available, "the lab's CPU groups are only used by root: run the lab tests as root");
        Assert.Null(groups.Ensure(["a"]));

        Assert.True(groups.EnsureBooting("a"));

        Assert.Equal("1", File.ReadAllText(Path.Join(_root, "scl27000-a-booting", "cpu.weight")));
        Assert.Equal("100", File.ReadAllText(Path.Join(_root, "scl27000", "a", "cpu.weight")));
    }

    [Fact]
    public void MoveThenEndBoot_ABootedProcess_JoinsItsZone()
    {
        File.WriteAllText(Path.Join(_root, "cpu.shares"), "1024");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.Null(groups.Ensure(["a", "b"]));
        Assert.True(groups.EnsureBooting("a"));

        Assert.True(groups.MoveToBooting(4321, "a"));
        Assert.Equal("4321", File.ReadAllText(Path.Join(_root, "scl27000-a-booting", "cgroup.procs")).Trim());

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
        Assert.False(groups.MoveToBooting(4321, "a"));
        groups.EndBoot("a");
        Assert.False(Directory.Exists(Path.Join(_root, "scl27000")));
        Assert.False(Directory.Exists(Path.Join(_root, "scl27000-a-booting")));
    }

    /// <summary>On this machine's own cpu hierarchy: the kernel decides what rmdir and cgroup.procs accept.</summary>
    [Fact]
    public void RealHierarchy_AZoneBootsAndTheLabGoesDown_ProcessJoinsItsZoneAndEveryGroupIsRemoved()
    {
        var name = $"scltest{Environment.ProcessId}";
        var groups = new ZoneCpuGroups(name);
        var other = new ZoneCpuGroups(name + "x");
        Assert.True(groups.Available, "no usable cpu cgroup controller, or not root: the lab tests run as root on Linux");
        using var sleeper = System.Diagnostics.Process.Start("sleep", "60");
        try
        {
            Assert.Null(groups.Ensure(["a", "b", "host"]));
            Assert.Null(other.Ensure(["a"]));
            Assert.True(groups.EnsureBooting("a"));
            Assert.True(other.EnsureBooting("a"));
            Assert.Equal(Path.GetDirectoryName(groups.ParentPath), Path.GetDirectoryName(groups.BootingPathOf("a")));

            Assert.True(groups.MoveToBooting(sleeper.Id, "a"));
            Assert.EndsWith($"/{name}-a-booting", CgroupOf(sleeper.Id), StringComparison.Ordinal);
            Assert.Contains(groups.Describe(), line => line.Contains($"{name}-a-booting: ", StringComparison.Ordinal) && line.EndsWith(", 1 processes", StringComparison.Ordinal));

            groups.EndBoot("a");
            Assert.EndsWith($"/{name}/a", CgroupOf(sleeper.Id), StringComparison.Ordinal);

            Assert.True(groups.MoveToBooting(sleeper.Id, "a"));
            groups.Remove();

            Assert.False(Directory.Exists(groups.ParentPath), "the lab's group is left");
            Assert.False(Directory.Exists(groups.BootingPathOf("a")), "the booting group beside the lab's is left");
            Assert.DoesNotContain(name + "-", CgroupOf(sleeper.Id), StringComparison.Ordinal);
            Assert.True(Directory.Exists(other.BootingPathOf("a")), "another lab's booting group was removed");
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
            groups.Remove();
            other.Remove();
        }
    }

    /// <summary>The process's group in the cpu hierarchy (v1: the line naming the cpu controller; v2: the one line).</summary>
    private static string CgroupOf(int pid) =>
        File.ReadAllLines($"/proc/{pid}/cgroup").Select(line => line.Split(':', 3)).First(parts => parts[1].Split(',').Contains("cpu") || parts[1].Length == 0)[2];

    private string Procs(string group) => File.ReadAllText(Path.Join(_root, "scl27000", group, "cgroup.procs")).Trim();

    private string BootingShares(string zone) => File.ReadAllText(Path.Join(_root, $"scl27000-{zone}-booting", "cpu.shares"));

    private string Shares(string group) => File.ReadAllText(Path.Join(_root, "scl27000", group, "cpu.shares"));
}
