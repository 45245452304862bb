using System.Diagnostics;
using System.Globalization;

namespace Scale.Lab.Supervision;

/// <summary>A program's state as supervisord reports it: RUNNING, STARTING, BACKOFF, STOPPED, EXITED, FATAL ...</summary>
public sealed record ProgramState(string Name, string State, int? Pid);

/// <summary>
/// One supervisord: the lab runs one per zone, inside the zone's network namespace (the zone's machines and their
/// kubelet: it restarts what dies there, and dies with the zone), and one in the host's namespace for the load
/// balancer and monitoring. Controlled with supervisorctl over its Unix socket, which works from any namespace; with
/// <paramref name="socket"/> its status is read over that socket's XML-RPC interface instead (<see cref="SupervisorRpc"/>:
/// the status is what the lab and the chaos runner poll). With <paramref name="cpuGroupProcs"/> (a cgroup's cgroup.procs, see <see cref="ZoneCpuGroups"/>) the daemon starts
/// inside that CPU group, and so does every program it starts.
/// </summary>
public sealed class Supervisor(string name, string config, string pidFile, string? networkNamespace, ICommandRunner commands, string? cpuGroupProcs = null, string? socket = null) : IDisposable
{
    private readonly SupervisorRpc? _rpc = socket is null ? null : new SupervisorRpc(socket);

    /// <summary>host, or the zone's name.</summary>
    public string Name => name;

    public string Config => config;

    /// <summary>The namespace it runs in (null: the host's).</summary>
    public string? NetworkNamespace => networkNamespace;

    /// <summary>Its pid, when its pid file names a live process.</summary>
    public int? Pid
    {
        get
        {
            if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                return null;
            }

            try
            {
                using var process = Process.GetProcessById(pid);
                return process.HasExited ? null : pid;
            }
            catch (ArgumentException)
            {
                return null;
            }
        }
    }

    public bool IsRunning => Pid is not null;

    /// <summary>Starts the daemon (in its namespace) when it is not running, and waits for its socket to answer.</summary>
    public async Task StartDaemonAsync(CancellationToken cancellationToken)
    {
        if (IsRunning)
        {
            return;
        }

        // A pid file left by a killed daemon would make the new one refuse to start.
        File.Delete(pidFile);
        string[] start = networkNamespace is null
            ? ["supervisord", "-c", config]
            : ["ip", "netns", "exec", networkNamespace, ProgramRunner.Find("supervisord") ?? "supervisord", "-c", config];
        var result = cpuGroupProcs is not null && File.Exists(cpuGroupProcs)
            // The shell joins the group before it becomes supervisord, so the daemon and all it forks start inside.
            ? await commands.RunAsync("/bin/sh", ["-c", "echo $$ > \"$0\" && exec \"$@\"", cpuGroupProcs, .. start], cancellationToken)
            : await commands.RunAsync(start[0], start[1..], cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"supervisord ({name}) did not start: {result.Output.Trim()}");
        }

        // Over XML-RPC when there is a socket to ask: a supervisorctl is a Python interpreter started each time (about
        // 0.5 s on a busy machine), and a returning zone waited on these before its first program started.
        var clock = Stopwatch.StartNew();
        while (!await AnswersAsync(cancellationToken))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"supervisord ({name}) did not answer on its socket within 20 s ({config})");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(_rpc is null ? 200 : 50), cancellationToken);
        }
    }

    private async Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        if (_rpc is null)
        {
            return (await CtlAsync(["pid"], cancellationToken)).ExitCode == 0;
        }

        try
        {
            await _rpc.AllProcessInfoAsync(cancellationToken);
            return true;
        }
        catch (SupervisorRpcException)
        {
            return false;
        }
    }

    /// <summary>Starts programs; "already started" is not an error (starting twice is harmless).</summary>
    public Task StartAsync(IEnumerable<string> programs, CancellationToken cancellationToken) => CtlAsync(["start", .. programs], cancellationToken);

    /// <summary>
    /// Starts a program and returns once supervisord has forked it, without waiting for its <c>startsecs</c>: the
    /// program is born in the CPU group the daemon is in at that moment. Over XML-RPC when there is a socket, otherwise
    /// <c>supervisorctl start</c> (which waits). Already running is not an error.
    /// </summary>
    /// <exception cref="SupervisorRpcException">supervisord could not start it.</exception>
    public async Task SpawnAsync(string program, CancellationToken cancellationToken)
    {
        if (_rpc is null)
        {
            await StartAsync([program], cancellationToken);
            return;
        }

        await _rpc.StartProcessAsync(program, waitForStartSeconds: false, cancellationToken);
    }

    /// <summary>Stops programs (their stop signal, then SIGKILL after their stop wait).</summary>
    public Task StopAsync(IEnumerable<string> programs, CancellationToken cancellationToken) => CtlAsync(["stop", .. programs], cancellationToken);

    /// <summary>Every program's state and pid; empty when the daemon does not answer.</summary>
    public async Task<IReadOnlyDictionary<string, ProgramState>> StatusAsync(CancellationToken cancellationToken)
    {
        if (!IsRunning)
        {
            return new Dictionary<string, ProgramState>(StringComparer.Ordinal);
        }

        if (_rpc is not null)
        {
            try
            {
                return await _rpc.AllProcessInfoAsync(cancellationToken);
            }
            catch (SupervisorRpcException)
            {
                // As supervisorctl's: a daemon that does not answer has no programs to report.
                return new Dictionary<string, ProgramState>(StringComparer.Ordinal);
            }
        }

        var result = await CtlAsync(["status"], cancellationToken);
        return ParseStatus(result.Output);
    }

    public void Dispose() => _rpc?.Dispose();

    /// <summary>Stops every program (PostgreSQL gets its fast shutdown) and the daemon, and waits for it to exit.</summary>
    public async Task ShutdownAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (Pid is not { } pid)
        {
            return;
        }

        await CtlAsync(["shutdown"], cancellationToken);
        var clock = Stopwatch.StartNew();
        while (IsRunning && clock.Elapsed < wait)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(300), cancellationToken);
        }

        if (IsRunning)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                // Exited meanwhile.
            }
        }
    }

    /// <summary>
    /// Parses <c>supervisorctl status</c>: one line per program, e.g. <c>web-a1   RUNNING   pid 1234, uptime 0:01:02</c>
    /// or <c>pg-b   STOPPED   Dec 04 09:00 PM</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, ProgramState> ParseStatus(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var result = new Dictionary<string, ProgramState>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !fields[1].All(c => char.IsAsciiLetterUpper(c)))
            {
                continue;
            }

            int? pid = null;
            var at = Array.IndexOf(fields, "pid");
            if (at > 1 && at + 1 < fields.Length && int.TryParse(fields[at + 1].TrimEnd(','), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                pid = parsed;
            }

            result[fields[0]] = new ProgramState(fields[0], fields[1], pid);
        }

        return result;
    }

    private Task<ProgramResult> CtlAsync(string[] arguments, CancellationToken cancellationToken) =>
        commands.RunAsync("supervisorctl", ["-c", config, .. arguments], cancellationToken);
}
