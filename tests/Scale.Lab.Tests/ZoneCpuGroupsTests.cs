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

    [Fact]
    public void BootingCpuTime_SeparateCpuacctHierarchy_CountsTheTwinsAndAProcessLeavesWithItsZone()
    {
        File.WriteAllText(Path.Join(_root, "cpu.shares"), "1024");
        var accounting = Directory.CreateDirectory(Path.Join(_root, "cpuacct")).FullName;
        var groups = new ZoneCpuGroups("scl27000", Path.Join(_root), accounting);
        Assert.Null(groups.Ensure(["a", "b"]));
        Assert.Equal(TimeSpan.Zero, groups.BootingCpuTime());

        Assert.True(groups.EnsureBooting("a"));
        Assert.True(groups.MoveToBooting(4321, "a"));

        var twin = Path.Join(accounting, "scl27000-a-booting");
        Assert.Equal("4321", File.ReadAllText(Path.Join(twin, "cgroup.procs")).Trim());
        // The kernel's counter, in nanoseconds; another lab's booting group is not this lab's.
        File.WriteAllText(Path.Join(twin, "cpuacct.usage"), "1500000000\n");
        Directory.CreateDirectory(Path.Join(accounting, "scl28000-a-booting"));
        File.WriteAllText(Path.Join(accounting, "scl28000-a-booting", "cpuacct.usage"), "9000000000\n");
        Assert.Equal(TimeSpan.FromSeconds(1.5), groups.BootingCpuTime());

        groups.EndBoot("a");

        Assert.Equal("4321", Procs("a"));
        Assert.Equal("4321", File.ReadAllText(Path.Join(accounting, "cgroup.procs")).Trim());
    }

    [Fact]
    public void BootingCpuTime_V2Hierarchy_UsageOfTheBootingGroups()
    {
        File.WriteAllText(Path.Join(_root, "cgroup.controllers"), "cpu io memory");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.Null(groups.Ensure(["a", "b"]));
        Assert.True(groups.EnsureBooting("a"));
        Assert.True(groups.EnsureBooting("b"));
        File.WriteAllText(Path.Join(_root, "scl27000-a-booting", "cpu.stat"), "usage_usec 2250000\nuser_usec 2000000\nsystem_usec 250000\n");
        File.WriteAllText(Path.Join(_root, "scl27000-b-booting", "cpu.stat"), "usage_usec 750000\n");

        Assert.Equal(TimeSpan.FromSeconds(3), groups.BootingCpuTime());
    }

    [Fact]
    public void BootingCpuTime_V1WithoutCpuacct_Unknown()
    {
        File.WriteAllText(Path.Join(_root, "cpu.shares"), "1024");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.Null(groups.Ensure(["a"]));

        Assert.Null(groups.BootingCpuTime());
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
            var accounted = AccountingGroupOf(sleeper.Id);
            if (accounted is not null)
            {
                Assert.EndsWith($"/{name}-a-booting", accounted, StringComparison.Ordinal);
            }

            groups.EndBoot("a");
            Assert.EndsWith($"/{name}/a", CgroupOf(sleeper.Id), StringComparison.Ordinal);
            Assert.DoesNotContain("booting", AccountingGroupOf(sleeper.Id) ?? "", StringComparison.Ordinal);

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

    /// <summary>
    /// The kernel counts what a process uses in the booting group, at idle priority, and stops when it joins its zone.
    /// </summary>
    [Fact]
    public async Task RealHierarchy_ABusyProcessBoots_ItsCpuIsCountedAsBooting()
    {
        var name = $"scltestcpu{Environment.ProcessId}";
        var groups = new ZoneCpuGroups(name);
        Assert.True(groups.Available, "no usable cpu cgroup controller, or not root: the lab tests run as root on Linux");
        using var spinner = System.Diagnostics.Process.Start("sh", ["-c", "while :; do :; done"]);
        try
        {
            Assert.Null(groups.Ensure(["a"]));
            Assert.True(groups.EnsureBooting("a"));
            var before = groups.BootingCpuTime();
            Assert.NotNull(before);

            Assert.True(groups.MoveToBooting(spinner.Id, "a"));
            // Idle priority gets what nothing else wants: on a machine busy with other tests that can take a while.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (groups.BootingCpuTime() - before < TimeSpan.FromMilliseconds(100) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.True(groups.BootingCpuTime() - before >= TimeSpan.FromMilliseconds(100), $"booting CPU {groups.BootingCpuTime() - before}");

            groups.EndBoot("a");
            var joined = groups.BootingCpuTime();
            await Task.Delay(500);
            // A process that joined its zone is counted no more (a few ms for the moment the move took).
            Assert.True(groups.BootingCpuTime() - joined < TimeSpan.FromMilliseconds(50), $"still counted after joining: {groups.BootingCpuTime() - joined}");
        }
        finally
        {
            spinner.Kill();
            spinner.WaitForExit();
            groups.Remove();
        }
    }

    /// <summary>The process's group in a cpuacct hierarchy of its own, null where cpuacct shares cpu's (or v2).</summary>
    private static string? AccountingGroupOf(int pid) =>
        File.ReadAllLines($"/proc/{pid}/cgroup").Select(line => line.Split(':', 3)).FirstOrDefault(parts => parts[1] == "cpuacct")?[2];

    private string Procs(string group) => File.ReadAllText(Path.Join(_root, "scl27000", group, "cgroup.procs")).Trim();

    private string BootingShares(string zone) => File.ReadAllText(Path.Join(_root, $"scl27000-{zone}-booting", "cpu.shares"));

    private string Shares(string group) => File.ReadAllText(Path.Join(_root, "scl27000", group, "cpu.shares"));
}
