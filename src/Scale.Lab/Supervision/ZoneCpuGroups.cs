using System.Globalization;

namespace Scale.Lab.Supervision;

/// <summary>
/// One CPU cgroup per zone (and one for the host's load balancer and monitoring) under a parent for the lab, with equal
/// weights. A cloud zone has machines of its own: a zone that boots after an outage (two .NET web instances, Patroni,
/// PostgreSQL with pg_rewind, etcd) costs the other zones nothing. On one machine it would take the CPU the
/// surviving zones serve with (measured before this: p50 0.9-1.4 s for 2-3 s whenever a zone came back, on 2 cores).
/// Equal weights under contention give each zone a fair share, the closest one machine gets to zones that do not
/// share CPUs; without contention nothing is limited. The parent has the default weight, so the lab as a whole
/// claims no more of the machine than any other process (a core kept busy by another program stays busy).
/// A zone's web instances boot after an outage in a group of their own beside the lab's, idle (see
/// <see cref="BootingGroupOf"/>), and join the zone's group once ready.
/// cgroup v1 (the cpu controller at /sys/fs/cgroup/cpu) or v2 (cpu.weight). Where neither can be used (no root, no
/// cpu controller), the lab runs without them and says so in <see cref="Describe"/>.
/// The CPU the booting groups use is counted (<see cref="BootingCpuTime"/>), so the chaos runner's machine-capacity
/// verdict can tell the CPU the load had from what only idle priority took.
/// </summary>
public sealed class ZoneCpuGroups
{
    private const string V1Root = "/sys/fs/cgroup/cpu";
    private const string V2Root = "/sys/fs/cgroup";
    private const string V1AccountingRoot = "/sys/fs/cgroup/cpuacct";

    private readonly string _parentName;
    private readonly string? _root;
    private readonly bool _v2;

    /// <summary>
    /// cgroup v1 only: where the cpuacct controller is mounted when it is not beside cpu in one hierarchy (this
    /// project's 2-core machines mount them apart). The booting groups then have a twin there that counts their CPU;
    /// null when cpu's own groups count it (co-mounted, or v2) or nothing can.
    /// </summary>
    private readonly string? _separateAccountingRoot;

    /// <param name="parentName">The lab's group, e.g. scl27000 (unique per base port, like its namespaces).</param>
    /// <param name="cgroupRoot">Where the cpu hierarchy is mounted (null: found on this machine); for tests.</param>
    /// <param name="accountingRoot">Where a separate cpuacct hierarchy is mounted (null: found on this machine, unless
    /// <paramref name="cgroupRoot"/> is given); for tests.</param>
    public ZoneCpuGroups(string parentName, string? cgroupRoot = null, string? accountingRoot = null)
    {
        _parentName = parentName;
        if (cgroupRoot is not null)
        {
            _root = cgroupRoot;
            _v2 = File.Exists(Path.Join(cgroupRoot, "cgroup.controllers"));
            _separateAccountingRoot = accountingRoot;
        }
        else if (File.Exists(Path.Join(V1Root, "cpu.shares")))
        {
            _root = V1Root;
            _separateAccountingRoot = accountingRoot
                ?? (!File.Exists(Path.Join(V1Root, "cpuacct.usage")) && File.Exists(Path.Join(V1AccountingRoot, "cpuacct.usage")) ? V1AccountingRoot : null);
        }
        else if (File.Exists(Path.Join(V2Root, "cgroup.controllers")) && File.ReadAllText(Path.Join(V2Root, "cgroup.controllers")).Split(' ', '\n').Contains("cpu"))
        {
            _root = V2Root;
            _v2 = true;
        }
    }

    /// <summary>False where the machine has no usable cpu controller: the zones then share the CPU unweighted.</summary>
    public bool Available => _root is not null && Environment.UserName == "root";

    /// <summary>The lab's parent group.</summary>
    public string? ParentPath => _root is null ? null : Path.Join(_root, _parentName);

    /// <summary>The group of a zone (or "host"), whether or not it exists yet.</summary>
    public string? PathOf(string group) => ParentPath is { } parent ? Path.Join(parent, group) : null;

