using Scale.Lab.Supervision;

namespace Scale.Lab.Tests;

/// <summary>The zones' CPU weights, on a cgroup v1 cpu hierarchy laid out in a temporary folder (the kernel's files are
/// plain files to write; the lab's real groups are covered by the lab test).</summary>
public sealed class ZoneCpuGroupsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("scale-cgroup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void SetBooting_AZoneComingBack_LowestWeightThenEqualAgain()
    {
        File.WriteAllText(Path.Join(_root, "cpu.shares"), "1024");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.True(groups.Available, "the lab's CPU groups are only used by root: run the lab tests as root");
        Assert.Null(groups.Ensure(["a", "b", "host"]));

        Assert.True(groups.SetBooting("a", booting: true));
        Assert.Equal("2", Shares("a"));
        Assert.Equal("1024", Shares("b"));
        Assert.Contains(groups.Describe(), line => line.EndsWith("/a: cpu.shares 2, 0 processes", StringComparison.Ordinal));

        Assert.True(groups.SetBooting("a", booting: false));
        Assert.Equal("1024", Shares("a"));
    }

    [Fact]
    public void SetBooting_V2Hierarchy_WeightOneThenHundred()
    {
        File.WriteAllText(Path.Join(_root, "cgroup.controllers"), "cpu io memory");
        var groups = new ZoneCpuGroups("scl27000", _root);
        Assert.True(groups.Available, "the lab's CPU groups are only used by root: run the lab tests as root");
        Assert.Null(groups.Ensure(["a"]));

        Assert.True(groups.SetBooting("a", booting: true));
        Assert.Equal("1", File.ReadAllText(Path.Join(_root, "scl27000", "a", "cpu.weight")));
        Assert.True(groups.SetBooting("a", booting: false));
        Assert.Equal("100", File.ReadAllText(Path.Join(_root, "scl27000", "a", "cpu.weight")));
    }

    [Fact]
    public void SetBooting_GroupNotCreated_ChangesNothing()
    {
        File.WriteAllText(Path.Join(_root, "cpu.shares"), "1024");
        var groups = new ZoneCpuGroups("scl27000", _root);

        Assert.False(groups.SetBooting("a", booting: true));
        Assert.False(Directory.Exists(Path.Join(_root, "scl27000", "a")));
    }

    private string Shares(string group) => File.ReadAllText(Path.Join(_root, "scl27000", group, "cpu.shares"));
}
