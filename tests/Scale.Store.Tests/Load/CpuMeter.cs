using System.Diagnostics;
using System.Globalization;

namespace Scale.Store.Tests.Load;

/// <summary>
/// CPU seconds of this process and of PostgreSQL servers (each postmaster with its reaped children, plus its live
/// children), from /proc: what a load costs, less moved by a busy machine than its wall time.
/// </summary>
public sealed class CpuMeter(Func<IReadOnlyList<int>> postmasters)
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    public static double Client() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    public double Servers() => PerServer().Sum();

    /// <summary>CPU seconds of each postmaster's process tree, in the order given.</summary>
    public double[] PerServer()
    {
        var roots = postmasters();
        var seconds = new double[roots.Count];
        if (roots.Count == 0 || !Directory.Exists("/proc"))
        {
            return seconds;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || Stat(pid) is not { } stat)
            {
                continue;
            }

            var root = Index(roots, pid);
            if (root >= 0)
            {
                seconds[root] += (stat.User + stat.System + stat.ChildrenUser + stat.ChildrenSystem) / TicksPerSecond;
            }
            else if ((root = Index(roots, stat.Parent)) >= 0)
            {
                seconds[root] += (stat.User + stat.System) / TicksPerSecond;
            }
        }

        return seconds;
    }

    private static int Index(IReadOnlyList<int> roots, int pid)
    {
        for (var i = 0; i < roots.Count; i++)
        {
            if (roots[i] == pid)
            {
                return i;
            }
        }

        return -1;
    }

    private static (int Parent, double User, double System, double ChildrenUser, double ChildrenSystem)? Stat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // Fields after the command name, which is in parentheses and may hold spaces: state ppid ... utime(14) stime cutime cstime.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        double Field(int number) => double.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        return ((int)Field(4), Field(14), Field(15), Field(16), Field(17));
    }
}
