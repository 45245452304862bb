using System.Globalization;

namespace Scale.Lab.Supervision;

/// <summary>How long a process's threads ran on a CPU and how long they waited, runnable, for one.</summary>
public readonly record struct CpuSchedule(TimeSpan Running, TimeSpan Waiting);

/// <summary>
/// Reads the scheduler's per-thread accounting (<c>/proc/&lt;pid&gt;/task/&lt;tid&gt;/schedstat</c>: nanoseconds on a
/// CPU, nanoseconds runnable but waiting for one, time slices). Busy CPU says how much the machine worked; waiting
/// says what a process did not get: a web instance booting at idle priority on busy cores waits most of its boot.
/// </summary>
public static class SchedStat
{
    /// <summary>The process's live threads summed (threads that have exited are not counted); null when it has exited or the kernel keeps no schedstat.</summary>
    public static CpuSchedule? Read(int pid, string procRoot = "/proc")
    {
        var tasks = Path.Join(procRoot, pid.ToString(CultureInfo.InvariantCulture), "task");
        string[] threads;
        try
        {
            threads = Directory.GetDirectories(tasks);
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            return null;
        }

        long running = 0, waiting = 0;
        var read = 0;
        foreach (var thread in threads)
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Join(thread, "schedstat"));
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
            {
                // The thread exited between the listing and the read.
                continue;
            }

            if (Parse(text) is { } schedule)
            {
                running += schedule.Running;
                waiting += schedule.Waiting;
                read++;
            }
        }

        return read == 0 ? null : new CpuSchedule(TimeSpan.FromTicks(running / 100), TimeSpan.FromTicks(waiting / 100));
    }

    /// <summary>"run_ns wait_ns slices" as the kernel writes it; null when it is not that.</summary>
    public static (long Running, long Waiting)? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return fields.Length >= 2
            && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var running)
            && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var waiting)
                ? (running, waiting)
                : null;
    }
}

/// <summary>A web instance that booted at idle priority: how long until it was ready, and how its threads ran meanwhile.</summary>
public sealed record IdleBoot(string Instance, TimeSpan Booting, CpuSchedule Schedule);

/// <summary>
/// The web instances of returning zones that boot at idle priority: those booting now, and each one's boot once it is
/// ready (read from the scheduler before it leaves the idle group). Safe to use from the boot watchers and the readers.
/// </summary>
public sealed class IdleBootLedger
{
    private readonly object _gate = new();
    private readonly List<IdleBoot> _boots = [];
    private readonly HashSet<string> _booting = new(StringComparer.Ordinal);

    /// <summary>The boots so far, oldest first.</summary>
    public IReadOnlyList<IdleBoot> Boots
    {
        get
        {
            lock (_gate)
            {
                return [.. _boots];
            }
        }
    }

    /// <summary>The instances booting now, not yet in <see cref="Boots"/>.</summary>
    public IReadOnlyCollection<string> Booting
    {
        get
        {
            lock (_gate)
            {
                return [.. _booting];
            }
        }
    }

    public void Started(IEnumerable<string> instances)
    {
        lock (_gate)
        {
            _booting.UnionWith(instances);
        }
    }

    /// <summary>The instance is ready: its boot is recorded (when its threads could be read) and it no longer boots.</summary>
    public void Ready(string instance, TimeSpan booting, CpuSchedule? schedule)
    {
        lock (_gate)
        {
            if (schedule is { } read)
            {
                _boots.Add(new IdleBoot(instance, booting, read));
            }

            _booting.Remove(instance);
        }
    }

    /// <summary>The watch ended (the lab went down, or the instances never became ready in time): they no longer boot here.</summary>
    public void Abandoned(IEnumerable<string> instances)
    {
        lock (_gate)
        {
            _booting.ExceptWith(instances);
        }
    }
}
