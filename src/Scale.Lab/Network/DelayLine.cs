using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Scale.Lab.Network;

/// <summary>
/// A userspace stand-in for netem's delay where the kernel has no sch_netem: the zone's iptables rule sends every
/// packet leaving the zone to an NFQUEUE, and this loop, running inside the zone's namespace
/// (<c>scale lab delay-line</c>), lets each packet go when its time has come (<see cref="DelaySchedule"/>).
/// </summary>
/// <remarks>
/// One thread waits on the queue's socket with poll(2) until a packet arrives or the next one is due, whichever is
/// first, and lets every due packet go with one batch verdict. poll's timeout is whole milliseconds: the wait is
/// rounded up, so a packet goes at most ~1 ms after its time (Task.Delay would add its ~15 ms timer granularity here).
/// If the process dies, the kernel unbinds the queue and the rule's <c>--queue-bypass</c> lets packets pass undelayed:
/// the fault fails safe. Stopped (SIGTERM), it lets every waiting packet go at once before it exits.
/// </remarks>
public static class DelayLine
{
    /// <summary>What the delay line prints (its only output) once its queue is bound: the rule may be added.</summary>
    public const string ReadyLine = "delay line ready";

    /// <summary>Exit code of <c>scale lab delay-line</c> when this kernel cannot queue packets to userspace.</summary>
    public const int UnavailableExitCode = 3;

    private static readonly TimeSpan LongestWait = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Binds <paramref name="queue"/> in this process's network namespace, calls <paramref name="ready"/>, and delays
    /// packets until <paramref name="cancellationToken"/> is cancelled (seen within 100 ms). Blocks its thread.
    /// </summary>
    public static void Run(ushort queue, TimeSpan delay, TimeSpan jitter, Random random, Action ready, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ready);
        using var socket = NfQueueSocket.Open(queue);
        var schedule = new DelaySchedule(delay, jitter, Stopwatch.Frequency, random);
        var buffer = new byte[64 * 1024];
        Action<uint> arrived = id => schedule.Add(id, Stopwatch.GetTimestamp());
        ready();
        while (!cancellationToken.IsCancellationRequested)
        {
            var wait = LongestWait;
            if (schedule.NextDue is { } due)
            {
                var untilDue = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                wait = untilDue <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Min(Math.Ceiling(untilDue.TotalMilliseconds), LongestWait.TotalMilliseconds));
            }

            if (socket.WaitReadable(wait))
            {
                socket.Drain(buffer, arrived);
            }

