using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Scale.Testing.Postgres;

/// <summary>The outcome of one command: exit code and the interleaved standard output and error.</summary>
internal sealed record CommandResult(string CommandLine, int ExitCode, string Output)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// Runs PostgreSQL's programs, as the unprivileged <c>postgres</c> user when this process is root (the server refuses
/// to run as root), and inspects processes through /proc.
/// </summary>
internal static class PostgresCommands
{
    /// <summary>The account the servers run as when the tests run as root (Debian's postgresql package creates it).</summary>
    public const string ServerUser = "postgres";

    public static bool IsRoot => Environment.IsPrivilegedProcess;

    /// <summary>Runs <paramref name="fileName"/>; as <see cref="ServerUser"/> (through runuser) when root and asked to.</summary>
    public static async Task<CommandResult> RunAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        TimeSpan timeout,
        bool asServerUser = true,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            // runuser keeps the caller's folder, which the server user may not be allowed to enter.
            WorkingDirectory = workingDirectory ?? "/",
        };
        if (asServerUser && IsRoot)
        {
            startInfo.FileName = "runuser";
            foreach (var argument in new[] { "-u", ServerUser, "--", fileName })
            {
                startInfo.ArgumentList.Add(argument);
            }
        }
        else
        {
            startInfo.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // English messages, no locale surprises in initdb.
        startInfo.Environment["LC_ALL"] = "C";
        startInfo.Environment["LANG"] = "C";
        startInfo.Environment.Remove("PGPASSWORD");
        startInfo.Environment.Remove("PGSERVICE");
        startInfo.Environment.Remove("PGPASSFILE");
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                startInfo.Environment[key] = value;
            }
        }

        var commandLine = fileName + " " + string.Join(' ', arguments);
        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException($"'{commandLine}' did not start.");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"Cannot run '{startInfo.FileName}' ({commandLine}): {ex.Message}", ex);
        }

        using (process)
        {
            process.StandardInput.Close();
            var output = new StringBuilder();
            void Collect(string? line)
            {
                if (line is null)
                {
                    return;
                }

                lock (output)
                {
                    if (output.Length < 64_000)
                    {
                        output.AppendLine(line);
                    }
                }
            }

            process.OutputDataReceived += (_, e) => Collect(e.Data);
            process.ErrorDataReceived += (_, e) => Collect(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutSource.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(timeoutSource.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Exited meanwhile.
                }

                cancellationToken.ThrowIfCancellationRequested();
                string partial;
                lock (output)
                {
                    partial = output.ToString();
                }

                throw new TimeoutException($"'{commandLine}' did not finish within {timeout.TotalSeconds:0} s:\n{partial}");
            }

            // The asynchronous readers may still hold the last lines.
            process.WaitForExit();
            lock (output)
            {
                return new CommandResult(commandLine, process.ExitCode, output.ToString());
            }
        }
    }

    /// <summary>Runs a command and throws with its output when it fails.</summary>
    public static async Task<CommandResult> RunCheckedAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        TimeSpan timeout,
        bool asServerUser = true,
        IReadOnlyDictionary<string, string>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(fileName, arguments, timeout, asServerUser, environment, null, cancellationToken)
            .ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(
                $"'{result.CommandLine}' failed with exit code {result.ExitCode}:\n{result.Output}");
        }

        return result;
    }

    /// <summary>Hands a folder (not its contents) to <see cref="ServerUser"/> when root; nothing otherwise.</summary>
    public static async Task GiveToServerUserAsync(string path, CancellationToken cancellationToken)
    {
        if (!IsRoot)
        {
            return;
        }

        await RunCheckedAsync("chown", [ServerUser + ":", path], TimeSpan.FromSeconds(30), asServerUser: false,
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True while the process exists and is not a zombie (a killed postmaster nobody reaped yet counts as gone).</summary>
    public static bool IsAlive(int pid)
    {
        var state = ReadStat(pid)?.State;
        return state is not null && state != 'Z' && state != 'X';
    }

    /// <summary>The live processes whose parent is <paramref name="parentPid"/>.</summary>
    public static List<int> Children(int parentPid)
    {
        var children = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            var stat = ReadStat(pid);
            if (stat is { } s && s.ParentPid == parentPid && s.State != 'Z' && s.State != 'X')
            {
                children.Add(pid);
            }
        }

        return children;
    }

    /// <summary>SIGKILL; a process that is already gone is fine.</summary>
    public static void KillHard(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (ArgumentException)
        {
            // Gone.
        }
        catch (InvalidOperationException)
        {
            // Exited between the look-up and the kill.
        }
    }

    /// <summary>Waits until every one of <paramref name="pids"/> is gone; false when some outlive the timeout.</summary>
    public static async Task<bool> WaitForExitAsync(IEnumerable<int> pids, TimeSpan timeout)
    {
        var waiting = pids.ToList();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            waiting.RemoveAll(pid => !IsAlive(pid));
            if (waiting.Count == 0)
            {
                return true;
            }

            if (clock.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(25).ConfigureAwait(false);
        }
    }

    private static (char State, int ParentPid)? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
        var close = text.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2 || fields[0].Length != 1 ||
            !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent))
        {
            return null;
        }

        return (fields[0][0], parent);
    }
}
