using System.Globalization;

namespace Scale.Chaos.Lab;

/// <summary>Processes as /proc shows them: who descends from whom, how much CPU they used. Linux only.</summary>
internal static class ProcessTree
{
    /// <summary>The processes and every descendant of them, roots included.</summary>
    public static IReadOnlySet<int> WithDescendants(IEnumerable<int> roots)
    {
        var parents = Parents();
        var result = new HashSet<int>(roots);
        var grew = true;
        while (grew)
        {
            grew = false;
            foreach (var (pid, parent) in parents)
            {
                if (result.Contains(parent) && result.Add(pid))
                {
                    grew = true;
                }
            }
        }

        return result;
    }

    /// <summary>SIGKILL, all at once: no process gets to clean up, as when a machine loses power.</summary>
    public static int KillAll(IEnumerable<int> pids)
    {
        var killed = 0;
        foreach (var pid in pids)
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
                killed++;
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone already.
            }
        }

        return killed;
    }

    /// <summary>User plus system CPU seconds a process has used (0 when it is gone), with its reaped children's when asked.</summary>
    public static double CpuSeconds(int pid, bool withReapedChildren = false)
    {
        var fields = StatFields(pid);
        if (fields is null)
        {
            return 0;
        }

        // utime, stime, cutime, cstime are fields 14-17 of /proc/PID/stat, in clock ticks (USER_HZ, 100 on Linux).
        long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        return (Field(14) + Field(15) + (withReapedChildren ? Field(16) + Field(17) : 0)) / 100.0;
    }

    private static Dictionary<int, int> Parents()
    {
        var result = new Dictionary<int, int>();
        foreach (var folder in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(folder), CultureInfo.InvariantCulture, out var pid) && StatFields(pid) is { } fields)
            {
                result[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
            }
        }

        return result;
    }

    // The fields after the command name (which may hold spaces and parentheses): state, ppid, pgrp ...
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var end = stat.LastIndexOf(')');
            return end < 0 ? null : stat[(end + 2)..].Split(' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
