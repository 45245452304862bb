using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Scale.Chaos.Targets;
using Scale.Lab;

namespace Scale.Chaos.Lab;

/// <summary>
/// The local lab as a chaos target (`scale lab up`): processes under supervisord by zone, Patroni for the database
/// roles, HAProxy's statistics for where traffic goes. Faults are real: SIGKILL to whole process trees (a zone's
/// web, PostgreSQL, Patroni, etcd and exporter), a CPU cgroup with stress-ng for exhaustion. supervisord restarts
/// what was killed, as a ReplicaSet or StatefulSet would.
/// </summary>
public sealed class LabTarget : IChaosTarget
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private readonly LabController _controller;
    private readonly LabLayout _layout;
    private readonly LabSecrets _secrets;
    private readonly TextWriter _log;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly List<StressRun> _stress = [];
    private Task? _holdDown;

    public LabTarget(LabOptions options, TextWriter log, bool dryRun = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        var saved = options.WithSaved();
        _controller = new LabController(saved, TextWriter.Null);
        _layout = _controller.Layout;
        _log = log;
        DryRun = dryRun;
        if (!File.Exists(_layout.SupervisorPidFile) || !File.Exists(_layout.SecretsFile))
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

    /// <summary>The scale program (.dll) batch runs start.</summary>
    public string ScaleProgram { get; }

    /// <summary>The store as the web instances see it (primary and replicas through HAProxy).</summary>
    public string StoreConnectionString => _layout.DatabaseFor(_secrets);

    /// <summary>The primary through HAProxy, as the store's owner, for the write prober: short timeouts, so an outage shows as failed writes, not hung ones.</summary>
    public string WriteConnectionString =>
        $"Host=127.0.0.1;Port={_layout.PrimaryPort};Database=scale;Username=scale;Password={_secrets.AppPassword};Timeout=2;Command Timeout=3;Pooling=false";

    /// <summary>The primary as superuser, for creating the batch experiment's databases.</summary>
    internal string SuperuserConnectionString(string database) =>
        $"Host=127.0.0.1;Port={_layout.PrimaryPort};Database={database};Username=postgres;Password={_secrets.SuperuserPassword};Timeout=5;Command Timeout=60;Pooling=false";

    internal string DatabaseUrl(string database) =>
        $"Host=127.0.0.1:{_layout.PrimaryPort},127.0.0.1:{_layout.ReplicasPort};Database={database};Username=scale;Password={_secrets.AppPassword};Timeout=5;Command Timeout=60";

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
            try
            {
                using var document = JsonDocument.Parse(await _http.GetStringAsync(new Uri($"http://{component.Address}/patroni"), cancellationToken));
                var root = document.RootElement;
                var role = root.TryGetProperty("role", out var r) ? r.GetString() : null;
                var state = root.TryGetProperty("state", out var s) ? s.GetString() : null;
                if (role is not ("master" or "primary") || state != "running")
                {
                    continue;
                }

                var streaming = root.TryGetProperty("replication", out var replication) && replication.ValueKind == JsonValueKind.Array
                    ? replication.EnumerateArray()
                        .Where(e => e.TryGetProperty("state", out var st) && st.GetString() == "streaming")
                        .Select(e => e.GetProperty("application_name").GetString() ?? "")
                        .Order(StringComparer.Ordinal)
                        .ToList()
                    : [];
                return new DatabaseRoles(component.Name, streaming);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
                // Down: not the primary.
            }
        }

        return new DatabaseRoles(null, []);
    }

    public async Task<FaultReport> TerminateZoneAsync(string zone, CancellationToken cancellationToken)
    {
        var victims = _layout.Components.Where(c => c.Zone == zone).ToList();
        if (victims.Count == 0)
        {
            throw new ChaosException($"the lab has no zone '{zone}' (zones: {string.Join(", ", LabLayout.Zones)})");
        }

        return await KillAsync("terminate_zone", victims, $"zone {zone}", cancellationToken);
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
            await SupervisorctlAsync(["stop", primary.Name], CancellationToken.None);
            _holdDown = Task.Run(() => StartAfterFailoverAsync(primary.Name), CancellationToken.None);
        }

        return report with { Detail = report.Detail + $"; held down until another member is primary (at most {PrimaryHoldDown.TotalSeconds:0} s), then started again" };
    }

    /// <summary>The longest a killed primary is kept down.</summary>
    public TimeSpan PrimaryHoldDown { get; init; } = TimeSpan.FromSeconds(60);

    private async Task StartAfterFailoverAsync(string name)
    {
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

        await SupervisorctlAsync(["start", name], CancellationToken.None);
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

    /// <summary>Requests HAProxy has sent to each web instance so far (its stot counter).</summary>
    public async Task<IReadOnlyDictionary<string, long>> RequestsByInstanceAsync(CancellationToken cancellationToken)
    {
        var csv = await _http.GetStringAsync(new Uri($"http://127.0.0.1:{_layout.StatsPort}/stats;csv"), cancellationToken);
        var header = csv.Split('\n')[0].TrimStart('#', ' ').Split(',');
        var total = Array.IndexOf(header, "stot");
        return csv.Split('\n').Skip(1).Select(l => l.Split(','))
            .Where(f => f.Length > total && f[0] == "scale-web" && f[1].StartsWith("web-", StringComparison.Ordinal))
            .ToDictionary(f => f[1], f => long.Parse(f[total], Invariant), StringComparer.Ordinal);
    }

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

    private Task<string> SupervisorctlAsync(string[] arguments, CancellationToken cancellationToken) =>
        ProgramRunner.RunAsync("supervisorctl", ["-c", _layout.SupervisorConfig, .. arguments], cancellationToken, check: false);

    // One supervisorctl call for every program's pid ("web-a1  RUNNING  pid 1234, uptime 0:01:02"): a fault hits
    // all its victims within milliseconds of each other.
    private async Task<Dictionary<string, int>> PidsAsync(CancellationToken cancellationToken)
    {
        var output = await ProgramRunner.RunAsync("supervisorctl", ["-c", _layout.SupervisorConfig, "status"], cancellationToken, check: false);
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var at = Array.IndexOf(fields, "pid");
            if (fields.Length > 3 && fields[1] == "RUNNING" && at > 0 && at + 1 < fields.Length && int.TryParse(fields[at + 1].TrimEnd(','), Invariant, out var pid))
            {
                result[fields[0]] = pid;
            }
        }

        return result;
    }

    private sealed record StressRun(string Instance, int Pid, CpuCgroup Group, Process Stress, double InstanceCpuBefore, (long Throttled, double ThrottledSeconds) ThrottlingBefore, double Cores, Stopwatch Clock);
}
