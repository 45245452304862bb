using System.Diagnostics;
using System.Globalization;
using Scale.Chaos.Targets;
using Scale.Lab;
using Scale.Lab.Haproxy;
using Scale.Lab.Network;
using Scale.Lab.Patroni;

namespace Scale.Chaos.Lab;

/// <summary>
/// The local lab as a chaos target (`scale lab up`): zones are network namespaces with their own supervisord,
/// Patroni tells the database roles, HAProxy's statistics where traffic goes. Faults are real: SIGKILL to process
/// trees (restarted by the zone's supervisord, as a ReplicaSet would), a zone's every process killed and its link
/// taken down for a set time (an outage), silent partitions and netem on the zone's link, a CPU cgroup with stress-ng.
/// </summary>
public sealed class LabTarget : IChaosTarget, IZoneFaults, INetworkFaults, ICpuFaults, IPrometheusSource, IStoreAccess, ITimelineSource, IIdlePriorityCpu
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private readonly LabController _controller;
    private readonly LabLayout _layout;
    private readonly LabSecrets _secrets;
    private readonly TextWriter _log;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly PatroniClient _patroni;
    private readonly List<StressRun> _stress = [];
    private Task? _holdDown;

    public LabTarget(LabOptions options, TextWriter log, bool dryRun = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        var saved = options.WithSaved();
        _controller = new LabController(saved, TextWriter.Null);
        _layout = _controller.Layout;
        _log = log;
        _patroni = new PatroniClient(_http);
        DryRun = dryRun;
        if (!_controller.IsRunning || !File.Exists(_layout.SecretsFile))
        {
            throw new ChaosException($"no lab runs in {_layout.Root}: start one with `scale lab up` (or give --dir)");
        }

        _secrets = LabSecrets.LoadOrCreate(_layout.SecretsFile);
        ScaleProgram = options.ScaleProgram;
    }

    public string Name => "lab";

    public bool DryRun { get; }

    public Uri? ServiceUrl => new(_layout.Url);

    public LabLayout Layout => _layout;

    public Uri PrometheusUrl => new($"http://127.0.0.1:{_layout.PrometheusPort}/");

    public IReadOnlyList<string> WebInstances => _layout.Web.Select(w => w.Name).ToList();

    /// <summary>What a returning zone's web instances used while they booted in the lab's idle CPU groups.</summary>
    public TimeSpan? IdlePriorityCpuTime() => _controller.CpuGroups.BootingCpuTime();

    /// <summary>A returning zone's web instances, as each became ready and left the idle group (<see cref="LabController.IdleBoots"/>).</summary>
    public IReadOnlyList<IdlePriorityBoot> IdlePriorityBoots() =>
        [.. _controller.IdleBoots.Boots.Select(b => new IdlePriorityBoot(b.Instance, b.Booting, b.Schedule.Running, b.Schedule.Waiting))];

    public IReadOnlyCollection<string> IdlePriorityBooting() => _controller.IdleBoots.Booting;

    /// <summary>The scale program (.dll) batch runs start.</summary>
    public string ScaleProgram { get; }

    /// <summary>The store as the web instances see it (primary and replicas through HAProxy).</summary>
    public string StoreConnectionString => _layout.DatabaseFor(_secrets);

    /// <summary>The primary through HAProxy, as the store's owner, for the write prober: short timeouts, so an outage shows as failed writes, not hung ones.
    /// No GSS encryption (the store's default too): negotiating it hung a new connection for 5 s every few seconds where
    /// no Kerberos is set up, which the prober recorded as 5 s without writes before any fault.</summary>
    public string WriteConnectionString =>
        $"Host={_layout.Network.HostAddress};Port={_layout.PrimaryPort};Database=scale;Username=scale;Password={_secrets.AppPassword};Timeout=2;Command Timeout=3;Pooling=false;Include Error Detail=true;GSS Encryption Mode=Disable";

    /// <summary>Each PostgreSQL member at its own address in its zone, with the write prober's short timeouts.</summary>
    public IReadOnlyList<(string Name, string ConnectionString)> DirectWriteConnectionStrings =>
        LabLayout.Zones.Select((zone, z) => ($"pg-{zone}",
            $"Host={_layout.Network.ZoneAddress(z)};Port={_layout.PostgresPort(z)};Database=scale;Username=scale;Password={_secrets.AppPassword};Timeout=2;Command Timeout=3;Pooling=false;Include Error Detail=true;GSS Encryption Mode=Disable")).ToList();

    /// <summary>The primary as superuser, for creating the batch experiment's databases.</summary>
    internal string SuperuserConnectionString(string database) =>
        $"Host={_layout.Network.HostAddress};Port={_layout.PrimaryPort};Database={database};Username=postgres;Password={_secrets.SuperuserPassword};Timeout=5;Command Timeout=60;Pooling=false;GSS Encryption Mode=Disable";

    internal string DatabaseUrl(string database) =>
        $"Host={_layout.Network.HostAddress}:{_layout.PrimaryPort},{_layout.Network.HostAddress}:{_layout.ReplicasPort};Database={database};Username=scale;Password={_secrets.AppPassword};Timeout=5;Command Timeout=60";

    public async Task<IReadOnlyList<TargetInstance>> InstancesAsync(CancellationToken cancellationToken)
    {
        var status = await _controller.StatusAsync(cancellationToken);
        return status.Select(c => new TargetInstance(
            c.Name,
            c.Kind switch { "patroni" => "database", var kind => kind },
            c.Zone,
            c.Healthy,
            c.Role,
            $"{c.Process}, {c.Detail}".TrimEnd(' ', ','))).ToList();
    }

    /// <summary>
    /// The primary is the member whose Patroni reports role primary (or master) and state running; the streaming
    /// replicas are those in its pg_stat_replication (Patroni's "replication" list) with state streaming.
    /// </summary>
    public async Task<DatabaseRoles> DatabaseRolesAsync(CancellationToken cancellationToken)
    {
        foreach (var component in _layout.Components.Where(c => c.Kind == "patroni"))
        {
            var member = await _patroni.MemberAsync(component.Address, cancellationToken);
            if (member.IsRunningPrimary)
            {
                return new DatabaseRoles(component.Name, member.StreamingReplicas);
            }
        }

        return new DatabaseRoles(null, []);
    }

    /// <summary>
    /// SIGKILL to every process of the zone but its supervisord, which restarts them: every pod of a zone killed at
    /// once, on nodes that live on. The zone's network stays up.
    /// </summary>
    public async Task<FaultReport> TerminateZoneAsync(string zone, CancellationToken cancellationToken)
    {
        var z = ZoneIndex(zone);
        var supervisor = _controller.ZoneSupervisors[z].Pid;
        // The zone's delay line (a network fault, not a pod) is left alone: killing it would silently end a degradation.
        var delayLines = await _controller.Network.DelayLineProcessesAsync(z, cancellationToken);
        var roots = (await _controller.Network.ZoneProcessesAsync(z, cancellationToken)).Where(p => p != supervisor && !delayLines.Contains(p)).ToList();
        var names = _layout.InZone(zone).Select(c => c.Name).ToList();
        if (DryRun)
        {
            return new FaultReport("terminate_zone", names, $"dry run: would SIGKILL every process of zone {zone} but its supervisord ({roots.Count} processes)");
        }

        var killed = ProcessTree.KillAll(ProcessTree.WithDescendants(roots));
        _log.WriteLine($"  SIGKILL zone {zone}: {string.Join(", ", names)} ({killed} processes)");
        return new FaultReport("terminate_zone", names, $"SIGKILL zone {zone}: {string.Join(", ", names)} ({killed} processes); its supervisord restarts them")
        {
            Measurements = new Dictionary<string, double>(StringComparer.Ordinal) { ["processes_killed"] = killed },
        };
    }

    /// <summary>
    /// The zone goes dark: every process in its namespace, its supervisord included, is killed at once (nothing
    /// restarts them), then its link goes down, so nothing reaches it and nothing is refused until
    /// <see cref="RestoreZoneAsync"/>.
    /// </summary>
    public async Task<FaultReport> ZoneOutageAsync(string zone, CancellationToken cancellationToken)
    {
        var z = ZoneIndex(zone);
        var names = _layout.InZone(zone).Select(c => c.Name).ToList();
        var roles = await DatabaseRolesAsync(cancellationToken);
        var primaryHere = roles.Primary is { } primary && _layout.InZone(zone).Any(c => c.Name == primary);
        if (DryRun)
        {
            return new FaultReport("zone_outage", names, $"dry run: would kill every process of zone {zone} ({string.Join(", ", names)}{(primaryHere ? ", the primary among them" : "")}) and take its link down");
        }

        var killed = await _controller.Network.KillZoneProcessesAsync(z, cancellationToken);
        await _controller.Network.SetZoneLinkAsync(z, up: false, cancellationToken);
        var detail = $"zone {zone} down: {killed} processes killed ({string.Join(", ", names)}{(primaryHere ? $"; {roles.Primary} was the primary" : "")}), link {_layout.Network.HostLink(z)} down";
        _log.WriteLine($"  {detail}");
        return new FaultReport("zone_outage", names, detail)
        {
            Measurements = new Dictionary<string, double>(StringComparer.Ordinal) { ["processes_killed"] = killed, ["primary_in_zone"] = primaryHere ? 1 : 0 },
        };
    }

    /// <summary>The zone's link up, its supervisord and programs started: PostgreSQL rejoins as a replica (rewound by Patroni when needed).</summary>
    public async Task<FaultReport> RestoreZoneAsync(string zone, CancellationToken cancellationToken)
    {
        var z = ZoneIndex(zone);
        if (DryRun)
        {
            return new FaultReport("restore_zone", [zone], $"dry run: would bring zone {zone} back");
        }

        var wasDown = !_controller.ZoneSupervisors[z].IsRunning;
        await _controller.StartZoneAsync(zone, cancellationToken);
        return new FaultReport("restore_zone", [zone], wasDown ? $"zone {zone} back: link up, its supervisord and programs started" : $"zone {zone} was not down");
    }

    public async Task<FaultReport> PartitionZoneAsync(string zone, bool fromLoadBalancerToo, CancellationToken cancellationToken)
    {
        var z = ZoneIndex(zone);
        var roles = await DatabaseRolesAsync(cancellationToken);
        var primaryHere = roles.Primary is { } primary && _layout.InZone(zone).Any(c => c.Name == primary);
        var what = fromLoadBalancerToo ? "every other zone and the host (load balancer, monitoring)" : "the other zones (the load balancer still reaches it)";
        if (DryRun)
        {
            return new FaultReport("partition_zone", [zone], $"dry run: would cut zone {zone} off from {what}");
        }

        await _controller.Network.PartitionAsync(z, fromLoadBalancerToo ? PartitionScope.All : PartitionScope.Zones, cancellationToken);
        var detail = $"zone {zone} cut off from {what}; packets are silently lost{(primaryHere ? $"; {roles.Primary} was the primary" : "")}";
        _log.WriteLine($"  {detail}");
        return new FaultReport("partition_zone", [zone], detail)
        {
            Measurements = new Dictionary<string, double>(StringComparer.Ordinal) { ["primary_in_zone"] = primaryHere ? 1 : 0 },
        };
    }

    public async Task<FaultReport> HealPartitionAsync(string zone, CancellationToken cancellationToken)
    {
        var z = ZoneIndex(zone);
        if (!DryRun)
        {
            await _controller.Network.HealAsync(z, cancellationToken);
        }

        return new FaultReport("heal_partition", [zone], DryRun ? $"dry run: would heal zone {zone}'s partition" : $"zone {zone} reachable again");
    }

    public async Task<FaultReport> DegradeZoneNetworkAsync(string zone, double delayMs, double jitterMs, double lossPercent, CancellationToken cancellationToken)
    {
        var z = ZoneIndex(zone);
        if (DryRun)
        {
            return new FaultReport("degrade_network", [zone], string.Create(Invariant, $"dry run: would delay every packet leaving zone {zone} by {delayMs} ms (± {jitterMs} ms) and lose {lossPercent}%"));
        }

        NetworkDegradation degradation;
        try
        {
            degradation = await _controller.Network.DegradeAsync(z, delayMs, jitterMs, lossPercent, cancellationToken);
        }
        catch (NetworkFaultUnsupportedException ex)
        {
            throw new ChaosException($"degrade_network cannot run on this machine: {ex.Message}");
        }

        var what = string.Create(Invariant, $"every packet leaving zone {zone}: {degradation.Detail} ({degradation.MechanismName})");
        _log.WriteLine($"  {what}");
        return new FaultReport("degrade_network", [zone], what)
        {
            Measurements = new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["delay_ms"] = degradation.DelayMs,
                ["jitter_ms"] = degradation.JitterMs,
                ["loss_percent"] = degradation.LossPercent,
            },
            Labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["mechanism"] = degradation.MechanismName },
        };
    }

    public async Task<FaultReport> RestoreZoneNetworkAsync(string zone, CancellationToken cancellationToken)
    {
        var z = ZoneIndex(zone);
        if (!DryRun)
        {
            await _controller.Network.RestoreAsync(z, cancellationToken);
        }

        return new FaultReport("restore_network", [zone], DryRun ? $"dry run: would restore zone {zone}'s network" : $"zone {zone}'s network restored (netem or delay line removed)");
    }

    private int ZoneIndex(string zone)
    {
        try
        {
            return _layout.Network.ZoneIndex(zone);
        }
        catch (ArgumentException ex)
        {
            throw new ChaosException(ex.Message);
        }
    }

    /// <summary>Timeline events the target makes on its own (a held-down instance started again), for the run's journal.</summary>

    public Action<string, string>? OnEvent { get; set; }

    /// <summary>
    /// Kills the primary and keeps it down until another member is primary (at most <see cref="PrimaryHoldDown"/>),
    /// then starts it again: a machine that dies stays dead for longer than Patroni's leader key lives, so a replica
    /// is promoted; restarted at once, Patroni would find its own key and carry on as primary.
    /// </summary>
    public async Task<FaultReport> KillPrimaryAsync(CancellationToken cancellationToken)
    {
        var roles = await DatabaseRolesAsync(cancellationToken);
        var primary = _layout.Components.FirstOrDefault(c => c.Name == roles.Primary)
            ?? throw new ChaosException("no PostgreSQL primary is running in the lab to kill (scale lab status)");
        var report = await KillAsync("kill_primary", [primary], $"primary {primary.Name} (zone {primary.Zone})", cancellationToken);
        if (!DryRun)
        {
            // supervisord restarts what dies: stop the restarted one before it gets anywhere.
            await _controller.SupervisorOf(primary).StopAsync([primary.Name], CancellationToken.None);
            _holdDown = Task.Run(() => StartAfterFailoverAsync(primary), CancellationToken.None);
        }

        return report with { Detail = report.Detail + $"; held down until another member is primary (at most {PrimaryHoldDown.TotalSeconds:0} s), then started again" };
    }

    /// <summary>The longest a killed primary is kept down.</summary>
    public TimeSpan PrimaryHoldDown { get; init; } = TimeSpan.FromSeconds(60);

    private async Task StartAfterFailoverAsync(LabComponent component)
    {
        var name = component.Name;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < PrimaryHoldDown)
        {
            var roles = await DatabaseRolesAsync(CancellationToken.None);
            if (roles.Primary is { } primary && primary != name)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }

        await _controller.SupervisorOf(component).StartAsync([name], CancellationToken.None);
        OnEvent?.Invoke("recovery", string.Create(Invariant, $"{name} started again after {clock.Elapsed.TotalSeconds:0.0} s down (it rejoins as a replica)"));
    }

    public Task<FaultReport> KillBatchWorkersAsync(int count, Random random, CancellationToken cancellationToken) =>
        throw new ChaosException("in the lab, batch workers are killed by batch_run_with_kills, which also starts them and compares with a clean run");

    /// <summary>
    /// Exhausts one instance's CPU: it goes into a cgroup with a quota of <paramref name="cores"/> CPUs (a pod's CPU
    /// limit) together with <paramref name="workers"/> stress-ng CPU workers that use all of it.
    /// </summary>
    public async Task<FaultReport> StressCpuAsync(string instance, double cores, int workers, TimeSpan duration, CancellationToken cancellationToken)
    {
        var component = _layout.Components.FirstOrDefault(c => c.Name == instance)
            ?? throw new ChaosException($"the lab has no instance '{instance}' (web instances: {string.Join(", ", _layout.Web.Select(w => w.Name))})");
        var stressNg = ProgramRunner.Find("stress-ng") ?? throw new ChaosException("stress-ng is not installed: apt-get install stress-ng");
        var pid = (await PidsAsync(cancellationToken)).TryGetValue(component.Name, out var found) ? found : throw new ChaosException($"{instance} is not running");
        if (DryRun)
        {
            return new FaultReport("stress_cpu", [instance], string.Create(Invariant, $"dry run: would limit {instance} (pid {pid}) to {cores} CPU and run {workers} stress-ng CPU workers in its cgroup for {duration.TotalSeconds:0} s"));
        }

        var group = CpuCgroup.Create($"scale-lab-{_layout.Options.BasePort}-{instance}", cores);
        var before = ProcessTree.CpuSeconds(pid);
        group.Add(pid);
        foreach (var thread in ProcessTree.WithDescendants([pid]).Where(p => p != pid))
        {
            group.Add(thread);
        }

        // The shell joins the cgroup before it becomes stress-ng, so every worker it forks starts inside.
        var start = new ProcessStartInfo("/bin/sh", ["-c", $"echo $$ > '{group.Path}/cgroup.procs' && exec '{stressNg}' --cpu {workers} --timeout {(int)Math.Ceiling(duration.TotalSeconds)}s --quiet"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var stress = Process.Start(start) ?? throw new ChaosException("stress-ng did not start");
        var run = new StressRun(instance, pid, group, stress, before, group.Throttling(), cores, Stopwatch.StartNew());
        _stress.Add(run);
        _log.WriteLine(string.Create(Invariant, $"  {instance} (pid {pid}) limited to {cores} CPU with {workers} stress-ng workers in {group.Path}"));
        return new FaultReport("stress_cpu", [instance], string.Create(Invariant, $"{instance} limited to {cores} CPU in cgroup {group.Path}, {workers} stress-ng CPU workers for {duration.TotalSeconds:0} s"));
    }

    /// <summary>Stops the stress and lifts the limit; reports the evidence that the stress applied (throttling, CPU used).</summary>
    public async Task<FaultReport> StopStressAsync(CancellationToken cancellationToken)
    {
        var hit = new List<string>();
        var measurements = new Dictionary<string, double>(StringComparer.Ordinal);
        var details = new List<string>();
        foreach (var run in _stress)
        {
            var throttling = run.Group.Throttling();
            var stressPids = ProcessTree.WithDescendants([run.Stress.Id]);
            // Live workers, plus what the stress-ng parent has reaped from finished ones.
            var stressCpu = stressPids.Where(p => p != run.Stress.Id).Sum(p => ProcessTree.CpuSeconds(p)) + ProcessTree.CpuSeconds(run.Stress.Id, withReapedChildren: true);
            var instanceCpu = ProcessTree.CpuSeconds(run.Pid) - run.InstanceCpuBefore;
            ProcessTree.KillAll(stressPids);
            await run.Stress.WaitForExitAsync(cancellationToken);
            run.Group.Remove();
            run.Stress.Dispose();
            var throttled = throttling.Throttled - run.ThrottlingBefore.Throttled;
            var throttledSeconds = throttling.ThrottledSeconds - run.ThrottlingBefore.ThrottledSeconds;
            measurements["throttled_periods"] = measurements.GetValueOrDefault("throttled_periods") + throttled;
            measurements["throttled_seconds"] = measurements.GetValueOrDefault("throttled_seconds") + throttledSeconds;
            measurements["stress_cpu_seconds"] = measurements.GetValueOrDefault("stress_cpu_seconds") + stressCpu;
            measurements["instance_cpu_seconds"] = measurements.GetValueOrDefault("instance_cpu_seconds") + instanceCpu;
            // The group (instance + stress) against its quota: near 1 means it was held at its limit the whole time.
            measurements["quota_used"] = (stressCpu + instanceCpu) / (run.Cores * run.Clock.Elapsed.TotalSeconds);
            hit.Add(run.Instance);
            details.Add(string.Create(Invariant, $"{run.Instance}: throttled in {throttled} periods ({throttledSeconds:0.0} s), stress-ng used {stressCpu:0.0} CPU s, the instance {instanceCpu:0.0} CPU s"));
        }

        _stress.Clear();
        return new FaultReport("stop_stress", hit, hit.Count == 0 ? "no stress was running" : string.Join("; ", details)) { Measurements = measurements };
    }

    /// <summary>Requests HAProxy has sent to each web instance so far (its stot counter, as an active server and as a backup).</summary>
    public async Task<IReadOnlyDictionary<string, long>> RequestsByInstanceAsync(CancellationToken cancellationToken) =>
        (await new HaproxyStats(_http, _layout.StatsPort).ServersAsync(cancellationToken))
            .Where(s => s.Backend == "scale-web")
            .GroupBy(s => LabLayout.InstanceOfServer(s.Name), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(s => s.TotalSessions), StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        if (_holdDown is not null)
        {
            // A held-down primary is started again before the run ends, whatever happened.
            await _holdDown;
        }

        if (_stress.Count > 0)
        {
            // Never leave an instance starved, whatever happened to the experiment.
            await StopStressAsync(CancellationToken.None);
        }

        _controller.Dispose();
        _http.Dispose();
    }

    private async Task<FaultReport> KillAsync(string action, IReadOnlyList<LabComponent> victims, string what, CancellationToken cancellationToken)
    {
        var roots = new List<int>();
        var running = await PidsAsync(cancellationToken);
        foreach (var victim in victims)
        {
            if (running.TryGetValue(victim.Name, out var pid))
            {
                roots.Add(pid);
            }

            // PostgreSQL's postmaster is detached from Patroni (its own session, parent 1): it is found by its pid file.
            if (victim.Kind == "patroni" && File.Exists(_layout.PathOf(victim.Name, "data", "postmaster.pid"))
                && int.TryParse(File.ReadLines(_layout.PathOf(victim.Name, "data", "postmaster.pid")).FirstOrDefault(), Invariant, out var postmaster))
            {
                roots.Add(postmaster);
            }
        }

        var pids = ProcessTree.WithDescendants(roots);
        var names = victims.Select(v => v.Name).ToList();
        if (DryRun)
        {
            return new FaultReport(action, names, $"dry run: would SIGKILL {what}: {string.Join(", ", names)} ({pids.Count} processes)");
        }

        var killed = ProcessTree.KillAll(pids);
        _log.WriteLine($"  SIGKILL {what}: {string.Join(", ", names)} ({killed} processes)");
        return new FaultReport(action, names, $"SIGKILL {what}: {string.Join(", ", names)} ({killed} processes)")
        {
            Measurements = new Dictionary<string, double>(StringComparer.Ordinal) { ["processes_killed"] = killed },
        };
    }

    private async Task<Dictionary<string, int>> PidsAsync(CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var supervisor in _controller.ZoneSupervisors.Append(_controller.HostSupervisor))
        {
            foreach (var (name, state) in await supervisor.StatusAsync(cancellationToken))
            {
                if (state is { State: "RUNNING", Pid: { } pid })
                {
                    result[name] = pid;
                }
            }
        }

        return result;
    }

    private sealed record StressRun(string Instance, int Pid, CpuCgroup Group, Process Stress, double InstanceCpuBefore, (long Throttled, double ThrottledSeconds) ThrottlingBefore, double Cores, Stopwatch Clock);
}
