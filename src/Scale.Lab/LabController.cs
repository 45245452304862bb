using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using static Scale.Lab.ProgramRunner;

namespace Scale.Lab;

/// <summary>A component's state as `scale lab status` shows it.</summary>
public sealed record LabComponentStatus(string Name, string Kind, string? Zone, string Address, string Process, bool Healthy, string? Role, string Detail);

/// <summary>
/// Starts, inspects and removes the lab. `up` is idempotent (a running lab is only completed and checked) and
/// cleans up after itself when it cannot finish; `down` stops every process the lab started and deletes its folder.
/// </summary>
public sealed class LabController(LabOptions options, TextWriter log) : IDisposable
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    // The programs the lab needs and the Debian packages they come in.
    private static readonly (string Program, string Package)[] Requirements =
    [
        ("supervisord", "supervisor"), ("supervisorctl", "supervisor"), ("etcd", "etcd-server"), ("patroni", "patroni"),
        ("haproxy", "haproxy"), ("prometheus", "prometheus"), ("prometheus-alertmanager", "prometheus-alertmanager"),
        ("prometheus-postgres-exporter", "prometheus-postgres-exporter"),
        // Not the lab's own: the CPU exhaustion experiment (`scale chaos`) runs it inside an instance's cgroup.
        ("stress-ng", "stress-ng"),
    ];

    private readonly LabLayout _layout = new(options);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3) };

    public LabLayout Layout => _layout;

    public void Dispose() => _http.Dispose();

    /// <summary>Starts the lab (or completes a running one) and returns its URL once every component is healthy.</summary>
    public async Task<string> UpAsync(CancellationToken cancellationToken)
    {
        options.Validate();
        await EnsurePackagesAsync(cancellationToken);
        var alreadyRunning = SupervisorRunning();
        try
        {
            var secrets = Prepare();
            if (!alreadyRunning)
            {
                Step("starting supervisord");
                await RunAsync("supervisord", ["-c", _layout.SupervisorConfig], cancellationToken);
                await WaitAsync("supervisord", () => Task.FromResult(File.Exists(_layout.SupervisorSocket)), TimeSpan.FromSeconds(20), cancellationToken);
            }
            else
            {
                Step($"a lab is already running in {_layout.Root}: completing and checking it");
            }

            Step("etcd, one member per zone");
            await StartAsync(_layout.Components.Where(c => c.Kind == "etcd"), cancellationToken);
            await WaitHealthyAsync(_layout.Components.Where(c => c.Kind == "etcd"), cancellationToken);

            Step("PostgreSQL under Patroni, one per zone: a primary and two synchronous-capable replicas");
            await StartAsync(_layout.Components.Where(c => c.Kind == "patroni"), cancellationToken);
            await WaitAsync("a Patroni primary and two streaming replicas", async () => (await RolesAsync(cancellationToken)) is { Primaries: 1, Replicas: 2 }, options.StartTimeout, cancellationToken);

            Step("HAProxy (web, PostgreSQL primary and replicas by role, stats)");
            await StartAsync(_layout.Components.Where(c => c.Kind == "haproxy"), cancellationToken);
            await WaitHealthyAsync(_layout.Components.Where(c => c.Kind == "haproxy"), cancellationToken);
            await WaitAsync("the primary through HAProxy", () => CanConnectAsync(SuperuserConnection(secrets), cancellationToken), options.StartTimeout, cancellationToken);

            Step("the store: role and database, then the corpus extracted and similar songs computed");
            await CreateDatabaseAsync(secrets, cancellationToken);
            await LoadStoreAsync(secrets, cancellationToken);

            Step($"web instances ({options.WebPerZone} per zone), exporters, Prometheus, alertmanager");
            await StartAsync(_layout.Components.Where(c => c.Kind is "web" or "postgres_exporter" or "prometheus" or "alertmanager"), cancellationToken);
            await WaitHealthyAsync(_layout.Components, cancellationToken);
            await WaitAsync("HAProxy sending to every web instance", async () => (await HaproxyWebUpAsync(cancellationToken)) == _layout.Web.Count(), TimeSpan.FromSeconds(30), cancellationToken);
            Step($"up: {_layout.Url}");
            return _layout.Url;
        }
        catch (Exception ex) when (!alreadyRunning && ex is not OperationCanceledException)
        {
            log.WriteLine($"scale lab: could not finish starting ({ex.Message}); removing what was started. Logs: {_layout.PathOf("logs")}");
            // The folder stays with its logs, for the error to be read; the next `up` or `down` clears it.
            await StopProcessesAsync(CancellationToken.None);
            throw;
        }
    }

    /// <summary>Every component, its zone, process state, health and role.</summary>
    public async Task<IReadOnlyList<LabComponentStatus>> StatusAsync(CancellationToken cancellationToken)
    {
        if (!SupervisorRunning())
        {
            return [];
        }

        var processes = await ProcessStatesAsync(cancellationToken);
        var result = new List<LabComponentStatus>();
        foreach (var component in _layout.Components)
        {
            var process = processes.GetValueOrDefault(component.Name, "UNKNOWN");
            var (healthy, detail) = await ProbeAsync(component, cancellationToken);
            string? role = null;
            if (component.Kind == "patroni")
            {
                (role, detail) = await PatroniRoleAsync(component, cancellationToken);
                healthy = healthy && role is "primary" or "replica";
            }

            result.Add(new LabComponentStatus(component.Name, component.Kind, component.Zone, component.Address, process, healthy && process == "RUNNING", role, detail));
        }

        return result;
    }

    /// <summary>Stops everything the lab started and deletes its folder. Harmless when no lab is there.</summary>
    public async Task DownAsync(CancellationToken cancellationToken)
    {
        await StopProcessesAsync(cancellationToken);
        if (Directory.Exists(_layout.Root))
        {
            Directory.Delete(_layout.Root, recursive: true);
        }
    }

    private async Task StopProcessesAsync(CancellationToken cancellationToken)
    {
        if (SupervisorRunning())
        {
            Step("stopping every lab process");
            await RunAsync("supervisorctl", ["-c", _layout.SupervisorConfig, "shutdown"], cancellationToken, check: false);
            await WaitAsync("supervisord to exit", () => Task.FromResult(!SupervisorRunning()), TimeSpan.FromSeconds(90), cancellationToken, quiet: true).ConfigureAwait(false);
        }

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

        options.Save(_layout.Root);
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

    private LabPrograms FindPrograms()
    {
        var postgresBin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Join(d, "bin")).Where(d => File.Exists(Path.Join(d, "initdb"))).OrderDescending(StringComparer.Ordinal).FirstOrDefault()
            : null;
        return new LabPrograms(
            Environment.ProcessPath ?? "dotnet",
            options.ScaleProgram,
            Find("etcd")!,
            Find("patroni")!,
            postgresBin ?? throw new InvalidOperationException("PostgreSQL's server programs (initdb) are missing: apt-get install postgresql"),
            Find("prometheus-postgres-exporter")!,
            Find("haproxy")!,
            Find("prometheus")!,
            Find("prometheus-alertmanager")!);
    }

    private async Task EnsurePackagesAsync(CancellationToken cancellationToken)
    {
        var missing = Requirements.Where(r => Find(r.Program) is null).Select(r => r.Package).ToList();
        if (!Directory.Exists("/usr/lib/postgresql") || !Directory.GetDirectories("/usr/lib/postgresql").Any(d => File.Exists(Path.Join(d, "bin", "initdb"))))
        {
            missing.Add("postgresql");
        }

        missing = missing.Distinct(StringComparer.Ordinal).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException($"the lab needs these Debian packages: sudo apt-get install {string.Join(' ', missing)}");
        }

        if (!OperatingSystem.IsLinux())
        {
            throw new InvalidOperationException("the lab runs on Linux (Debian)");
        }

        Step($"installing {string.Join(", ", missing)}");
        // Packages must not start their own system services (haproxy, supervisor, etcd): the lab runs its own.
        const string PolicyFile = "/usr/sbin/policy-rc.d";
        var hadPolicy = File.Exists(PolicyFile);
        if (!hadPolicy)
        {
            await File.WriteAllTextAsync(PolicyFile, "#!/bin/sh\nexit 101\n", cancellationToken);
            File.SetUnixFileMode(PolicyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        try
        {
            await RunAsync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", .. missing], cancellationToken, environment: new() { ["DEBIAN_FRONTEND"] = "noninteractive" });
        }
        finally
        {
            if (!hadPolicy)
            {
                File.Delete(PolicyFile);
            }
        }
    }

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
        var source = options.Source;
        if (source is null)
        {
            source = _layout.PathOf("corpus");
            if (!File.Exists(Path.Join(source, "md5_to_paths.json")))
            {
                if (Directory.Exists(source))
                {
                    Directory.Delete(source, recursive: true);
                }

                await RunAsync(programs.Dotnet, [programs.ScaleDll, "synth", "--files", options.SyntheticFiles.ToString(Invariant), "--out", source, "--seed", "1"], cancellationToken);
            }
        }

        // Resumable: a lab started again finds the source done and only checks the similar songs.
        await RunAsync(programs.Dotnet, [programs.ScaleDll, "run", "--source", source, "--db", _layout.DatabaseFor(secrets)], cancellationToken,
            environment: new() { ["SCALE_LOG_FORMAT"] = "json" });
    }

    private string SuperuserConnection(LabSecrets secrets) =>
        $"Host=127.0.0.1;Port={_layout.PrimaryPort};Database=postgres;Username=postgres;Password={secrets.SuperuserPassword};Timeout=3;Pooling=false";

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
        var names = components.Select(c => c.Name).ToArray();
        // "already started" is not an error: starting twice is harmless.
        await RunAsync("supervisorctl", ["-c", _layout.SupervisorConfig, "start", .. names], cancellationToken, check: false);
    }

    private async Task WaitHealthyAsync(IEnumerable<LabComponent> components, CancellationToken cancellationToken)
    {
        foreach (var component in components)
        {
            await WaitAsync(component.Name, async () => (await ProbeAsync(component, cancellationToken)).Healthy, options.StartTimeout, cancellationToken);
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

    private async Task<(string? Role, string Detail)> PatroniRoleAsync(LabComponent component, CancellationToken cancellationToken)
    {
        try
        {
            using var document = JsonDocument.Parse(await _http.GetStringAsync(new Uri($"http://{component.Address}/patroni"), cancellationToken));
            var root = document.RootElement;
            var role = root.GetProperty("role").GetString() switch { "master" or "primary" => "primary", var r => r };
            var state = root.TryGetProperty("state", out var s) ? s.GetString() : "?";
            var detail = role == "replica" && root.TryGetProperty("replication_state", out var replication) ? $"{state}, {replication.GetString()}" : state ?? "";
            return (role, detail);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return (null, "REST API unreachable");
        }
    }

    private async Task<(int Primaries, int Replicas)> RolesAsync(CancellationToken cancellationToken)
    {
        var primaries = 0;
        var replicas = 0;
        foreach (var component in _layout.Components.Where(c => c.Kind == "patroni"))
        {
            foreach (var (path, primary) in new[] { ("/primary", true), ("/replica", false) })
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Options, new Uri($"http://{component.Address}{path}"));
                    using var response = await _http.SendAsync(request, cancellationToken);
                    if (response.IsSuccessStatusCode)
                    {
                        if (primary)
                        {
                            primaries++;
                        }
                        else
                        {
                            replicas++;
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // Not up yet.
                }
            }
        }

        return (primaries, replicas);
    }

    private async Task<int> HaproxyWebUpAsync(CancellationToken cancellationToken)
    {
        try
        {
            var csv = await _http.GetStringAsync(new Uri($"http://127.0.0.1:{_layout.StatsPort}/stats;csv"), cancellationToken);
            return csv.Split('\n').Select(l => l.Split(',')).Count(f => f.Length > 17 && f[0] == "scale-web" && f[1].StartsWith("web-", StringComparison.Ordinal) && f[17] == "UP");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return 0;
        }
    }

    private async Task<Dictionary<string, string>> ProcessStatesAsync(CancellationToken cancellationToken)
    {
        var result = await RunAsync("supervisorctl", ["-c", _layout.SupervisorConfig, "status"], cancellationToken, check: false);
        return result.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1].Trim().Split(' ')[0], StringComparer.Ordinal);
    }

    private bool SupervisorRunning()
    {
        if (!File.Exists(_layout.SupervisorPidFile) || !int.TryParse(File.ReadAllText(_layout.SupervisorPidFile).Trim(), Invariant, out var pid))
        {
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
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
            log.WriteLine(string.Create(Invariant, $"  {what}: ready ({clock.Elapsed.TotalSeconds:0.0} s)"));
        }
    }

    private void Step(string what) => log.WriteLine($"scale lab: {what}");

    private static void RunSync(string program, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { UseShellExecute = false })!;
        process.WaitForExit();
    }
}