            if (schedule.TryTakeDue(Stopwatch.GetTimestamp(), out var last))
            {
                socket.Accept(last);
            }
        }

        if (schedule.Count > 0)
        {
            socket.Accept(schedule.LastId);
            schedule.Clear();
        }
    }

    /// <summary>
    /// Starts <c>scale lab delay-line</c> (<paramref name="scaleCommand"/>: the program and its leading arguments) in
    /// a session of its own, so that it outlives this process and its terminal, waits until it has bound its queue and
    /// returns its process id. Its output goes nowhere once this process has gone; it prints nothing after its ready
    /// line.
    /// </summary>
    public static async Task<int> StartDetachedAsync(IReadOnlyList<string> scaleCommand, ushort queue, double delayMs, double jitterMs, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scaleCommand);
        // setsid(1) makes the new session in place (a child is never a process group leader), so the id is the
        // delay line's own.
        var info = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in scaleCommand.Concat(Arguments(queue, delayMs, jitterMs)))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("the delay line did not start");
        process.StandardInput.Close();
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            process.Kill();
            throw new TimeoutException($"the delay line did not bind NFQUEUE {queue} within {timeout.TotalSeconds:0} s");
        }

        if (line == ReadyLine)
        {
            return process.Id;
        }

        using var exited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        exited.CancelAfter(TimeSpan.FromSeconds(10));
        var error = (line + "\n" + await process.StandardError.ReadToEndAsync(exited.Token)).Trim();
        await process.WaitForExitAsync(exited.Token);
        throw process.ExitCode == UnavailableExitCode
            ? new NfQueueUnavailableException(error)
            : new InvalidOperationException($"the delay line exited with {process.ExitCode}: {error}");
    }

    /// <summary>
    /// Stops every delay line on <paramref name="queue"/> in this process's network namespace: SIGTERM (it lets its
    /// waiting packets go), then SIGKILL after <paramref name="grace"/>. Returns their process ids.
    /// </summary>
    public static async Task<IReadOnlyList<int>> StopAsync(ushort queue, TimeSpan grace, CancellationToken cancellationToken)
    {
        var found = FindInThisNamespace(queue);
        foreach (var pid in found)
        {
            _ = NativeMethods.kill(pid, 15);
        }

        var deadline = Stopwatch.GetTimestamp() + (long)(grace.TotalSeconds * Stopwatch.Frequency);
        while (found.Any(Alive) && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }

        foreach (var pid in found.Where(Alive))
        {
            _ = NativeMethods.kill(pid, 9);
        }

        return found;
    }

    // Running: not gone, and not a zombie (an orphan that exited waits there until init reaps it, here up to a second).
    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var state = stat.LastIndexOf(')') is var end and > 0 && end + 2 < stat.Length ? stat[end + 2] : '?';
            return state is not ('Z' or 'X');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// The scale program as the lab runs it for its web instances (this process's dotnet and the scale.dll beside
    /// the lab's assembly): <c>dotnet …/scale.dll</c>.
    /// </summary>
    public static IReadOnlyList<string> ThisScaleCommand()
    {
        var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        return [host, Path.Join(AppContext.BaseDirectory, "scale.dll")];
    }

    /// <summary>The command line arguments (after the scale program) that run a delay line.</summary>
    public static IReadOnlyList<string> Arguments(ushort queue, double delayMs, double jitterMs) =>
    [
        "lab", "delay-line", "--queue", queue.ToString(CultureInfo.InvariantCulture),
        "--delay-ms", delayMs.ToString(CultureInfo.InvariantCulture), "--jitter-ms", jitterMs.ToString(CultureInfo.InvariantCulture),
    ];

    /// <summary>True for the command line (NUL-separated words, as in /proc/&lt;pid&gt;/cmdline) of a delay line on <paramref name="queue"/>.</summary>
    public static bool IsDelayLine(IReadOnlyList<string> words, ushort queue)
    {
        ArgumentNullException.ThrowIfNull(words);
        var at = -1;
        for (var i = 0; i + 1 < words.Count; i++)
        {
            if (words[i] == "lab" && words[i + 1] == "delay-line")
            {
                at = i;
                break;
            }
        }

        if (at < 0 || words.Contains("--stop"))
        {
            return false;
        }

        for (var i = at + 2; i + 1 < words.Count; i++)
        {
            if (words[i] == "--queue" && words[i + 1] == queue.ToString(CultureInfo.InvariantCulture))
            {
                return true;
            }
        }

        return false;
    }

    private static List<int> FindInThisNamespace(ushort queue)
    {
        var ours = NetworkNamespace("self");
        var found = new List<int>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var words = File.ReadAllText(Path.Join(folder, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (IsDelayLine(words, queue) && NetworkNamespace(pid.ToString(CultureInfo.InvariantCulture)) == ours)
                {
                    found.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours to read.
            }
        }

        return found;
    }

    // "net:[4026532265]": the same for every process in one network namespace.
    private static string? NetworkNamespace(string process) => new FileInfo($"/proc/{process}/ns/net").LinkTarget;

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        [System.Diagnostics.CodeAnalysis.SuppressMessage("Interoperability", "SYSLIB1054", Justification = "Only int arguments: nothing to marshal, and LibraryImport would need unsafe blocks in this project.")]
        public static extern int kill(int pid, int signal);
    }
}
