using System.Globalization;

namespace Scale.Chaos.Runner;

/// <summary>The machine's CPU time so far, all cores together, in clock ticks (the first line of /proc/stat).</summary>
/// <param name="Busy">Every state but idle and iowait (user, nice, system, irq, softirq, steal), less <paramref name="IdlePriority"/>.</param>
/// <param name="Total">Every state.</param>
/// <param name="IdlePriority">What the target ran at idle priority (<see cref="Targets.IIdlePriorityCpu"/>): CPU nothing
/// else wanted, so spare for the load, and not in <paramref name="Busy"/>.</param>
public readonly record struct CpuTimes(long Busy, long Total, long IdlePriority = 0)
{
    /// <summary>The share of the machine's CPU that was busy between two readings (0-1), null when no time passed.</summary>
    public static double? BusyShare(CpuTimes from, CpuTimes to) =>
        to.Total - from.Total is var total and > 0 ? Math.Clamp((double)(to.Busy - from.Busy) / total, 0, 1) : null;

    /// <summary>The share of the machine's CPU used at idle priority between two readings (0-1), null when no time passed.</summary>
    public static double? IdlePriorityShare(CpuTimes from, CpuTimes to) =>
        to.Total - from.Total is var total and > 0 ? Math.Clamp((double)(to.IdlePriority - from.IdlePriority) / total, 0, 1) : null;

    /// <summary>
    /// These times with <paramref name="idlePriority"/> moved out of busy (never below zero: the two are read at
    /// slightly different moments).
    /// </summary>
    public CpuTimes WithIdlePriority(TimeSpan idlePriority)
    {
        var ticks = (long)(idlePriority.TotalSeconds * MachineCpu.ClockTicksPerSecond);
        return this with { Busy = Math.Max(0, Busy - ticks), IdlePriority = ticks };
    }
}

/// <summary>
/// Reads how busy the machine running the chaos runner is. The lab runs every zone, the load balancer and the load
/// generator on this one machine; when its cores are saturated before any fault, a failed line measures the machine,
/// not the service, and the run says so in a verdict (docs/chaos.md, "machine capacity").
/// </summary>
public static class MachineCpu
{
    /// <summary>
    /// /proc/stat's unit: USER_HZ, which Linux fixes at 100 for user space on every architecture, whatever the
    /// kernel's own tick rate.
    /// </summary>
    public const int ClockTicksPerSecond = 100;

    /// <summary>Above this share of every core busy over the steady state, the machine has no room left.</summary>
    public const double SaturatedShare = 0.95;

    /// <summary>The machine's CPU times now, from /proc/stat; null where there is none (not Linux).</summary>
    public static CpuTimes? Read() => File.Exists("/proc/stat") ? Parse(File.ReadLines("/proc/stat").FirstOrDefault()) : null;

    /// <summary>
    /// The aggregate line, <c>cpu  user nice system idle iowait irq softirq steal guest guest_nice</c> (guest time
    /// is already inside user and nice, so it is not added again); null when the line is not that.
    /// </summary>
    public static CpuTimes? Parse(string? line)
    {
        if (line is null || !line.StartsWith("cpu ", StringComparison.Ordinal))
        {
            return null;
        }

        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = new long[8];
        for (var i = 0; i < values.Length && i + 1 < fields.Length; i++)
        {
            if (!long.TryParse(fields[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]))
            {
                return null;
            }
        }

        var idle = values[3] + values[4];
        var total = values.Sum();
        return new CpuTimes(total - idle, total);
    }
}
