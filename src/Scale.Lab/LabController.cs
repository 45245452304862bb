using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Scale.Lab.Haproxy;
using Scale.Lab.Network;
using Scale.Lab.Packages;
using Scale.Lab.Patroni;
using Scale.Lab.Supervision;
using static Scale.Lab.ProgramRunner;

namespace Scale.Lab;

/// <summary>A component's state as `scale lab status` shows it.</summary>
public sealed record LabComponentStatus(string Name, string Kind, string? Zone, string Address, string Process, bool Healthy, string? Role, string Detail);

/// <summary>
/// Starts, inspects and removes the lab. `up` is idempotent (a running lab is only completed and checked) and
/// cleans up after itself when it cannot finish; `down` stops every process the lab started, removes its network
/// (namespaces, links, faults) and deletes its folder, also after a crash of `up` itself.
/// </summary>
public sealed class LabController : IDisposable
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private readonly LabOptions _options;
    private readonly TextWriter _log;
    private readonly LabLayout _layout;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3) };
    private readonly PatroniClient _patroni;
    private readonly HaproxyStats _haproxy;
    private readonly List<Task> _bootWatchers = [];
    private readonly CancellationTokenSource _disposing = new();

    public LabController(LabOptions options, TextWriter log, ICommandRunner? commands = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _log = log;
        _layout = new LabLayout(options);
        var runner = commands ?? SystemCommandRunner.Instance;
        // The delay line runs the same program as the web instances.
        Network = new LabNetwork(_layout.Network, runner, [Environment.ProcessPath ?? "dotnet", options.ScaleProgram]);
        CpuGroups = new ZoneCpuGroups(_layout.Network.Prefix);
        HostSupervisor = new Supervisor("host", _layout.SupervisorConfig(null), _layout.SupervisorPidFile(null), null, runner, CpuGroups.PathOf("host") is { } host ? Path.Join(host, "cgroup.procs") : null, _layout.SupervisorSocket(null));
        ZoneSupervisors = LabLayout.Zones.Select((zone, z) =>
            new Supervisor(zone, _layout.SupervisorConfig(zone), _layout.SupervisorPidFile(zone), _layout.Network.Namespace(z), runner, CpuGroups.PathOf(zone) is { } group ? Path.Join(group, "cgroup.procs") : null, _layout.SupervisorSocket(zone))).ToList();
        _patroni = new PatroniClient(_http);
        _haproxy = new HaproxyStats(_http, _layout.StatsPort);
        Packages = new DebianPackages(runner, log);
    }

    public LabLayout Layout => _layout;

    /// <summary>The zones' namespaces, links and network faults.</summary>
    public LabNetwork Network { get; }

    /// <summary>A CPU group per zone and one for the host, with equal weights: zones that do not take each other's CPU.</summary>
    public ZoneCpuGroups CpuGroups { get; }

    /// <summary>The host's supervisord: HAProxy, Prometheus, alertmanager.</summary>
    public Supervisor HostSupervisor { get; }

    /// <summary>One supervisord per zone, inside its namespace, in the order of <see cref="LabLayout.Zones"/>.</summary>
    public IReadOnlyList<Supervisor> ZoneSupervisors { get; }

    public DebianPackages Packages { get; }

    /// <summary>The supervisord that runs a component.</summary>
    public Supervisor SupervisorOf(LabComponent component)
    {
        ArgumentNullException.ThrowIfNull(component);
        return component.Zone is null ? HostSupervisor : ZoneSupervisors[_layout.Network.ZoneIndex(component.Zone)];
    }

    /// <summary>True while any of the lab's supervisors runs.</summary>
    public bool IsRunning => HostSupervisor.IsRunning || ZoneSupervisors.Any(s => s.IsRunning);

    public void Dispose()
    {
        // Web instances still booting join their zone's group before this process goes.
        _disposing.Cancel();
        Task[] watchers;
        lock (_bootWatchers)
        {
            watchers = [.. _bootWatchers];
        }

        Task.WaitAll(watchers, TimeSpan.FromSeconds(5));
        _disposing.Dispose();
        _http.Dispose();
        foreach (var supervisor in ZoneSupervisors.Append(HostSupervisor))
        {
            supervisor.Dispose();
        }
    }

    /// <summary>Starts the lab (or completes a running one) and returns its URL once every component is healthy.</summary>
    public async Task<string> UpAsync(CancellationToken cancellationToken)
    {
        _options.Validate();
        var root = Environment.UserName == "root";
        if (!root || !OperatingSystem.IsLinux())
        {
            throw new InvalidOperationException("the lab's zones are Linux network namespaces, which only root can make: run `sudo scale lab up`");
        }

        using var exclusive = await LockAsync(cancellationToken);
        await Packages.EnsureAsync(root, cancellationToken);
        var alreadyRunning = IsRunning;
        try
        {
            var secrets = Prepare();
            if (alreadyRunning)
            {
                Step($"a lab is already running in {_layout.Root}: completing and checking it");
            }

            Step($"network: zones {string.Join(", ", LabLayout.Zones.Select((zone, z) => $"{zone} = namespace {_layout.Network.Namespace(z)} at {_layout.Network.ZoneAddress(z)}"))}, bridge {_layout.Network.Bridge} at {_layout.Network.HostAddress}");
            await Network.EnsureAsync(cancellationToken);
            if (CpuGroups.Ensure(LabLayout.Zones.Append("host")) is { } noCpuGroups)
            {
                Step($"the zones share the CPU unweighted: {noCpuGroups}");
            }

            foreach (var supervisor in ZoneSupervisors.Append(HostSupervisor))
            {
                await supervisor.StartDaemonAsync(cancellationToken);
            }

            Step("etcd, one member per zone");
            await StartAsync(_layout.Components.Where(c => c.Kind == "etcd"), cancellationToken);
            await WaitHealthyAsync(_layout.Components.Where(c => c.Kind == "etcd"), cancellationToken);

            Step("PostgreSQL under Patroni, one per zone: a primary and two synchronous-capable replicas");
            await StartAsync(_layout.Components.Where(c => c.Kind == "patroni"), cancellationToken);
            await WaitAsync("a Patroni primary and two streaming replicas", async () => (await RolesAsync(cancellationToken)) is { Primaries: 1, Replicas: 2 }, _options.StartTimeout, cancellationToken);

            Step("HAProxy (web, PostgreSQL primary and replicas by role, stats)");
            await StartAsync(_layout.Components.Where(c => c.Kind == "haproxy"), cancellationToken);
            await WaitHealthyAsync(_layout.Components.Where(c => c.Kind == "haproxy"), cancellationToken);
            await WaitAsync("the primary through HAProxy", () => CanConnectAsync(SuperuserConnection(secrets), cancellationToken), _options.StartTimeout, cancellationToken);

            Step("the store: role and database, then the corpus extracted and similar songs computed");
            await CreateDatabaseAsync(secrets, cancellationToken);
            await LoadStoreAsync(secrets, cancellationToken);

            Step($"web instances ({_options.WebPerZone} per zone), exporters, Prometheus, alertmanager");
            await StartAsync(_layout.Components.Where(c => c.Kind is "web" or "postgres_exporter" or "prometheus" or "alertmanager"), cancellationToken);
            await WaitHealthyAsync(_layout.Components, cancellationToken);
            await WaitAsync("HAProxy sending to every web instance", async () => (await HaproxyWebUpAsync(cancellationToken)) == _layout.Web.Count(), TimeSpan.FromSeconds(60), cancellationToken);
            await WarmAsync(cancellationToken);
            Step($"up: {_layout.Url}");
            return _layout.Url;
        }
        catch (Exception ex) when (!alreadyRunning && ex is not OperationCanceledException)
        {
            _log.WriteLine($"scale lab: could not finish starting ({ex.Message}); removing what was started. Logs: {_layout.PathOf("logs")}");
            // The folder stays with its logs, for the error to be read; the next `up` or `down` clears it.
            await StopProcessesAsync(CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// Brings a zone back after an outage: its link up, its supervisord in its namespace, then its programs, etcd,
    /// Patroni and the exporter, then the web instances, each forked without waiting for another. Returns without
    /// waiting for them to be healthy.
    /// The web instances start in the zone's booting group, idle toward every other process on the machine
    /// (<see cref="ZoneCpuGroups.EnsureBooting"/>); a watcher moves each into the zone's group once it is ready, and
    /// whatever is left after <see cref="LabOptions.StartTimeout"/>, or when this controller is disposed.
    /// </summary>
    public async Task StartZoneAsync(string zone, CancellationToken cancellationToken)
    {
        var z = _layout.Network.ZoneIndex(zone);
        var supervisor = ZoneSupervisors[z];
        await Network.SetZoneLinkAsync(z, up: true, cancellationToken);
        await supervisor.StartDaemonAsync(cancellationToken);
        // Every program forked at once, none waiting for another's startsecs: `supervisorctl start` returns once a program
        // has run for startsecs (1 s) and is a Python interpreter started each time, so one after another in a machine's
        // boot order cost seconds for nothing (Patroni retries etcd, the exporter retries PostgreSQL, a web instance
        // retries the database, until they answer). Measured on the CI's lab at 500 /test_db requests/s: the zone's
        // restore took 7.9-11.4 s from the end of the hold to "programs started" over 18 zone-outages (one start at a
        // time), 7.5 s with the database's programs started together and then the web instances (supervisorctl),
        // its web instances forked 6.1 s after the hold. Forked over XML-RPC: the web instances 0.5 s after the zone's
        // supervisord, the zone back 1.6 s after the hold (and 1.9-3.5 s in a 3-run series on the default lab).
        foreach (var program in _layout.InZone(zone).Where(c => c.Kind is "etcd" or "patroni" or "postgres_exporter"))
        {
            await supervisor.SpawnAsync(program.Name, cancellationToken);
        }

        // Only the instances that are down boot (restoring a zone that was not down starts nothing).
        var states = await supervisor.StatusAsync(cancellationToken);
        var webs = _layout.InZone(zone).Where(c => c.Kind == "web" && !(states.TryGetValue(c.Name, out var state) && state.Pid is not null)).ToList();
        if (webs.Count == 0)
        {
            return;
        }

        // supervisord forks the web instances inside the group it is in: in the booting group for as long as it starts
        // them (a process moves alone, its children are born where it is). The database's programs above were forked
        // before the daemon moved.
        var daemon = supervisor.Pid;
        var booting = daemon is not null && CpuGroups.EnsureBooting(zone) && CpuGroups.MoveToBooting(daemon.Value, zone);
        try
        {
            foreach (var web in webs)
            {
                await supervisor.SpawnAsync(web.Name, cancellationToken);
            }
        }
        finally
        {
            if (booting)
            {
                CpuGroups.Move(daemon!.Value, zone);
            }
        }

        if (booting)
        {
            IdleBoots.Started(webs.Select(w => w.Name));
            lock (_bootWatchers)
            {
                _bootWatchers.Add(JoinZoneWhenReadyAsync(zone, webs, _disposing.Token));
            }
        }
    }

    /// <summary>
    /// The web instances that boot at idle priority after their zone came back (<see cref="StartZoneAsync"/>): those
    /// booting now, and each one's time to ready and how its threads ran meanwhile.
    /// </summary>
    public IdleBootLedger IdleBoots { get; } = new();

    private async Task JoinZoneWhenReadyAsync(string zone, IReadOnlyList<LabComponent> webs, CancellationToken cancellationToken)
    {
        var supervisor = ZoneSupervisors[_layout.Network.ZoneIndex(zone)];
        var waiting = webs.ToList();
        var started = Stopwatch.GetTimestamp();
        try
        {
            while (waiting.Count > 0 && Stopwatch.GetElapsedTime(started) < _options.StartTimeout)
            {
                var states = await supervisor.StatusAsync(cancellationToken);
                foreach (var web in waiting.ToList())
                {
                    if ((await ProbeAsync(web, cancellationToken)).Healthy && states.TryGetValue(web.Name, out var state) && state.Pid is { } pid)
                    {
                        // Read before it leaves the idle group: what it ran and waited for there.
                        IdleBoots.Ready(web.Name, Stopwatch.GetElapsedTime(started), SchedStat.Read(pid));

                        // A restarted instance was born in the zone's group already: moving it again is harmless.
                        CpuGroups.Move(pid, zone);
                        waiting.Remove(web);
                    }
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed: what still boots joins its zone all the same.
        }
        finally
        {
            IdleBoots.Abandoned(waiting.Select(w => w.Name));
            try
            {
                CpuGroups.EndBoot(zone);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The lab went down meanwhile (its groups removed): nothing to move.
            }
        }
    }

    /// <summary>Every component, its zone, process state, health and role.</summary>
    public async Task<IReadOnlyList<LabComponentStatus>> StatusAsync(CancellationToken cancellationToken)
    {
        if (!IsRunning && !File.Exists(_layout.SecretsFile))
        {
            return [];
        }

        var processes = await ProcessStatesAsync(cancellationToken);
        var result = new List<LabComponentStatus>();
        foreach (var component in _layout.Components)
        {
            var process = processes.TryGetValue(component.Name, out var state) ? state.State : "DOWN";
            var (healthy, detail) = await ProbeAsync(component, cancellationToken);
            string? role = null;
            if (component.Kind == "patroni")
            {
                var member = await _patroni.MemberAsync(component.Address, cancellationToken);
                role = member.Role;
                detail = member.Role is null ? "REST API unreachable"
                    : member.Role == "replica" && member.ReplicationState is { } replication ? $"{member.State}, {replication}" : member.State ?? "";
                healthy = healthy && role is "primary" or "replica";
            }

            result.Add(new LabComponentStatus(component.Name, component.Kind, component.Zone, component.Address, process, healthy && process == "RUNNING", role, detail));
        }

        return result;
    }

    /// <summary>
    /// Stops everything the lab started, removes its network and deletes its folder. Harmless when no lab is there,
    /// and complete after a crash: the namespaces' processes are found by namespace, the rest by the lab's folder.
    /// </summary>
    public async Task DownAsync(CancellationToken cancellationToken)
    {
        using var exclusive = await LockAsync(cancellationToken);
        await StopProcessesAsync(cancellationToken);
        if (Directory.Exists(_layout.Root))
        {
            Directory.Delete(_layout.Root, recursive: true);
        }
    }

    private async Task StopProcessesAsync(CancellationToken cancellationToken)
    {
        if (IsRunning)
        {
            Step("stopping every lab process");
            // In parallel: each zone's PostgreSQL gets its fast shutdown; the host's last would wait for nothing.
            await Task.WhenAll(ZoneSupervisors.Append(HostSupervisor).Select(s => s.ShutdownAsync(TimeSpan.FromSeconds(90), cancellationToken)));
        }

        // The namespaces (whatever still runs in them is killed first), their links and faults, the bridge.
        if (OperatingSystem.IsLinux() && Environment.UserName == "root")
        {
            await Network.RemoveAsync(cancellationToken);
        }

        // After the namespaces: their processes are gone, so the groups are empty and can be removed.
        CpuGroups.Remove();

        // Anything still running from the lab's folder (a child that outlived its group) goes too.
        foreach (var pid in ProcessesUsing(_layout.Root))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone already.
            }
        }
    }

    private LabSecrets Prepare()
    {
        Directory.CreateDirectory(_layout.Root);
        if (!OperatingSystem.IsWindows())
        {
            // PostgreSQL runs as another user when the lab is started by root: it must be able to reach its folder.
            File.SetUnixFileMode(_layout.Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        _options.Save(_layout.Root);
        var secrets = LabSecrets.LoadOrCreate(_layout.SecretsFile);
        var postgresUser = Environment.UserName == "root" ? "postgres" : null;
        new LabFiles(_layout, secrets, FindPrograms(), postgresUser).WriteAll();
        if (postgresUser is not null)
        {
            foreach (var zone in LabLayout.Zones)
            {
                RunSync("chown", ["-R", $"{postgresUser}:{postgresUser}", _layout.PathOf($"pg-{zone}")]);
            }
        }

        return secrets;
    }

    private LabPrograms FindPrograms() =>
        new(
            Environment.ProcessPath ?? "dotnet",
            _options.ScaleProgram,
            Find("etcd")!,
            Find("patroni")!,
            DebianPackages.PostgresBin() ?? throw new InvalidOperationException("PostgreSQL's server programs (initdb) are missing: apt-get install postgresql"),
            Find("prometheus-postgres-exporter")!,
            Find("haproxy")!,
            Find("prometheus")!,
            Find("prometheus-alertmanager")!);

    private async Task CreateDatabaseAsync(LabSecrets secrets, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(SuperuserConnection(secrets));
        await connection.OpenAsync(cancellationToken);
        // Role and database names are fixed; the password is bound as a parameter and quoted by the server (format %L).
        if (!await ExistsAsync(connection, "SELECT 1 FROM pg_roles WHERE rolname = 'scale'", cancellationToken))
        {
            await ExecuteFormattedAsync(connection, "SELECT format('CREATE ROLE scale LOGIN PASSWORD %L', @password)", secrets.AppPassword, cancellationToken);
        }

        if (!await ExistsAsync(connection, "SELECT 1 FROM pg_database WHERE datname = 'scale'", cancellationToken))
        {
            await using var create = new NpgsqlCommand("CREATE DATABASE scale OWNER scale", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private async Task LoadStoreAsync(LabSecrets secrets, CancellationToken cancellationToken)
    {
        var programs = FindPrograms();
        var source = _options.Source;
        if (source is null)
        {
            source = _layout.PathOf("corpus");
            if (!File.Exists(Path.Join(source, "md5_to_paths.json")))
            {
                if (Directory.Exists(source))
                {
                    Directory.Delete(source, recursive: true);
                }

                await RunAsync(programs.Dotnet, [programs.ScaleDll, "synth", "--files", _options.SyntheticFiles.ToString(Invariant), "--out", source, "--seed", "1"], cancellationToken);
            }
        }

        // Resumable: a lab started again finds the source done and only checks the similar songs.
        await RunAsync(programs.Dotnet, [programs.ScaleDll, "run", "--source", source, "--db", _layout.DatabaseFor(secrets)], cancellationToken,
            environment: new() { ["SCALE_LOG_FORMAT"] = "json" });
    }

    private string SuperuserConnection(LabSecrets secrets) =>
        $"Host={_layout.Network.HostAddress};Port={_layout.PrimaryPort};Database=postgres;Username=postgres;Password={secrets.SuperuserPassword};Timeout=3;Pooling=false;GSS Encryption Mode=Disable";

    private static async Task<bool> CanConnectAsync(string connectionString, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return false;
        }
    }

    private static async Task<bool> ExistsAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private static async Task ExecuteFormattedAsync(NpgsqlConnection connection, string formatSql, string value, CancellationToken cancellationToken)
    {
        await using var format = new NpgsqlCommand(formatSql, connection);
        format.Parameters.AddWithValue("password", value);
        var statement = (string)(await format.ExecuteScalarAsync(cancellationToken))!;
        await using var execute = new NpgsqlCommand(statement, connection);
        await execute.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task StartAsync(IEnumerable<LabComponent> components, CancellationToken cancellationToken)
    {
        foreach (var group in components.GroupBy(SupervisorOf))
        {
            await group.Key.StartAsync(group.Select(c => c.Name), cancellationToken);
        }
    }

    private async Task WaitHealthyAsync(IEnumerable<LabComponent> components, CancellationToken cancellationToken)
    {
        foreach (var component in components)
        {
            await WaitAsync(component.Name, async () => (await ProbeAsync(component, cancellationToken)).Healthy, _options.StartTimeout, cancellationToken);
        }
    }

    private async Task<(bool Healthy, string Detail)> ProbeAsync(LabComponent component, CancellationToken cancellationToken)
    {
        if (component.HealthPath is null)
        {
            return (true, "");
        }

        try
        {
            using var response = await _http.GetAsync(new Uri($"http://{component.Address}{component.HealthPath}"), cancellationToken);
            return (response.IsSuccessStatusCode, string.Create(Invariant, $"{component.HealthPath} {(int)response.StatusCode}"));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return (false, $"{component.HealthPath} unreachable");
        }
    }

    private async Task<(int Primaries, int Replicas)> RolesAsync(CancellationToken cancellationToken)
    {
        var primaries = 0;
        var replicas = 0;
        foreach (var component in _layout.Components.Where(c => c.Kind == "patroni"))
        {
            primaries += await _patroni.HasRoleAsync(component.Address, primary: true, cancellationToken) ? 1 : 0;
            replicas += await _patroni.HasRoleAsync(component.Address, primary: false, cancellationToken) ? 1 : 0;
        }

        return (primaries, replicas);
    }

    private async Task<int> HaproxyWebUpAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await _haproxy.ServersAsync(cancellationToken)).Count(s => s.Backend == "scale-web" && !s.Backup && s.Status == "UP");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return 0;
        }
    }

    private async Task<Dictionary<string, ProgramState>> ProcessStatesAsync(CancellationToken cancellationToken)
    {
        var states = new Dictionary<string, ProgramState>(StringComparer.Ordinal);
        foreach (var supervisor in ZoneSupervisors.Append(HostSupervisor))
        {
            foreach (var (name, state) in await supervisor.StatusAsync(cancellationToken))
            {
                states[name] = state;
            }
        }

        return states;
    }

    private static IEnumerable<int> ProcessesUsing(string root)
    {
        if (!Directory.Exists("/proc"))
        {
            yield break;
        }

        foreach (var folder in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), Invariant, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            string commandLine;
            try
            {
                commandLine = File.ReadAllText(Path.Join(folder, "cmdline")).Replace('\0', ' ');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (commandLine.Contains(root + "/", StringComparison.Ordinal) || commandLine.Contains(root + " ", StringComparison.Ordinal))
            {
                yield return pid;
            }
        }
    }

    /// <summary>
    /// The lab's steady load through the load balancer, in rounds of 10 s, until a round's last 5 s are served warm
    /// (<see cref="WarmRound"/>), at most four rounds. Every web instance warms itself before it reports ready, but a
    /// lab just started was not yet ready for the load its experiments put on it: run first after `up`,
    /// zone-outage@test_db failed its steady state before any fault (p50 0.7-2.1 s for its first 12 s, 559 requests
    /// dropped; the machine 95 % busy), the web instances' database pools, PostgreSQL's caches and the load
    /// balancer's connections all being filled at once. Not warm after four rounds is said, not hidden: the lab is up,
    /// and an experiment's machine-capacity line then says whether this machine can carry the load.
    /// </summary>
    private async Task WarmAsync(CancellationToken cancellationToken)
    {
        var rps = _options.WarmRequestsPerSecond;
        if (rps == 0)
        {
            return;
        }

        var programs = FindPrograms();
        var url = _layout.Url.TrimEnd('/') + "/test_db";
        Step(string.Create(Invariant, $"warm-up: {url} at {rps} requests/s through HAProxy, in rounds of 10 s, until a round's last 5 s have every second's p99 within {WarmRound.P99LimitMs:0} ms"));
        var clock = Stopwatch.StartNew();
        WarmRound? round = null;
        for (var n = 1; n <= 4; n++)
        {
            try
            {
                var report = await ProgramRunner.RunAsync(
                    programs.Dotnet,
                    [programs.ScaleDll, "load", url, "--rps", rps.ToString(Invariant), "--maxSeconds", "10", "--keepalive", "--concurrency", "500", "--json", "--quiet"],
                    cancellationToken);
                round = WarmRound.FromLoadReport(report, lastSeconds: 5);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.Text.Json.JsonException)
            {
                // Everything else is up and healthy: a warm-up that cannot run is said, and does not undo the lab.
                Step($"the warm-up could not run ({ex.Message}); the lab is up, not warmed");
                return;
            }

            _log.WriteLine(string.Create(Invariant, $"  round {n}: {round}"));
            if (round.Warm)
            {
                _log.WriteLine(string.Create(Invariant, $"  warm: ready ({clock.Elapsed.TotalSeconds:0.0} s)"));
                return;
            }
        }

        Step(string.Create(Invariant, $"not warm after {clock.Elapsed.TotalSeconds:0} s ({round}); the lab is up, and an experiment's machine capacity line will say whether this machine can carry {rps} requests/s"));
    }

    private async Task WaitAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, CancellationToken cancellationToken, bool quiet = false)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{what} not ready after {timeout.TotalSeconds:0} s (logs: {_layout.PathOf("logs")})");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }

        if (!quiet)
        {
            _log.WriteLine(string.Create(Invariant, $"  {what}: ready ({clock.Elapsed.TotalSeconds:0.0} s)"));
        }
    }

    private void Step(string what) => _log.WriteLine($"scale lab: {what}");

    /// <summary>Up and down one at a time (see <see cref="LabLock"/>); a start takes minutes, so a waiting command waits as long.</summary>
    private Task<LabLock> LockAsync(CancellationToken cancellationToken) =>
        LabLock.AcquireAsync(LabLock.PathFor(_options.BasePort, _options.LockFolder), TimeSpan.FromMinutes(10), Step, cancellationToken: cancellationToken);

    private static void RunSync(string program, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { UseShellExecute = false })!;
        process.WaitForExit();
    }
}