    /// <summary>The file a process writes its pid to, to join the group (null when the groups are not used).</summary>
    public string? ProcsFileOf(string group) => Available && PathOf(group) is { } path && Directory.Exists(path) ? Path.Join(path, "cgroup.procs") : null;

    /// <summary>Creates the parent and a group per name with equal weights; harmless when they exist.</summary>
    /// <returns>Null when done, otherwise why the groups are not used (the lab goes on without them).</returns>
    public string? Ensure(IEnumerable<string> groups)
    {
        if (!Available)
        {
            return _root is null ? "no cpu cgroup controller on this machine" : "needs root";
        }

        try
        {
            Directory.CreateDirectory(ParentPath!);
            if (_v2)
            {
                // v2: a child's cpu.weight only counts once the parent hands the cpu controller down.
                EnableV2Controller(_root!);
                EnableV2Controller(ParentPath!);
            }

            foreach (var group in groups)
            {
                var path = PathOf(group)!;
                Directory.CreateDirectory(path);
                File.WriteAllText(Path.Join(path, _v2 ? "cpu.weight" : "cpu.shares"), _v2 ? "100" : "1024");
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"could not create the zones' CPU groups under {ParentPath}: {ex.Message}";
        }
    }

    /// <summary>
    /// The group a zone's web instances boot in after an outage, <c>&lt;lab&gt;-&lt;zone&gt;-booting</c>, at the top of
    /// the cpu hierarchy beside the lab's group rather than inside it: an idle group is idle only toward its siblings, and
    /// whatever sends the traffic (the chaos runner's load generator, a user's load tool) runs outside the lab. Inside
    /// the lab's group the booting instances yielded to the survivors but still took CPU from the generator at the lab's
    /// full weight: with one core kept busy by another program, a zone-outage's after-return p99 was 197.6-469 ms over 11
    /// runs while HAProxy measured p50 2-14 ms per request; with the runner moved into the lab's group by hand, 32.0 and
    /// 19.7 ms.
    /// </summary>
    public string BootingGroupOf(string zone) => $"{_parentName}-{zone}-booting";

    /// <summary>The booting group's folder, whether or not it exists yet.</summary>
    public string? BootingPathOf(string zone) => _root is null ? null : Path.Join(_root, BootingGroupOf(zone));

    /// <summary>
    /// Creates the zone's booting group (<see cref="BootingGroupOf"/>) at the lowest weight there is (cgroup v1
    /// cpu.shares 2, v2 cpu.weight 1) and, where the kernel has it (5.15 and later), idle (<c>cpu.idle 1</c>: SCHED_IDLE
    /// for the whole group, so any other task that wakes up preempts it at once); harmless when it exists. A web instance
    /// that boots after an outage takes no traffic until it is ready, yet at its zone's weight its .NET warm-up won the
    /// survivors' CPU at every wake-up: restarting zone a's two web instances under 500 /test_db requests/s raised the
    /// survivors' p99 to 153 ms at the zone's weight and to 67 ms at the lowest; with the group idle, two stress-ng CPU
    /// workers or two restarting web instances in it left the survivors' p50 at 0.6-1 ms (100-200 requests/s).
    /// PostgreSQL and etcd boot at the zone's weight: a rewound replica is back behind the load balancer 2 s after it
    /// starts, and when the whole zone booted at the lowest weight the survivors' reads that went to it waited (p99
    /// 50-124 ms for 12 s against 6 ms before the fault, on a default zone-outage).
    /// </summary>
    /// <returns>False when the groups are not used (nothing changed).</returns>
    public bool EnsureBooting(string zone)
    {
        if (!Available || PathOf(zone) is not { } zonePath || !Directory.Exists(zonePath))
        {
            return false;
        }

        var path = BootingPathOf(zone)!;
        Directory.CreateDirectory(path);
        if (AccountingPathOf(zone) is { } accounting)
        {
            Directory.CreateDirectory(accounting);
        }

        // The kernel refuses a weight for an idle group (EINVAL): the weight first, and only while it is not idle.
        var idle = Path.Join(path, "cpu.idle");
        var idleAlready = File.Exists(idle) && File.ReadAllText(idle).Trim() == "1";
        if (!idleAlready)
        {
            File.WriteAllText(Path.Join(path, _v2 ? "cpu.weight" : "cpu.shares"), _v2 ? "1" : "2");
            if (File.Exists(idle))
            {
                File.WriteAllText(idle, "1");
            }
        }

        return true;
    }

    /// <summary>Moves a process, all its threads, into the zone's booting group; what it starts from then on boots there.</summary>
    /// <returns>False when the groups are not used, the booting group does not exist, or the process has exited.</returns>
    public bool MoveToBooting(int pid, string zone)
    {
        if (!Available || BootingPathOf(zone) is not { } path || !Directory.Exists(path) || !WritePid(Path.Join(path, "cgroup.procs"), pid))
        {
            return false;
        }

        if (AccountingPathOf(zone) is { } accounting && Directory.Exists(accounting))
        {
            WritePid(Path.Join(accounting, "cgroup.procs"), pid);
        }

        return true;
    }

    /// <summary>
    /// Moves a process, all its threads, into a group; what it starts from then on starts there too. Out of a booting
    /// group's twin in a separate cpuacct hierarchy as well, back to that hierarchy's root, where the lab's processes
    /// are (the lab puts none of them anywhere else there), so what it uses from then on is not counted as booting.
    /// </summary>
    /// <returns>False when the groups are not used, the group does not exist, or the process has exited.</returns>
    public bool Move(int pid, string group)
    {
        if (ProcsFileOf(group) is not { } procs || !WritePid(procs, pid))
        {
            return false;
        }

        if (_separateAccountingRoot is { } accounting)
        {
            WritePid(Path.Join(accounting, "cgroup.procs"), pid);
        }

        return true;
    }

    /// <summary>
    /// The CPU time every process used while in one of this lab's booting groups, since the groups were made (they are
    /// kept until the lab goes down, so two readings give what booting took between them): from cpuacct.usage (v1) or
    /// cpu.stat's usage_usec (v2). Zero before any zone has booted; null where it cannot be counted (the groups are not
    /// used, or cgroup v1 without a cpuacct controller).
    /// </summary>
    public TimeSpan? BootingCpuTime()
    {
        if (!Available)
        {
            return null;
        }

        var total = TimeSpan.Zero;
        if (_v2)
        {
            foreach (var group in BootingGroups())
            {
                total += UsageOfV2(group);
            }

            return total;
        }

        var accountingRoot = _separateAccountingRoot ?? (File.Exists(Path.Join(_root!, "cpuacct.usage")) ? _root : null);
        if (accountingRoot is null)
        {
            return null;
        }

        foreach (var group in BootingGroupsUnder(accountingRoot))
        {
            var usage = Path.Join(group, "cpuacct.usage");
            if (File.Exists(usage) && long.TryParse(File.ReadAllText(usage).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var nanoseconds))
            {
                total += TimeSpan.FromTicks(nanoseconds / 100);
            }
        }

        return total;
    }

    private static TimeSpan UsageOfV2(string group)
    {
        var stat = Path.Join(group, "cpu.stat");
        if (!File.Exists(stat))
        {
            return TimeSpan.Zero;
        }

        foreach (var line in File.ReadLines(stat))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields is ["usage_usec", var value] && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds))
            {
                return TimeSpan.FromMicroseconds(microseconds);
            }
        }

        return TimeSpan.Zero;
    }

    /// <summary>The booting group's twin in a separate cpuacct hierarchy; null when there is none to keep.</summary>
    private string? AccountingPathOf(string zone) =>
        _separateAccountingRoot is { } root ? Path.Join(root, BootingGroupOf(zone)) : null;

    /// <summary>Moves every process still in the zone's booting group into the zone's group.</summary>
    public void EndBoot(string zone)
    {
        if (!Available || BootingPathOf(zone) is not { } path || !File.Exists(Path.Join(path, "cgroup.procs")))
        {
            return;
        }

        var procs = Path.Join(path, "cgroup.procs");
        foreach (var line in File.ReadAllLines(procs))
        {
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                Move(pid, zone);
            }
        }
    }

    /// <summary>Moves whatever is left in the groups back to the root and removes them; harmless when there are none.</summary>
    public void Remove()
    {
        if (ParentPath is not { } parent)
        {
            return;
        }

        // Children before their parent (rmdir refuses a group with children); the booting groups beside the parent.
        var all = (Directory.Exists(parent) ? Directory.GetDirectories(parent).Append(parent) : []).Concat(BootingGroups()).ToList();
        RemoveGroups(all, _root!);
        if (_separateAccountingRoot is { } accounting)
        {
            RemoveGroups(BootingGroupsUnder(accounting), accounting);
        }
    }

    /// <summary>Moves the groups' processes to the hierarchy's root, then removes the groups.</summary>
    private static void RemoveGroups(IReadOnlyList<string> groups, string root)
    {
        foreach (var group in groups)
        {
            var procs = Path.Join(group, "cgroup.procs");
            foreach (var pid in File.Exists(procs) ? File.ReadAllLines(procs) : [])
            {
                try
                {
                    File.WriteAllText(Path.Join(root, "cgroup.procs"), pid);
                }
                catch (IOException)
                {
                    // Exited meanwhile.
                }
            }
        }

        foreach (var group in groups)
        {
            RemoveDirectory(group);
        }
    }

    /// <summary>One line per group with its weight and how many processes are in it, for `scale lab status`.</summary>
    public IReadOnlyList<string> Describe()
    {
        if (ParentPath is not { } parent || !Directory.Exists(parent))
        {
            return [Available ? "zones' CPU groups: not created" : "zones' CPU groups: not used (" + (_root is null ? "no cpu cgroup controller" : "needs root") + ")"];
        }

        return Directory.GetDirectories(parent).Concat(BootingGroups()).Order(StringComparer.Ordinal).Select(group =>
        {
            var weightFile = Path.Join(group, _v2 ? "cpu.weight" : "cpu.shares");
            var weight = File.Exists(weightFile) ? File.ReadAllText(weightFile).Trim() : "?";
            var procs = Path.Join(group, "cgroup.procs");
            var count = File.Exists(procs) ? File.ReadAllLines(procs).Length : 0;
            var idleFile = Path.Join(group, "cpu.idle");
            var idle = File.Exists(idleFile) && File.ReadAllText(idleFile).Trim() == "1" ? ", idle" : "";
            return string.Create(CultureInfo.InvariantCulture, $"{group}: {(_v2 ? "cpu.weight" : "cpu.shares")} {weight}{idle}, {count} processes");
        }).ToList();
    }

    /// <summary>The booting groups of this lab that exist (beside the lab's group, one per zone that came back).</summary>
    private string[] BootingGroups() => _root is not null ? BootingGroupsUnder(_root) : [];

    private string[] BootingGroupsUnder(string root) =>
        Directory.Exists(root) ? Directory.GetDirectories(root, $"{_parentName}-*-booting") : [];

    private static bool WritePid(string procs, int pid)
    {
        try
        {
            File.WriteAllText(procs, pid.ToString(CultureInfo.InvariantCulture));
            return true;
        }
        catch (IOException)
        {
            // Exited meanwhile (ESRCH).
            return false;
        }
    }

    private static void EnableV2Controller(string group)
    {
        var control = Path.Join(group, "cgroup.subtree_control");
        if (File.Exists(control) && !File.ReadAllText(control).Split(' ', '\n').Contains("cpu"))
        {
            File.WriteAllText(control, "+cpu");
        }
    }

    private static void RemoveDirectory(string group)
    {
        // A cgroup directory is removed with rmdir (its control files cannot be deleted); the kernel refuses while a
        // process that was just killed is still exiting, so a few tries.
        for (var attempt = 0; attempt < 20 && Directory.Exists(group); attempt++)
        {
            try
            {
                Directory.Delete(group);
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
        }
    }
}
