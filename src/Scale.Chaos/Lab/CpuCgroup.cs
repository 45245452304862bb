using System.Globalization;

namespace Scale.Chaos.Lab;

/// <summary>
/// A CPU cgroup with a quota, like a Kubernetes pod's CPU limit: the instance and the stress-ng workers that eat its
/// quota are put in it, so one instance starves while the rest of the machine does not. cgroup v1 (the cpu
/// controller at /sys/fs/cgroup/cpu) or v2 (cpu.max). Needs root.
/// </summary>
internal sealed class CpuCgroup
{
    private const int PeriodMicroseconds = 100_000;
    private readonly bool _v2;

    private CpuCgroup(string path, string root, bool v2)
    {
        Path = path;
        Root = root;
        _v2 = v2;
    }

    public string Path { get; }

    private string Root { get; }

    /// <summary>Creates the cgroup with a quota of <paramref name="cores"/> CPUs.</summary>
    public static CpuCgroup Create(string name, double cores)
    {
        var v1 = "/sys/fs/cgroup/cpu";
        var v2 = "/sys/fs/cgroup";
        CpuCgroup group;
        if (File.Exists(System.IO.Path.Join(v1, "cpu.cfs_quota_us")))
        {
            group = new CpuCgroup(System.IO.Path.Join(v1, name), v1, v2: false);
        }
        else if (File.Exists(System.IO.Path.Join(v2, "cgroup.controllers")) && File.ReadAllText(System.IO.Path.Join(v2, "cgroup.controllers")).Split(' ', '\n').Contains("cpu"))
        {
            group = new CpuCgroup(System.IO.Path.Join(v2, name), v2, v2: true);
        }
        else
        {
            throw new ChaosException("CPU exhaustion of one instance needs the cpu cgroup controller (cgroup v1 /sys/fs/cgroup/cpu, or v2 with cpu enabled)");
        }

        try
        {
            Directory.CreateDirectory(group.Path);
            var quota = Math.Max(1000, (int)(cores * PeriodMicroseconds));
            if (group._v2)
            {
                File.WriteAllText(System.IO.Path.Join(group.Path, "cpu.max"), string.Create(CultureInfo.InvariantCulture, $"{quota} {PeriodMicroseconds}"));
            }
            else
            {
                File.WriteAllText(System.IO.Path.Join(group.Path, "cpu.cfs_period_us"), PeriodMicroseconds.ToString(CultureInfo.InvariantCulture));
                File.WriteAllText(System.IO.Path.Join(group.Path, "cpu.cfs_quota_us"), quota.ToString(CultureInfo.InvariantCulture));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ChaosException($"could not create the CPU cgroup {group.Path} ({ex.Message}): CPU exhaustion of one instance needs root");
        }

        return group;
    }

    private readonly Dictionary<string, string> _origins = [];

    /// <summary>
    /// Moves a process (all its threads) into the cgroup, remembering the group it was in (the lab puts each zone in
    /// a CPU group of its own), so <see cref="Remove"/> puts it back there rather than in the root.
    /// </summary>
    public void Add(int pid)
    {
        var id = pid.ToString(CultureInfo.InvariantCulture);
        if (CurrentGroup(pid) is { } origin)
        {
            _origins[id] = origin;
        }

        File.WriteAllText(System.IO.Path.Join(Path, "cgroup.procs"), id);
    }

    /// <summary>The directory of the CPU group a process is in now, from /proc/PID/cgroup (null when unreadable).</summary>
    private string? CurrentGroup(int pid)
    {
        try
        {
            foreach (var line in File.ReadAllLines($"/proc/{pid}/cgroup"))
            {
                // v1: "3:cpu,cpuacct:/scl27000/a" (or "1:cpu:/..."); v2: "0::/scl27000/a".
                var parts = line.Split(':', 3);
                if (parts.Length == 3 && (_v2 ? parts[0] == "0" && parts[1].Length == 0 : parts[1].Split(',').Contains("cpu")))
                {
                    var directory = System.IO.Path.Join(Root, parts[2].TrimStart('/'));
                    return Directory.Exists(directory) ? directory : null;
                }
            }
        }
        catch (IOException)
        {
            // Exited.
        }

        return null;
    }

    /// <summary>Periods in which the group was throttled, and the time it spent throttled (s).</summary>
    public (long Throttled, double ThrottledSeconds) Throttling()
    {
        long throttled = 0;
        double seconds = 0;
        var stat = System.IO.Path.Join(Path, "cpu.stat");
        if (!File.Exists(stat))
        {
            return (0, 0);
        }

        foreach (var line in File.ReadAllLines(stat))
        {
            var parts = line.Split(' ');
            if (parts.Length != 2 || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            switch (parts[0])
            {
                case "nr_throttled":
                    throttled = value;
                    break;
                case "throttled_time": // v1, nanoseconds
                    seconds = value / 1e9;
                    break;
                case "throttled_usec": // v2
                    seconds = value / 1e6;
                    break;
            }
        }

        return (throttled, seconds);
    }

    /// <summary>Moves every process left in the group back to the root and removes the group.</summary>
    public void Remove()
    {
        if (!Directory.Exists(Path))
        {
            return;
        }

        var procs = System.IO.Path.Join(Path, "cgroup.procs");
        foreach (var pid in File.Exists(procs) ? File.ReadAllLines(procs) : [])
        {
            try
            {
                var back = _origins.TryGetValue(pid, out var origin) && Directory.Exists(origin) ? origin : Root;
                File.WriteAllText(System.IO.Path.Join(back, "cgroup.procs"), pid);
            }
            catch (IOException)
            {
                // Exited meanwhile.
            }
        }

        for (var attempt = 0; attempt < 20; attempt++)
        {
            try
            {
                Directory.Delete(Path);
                return;
            }
            catch (IOException) when (attempt < 19)
            {
                // Busy until its last task has left.
                Thread.Sleep(100);
            }
        }
    }
}
