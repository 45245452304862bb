using System.Globalization;

namespace Scale.Chaos.Runner;

/// <summary>
/// The "machine capacity" verdicts: whether the machine that runs the load (and, on the lab, the whole service) had
/// CPU to spare. A 2-core machine can be too small for a load before any fault (the original's /test_db at 500
/// requests/s saturated it once); a failed line then measures the machine, not the service, and the run has to say
/// so in its verdicts instead of failing as if the service had (or being retried until it holds).
/// </summary>
public static class MachineCapacity
{
    public const string Line = "machine capacity";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// Over the steady state before the method: fails only when the steady state failed with every core saturated,
    /// and then says the machine is too small for the load. Null when the CPU could not be read.
    /// </summary>
    public static Verdict? Before(CpuTimes? from, CpuTimes? to, int cores, bool steadyStateMet, double? requestsPerSecond)
    {
        if (BusyShare(from, to) is not { } busy)
        {
            return null;
        }

        var saturated = busy >= MachineCpu.SaturatedShare;
        var load = requestsPerSecond is { } rps ? string.Create(Invariant, $"{rps:0.##} requests/s") : "the load";
        var explanation = (steadyStateMet, saturated) switch
        {
            (false, true) => string.Create(Invariant, $"this machine cannot carry the steady load ({load}): its {cores} cores were {busy:P0} busy over the steady state before any fault, so the lines that failed before the method measure the machine, not the service (the method was not run); run it on a machine with more cores, or with less load (--var rps=N)"),
            (false, false) => NotSaturated(busy, cores, "over the steady state", "before the method"),
            (true, true) => string.Create(Invariant, $"the steady state held with no CPU to spare ({busy:P0} of {cores} cores busy at {load}): lines that fail during the fault may measure the machine"),
            (true, false) => string.Create(Invariant, $"{busy:P0} of {cores} cores busy over the steady state at {load}: {Spare(busy)}"),
        };
        return new Verdict(Line, Phase.Before, Measured(busy, cores), string.Create(Invariant, $"the steady state holds, or under {MachineCpu.SaturatedShare:P0} busy"), steadyStateMet || !saturated, explanation);
    }

    /// <summary>
    /// While the method ran: information, never a failure, so a line that failed while every core was saturated is
    /// read for what it is. Null when the CPU could not be read.
    /// </summary>
    public static Verdict? During(CpuTimes? from, CpuTimes? to, int cores)
    {
        if (BusyShare(from, to) is not { } busy)
        {
            return null;
        }

        var explanation = busy >= MachineCpu.SaturatedShare
            ? string.Create(Invariant, $"every core was saturated while the method ran ({busy:P0} of {cores} cores busy): a line that failed then may measure this machine, not the service")
            : string.Create(Invariant, $"{busy:P0} of {cores} cores busy while the method ran: {Spare(busy)}");
        return new Verdict(Line, Phase.During, Measured(busy, cores), "information", true, explanation + IdlePriorityNote(from, to));
    }

    /// <summary>
    /// After the method, over the last <paramref name="seconds"/> (the span the lines after the method look back on):
    /// fails only when the steady state was not back and every core was saturated then, and says the machine could not
    /// carry the load while the service recovered (on the lab the recovering zone's work, a rewind, a replica catching
    /// up, web instances warming up, shares the cores with the load). Null when the CPU could not be read.
    /// </summary>
    public static Verdict? After(CpuTimes? from, CpuTimes? to, int cores, bool steadyStateMet, double? requestsPerSecond, double seconds)
    {
        if (BusyShare(from, to) is not { } busy)
        {
            return null;
        }

        var saturated = busy >= MachineCpu.SaturatedShare;
        var load = requestsPerSecond is { } rps ? string.Create(Invariant, $"{rps:0.##} requests/s") : "the load";
        var explanation = (steadyStateMet, saturated) switch
        {
            (false, true) => string.Create(Invariant, $"this machine could not carry the load ({load}) while the service recovered: its {cores} cores were {busy:P0} busy over the last {seconds:0} s, the span the lines after the method measure, so the lines that failed after the method measure the machine as much as the service; run it on a machine with more cores, or with less load (--var rps=N)"),
            (false, false) => NotSaturated(busy, cores, string.Create(Invariant, $"over the last {seconds:0} s"), "after the method"),
            (true, true) => string.Create(Invariant, $"the steady state was back with no CPU to spare ({busy:P0} of {cores} cores busy over the last {seconds:0} s)"),
            (true, false) => string.Create(Invariant, $"{busy:P0} of {cores} cores busy over the last {seconds:0} s: {Spare(busy)}"),
        };
        return new Verdict(Line, Phase.After, Measured(busy, cores), string.Create(Invariant, $"the steady state is back, or under {MachineCpu.SaturatedShare:P0} busy"), steadyStateMet || !saturated, explanation + IdlePriorityNote(from, to));
    }

    /// <summary>
    /// What the target ran at idle priority (a returning zone's instances booting), which busy leaves out: it took
    /// only CPU that nothing else wanted, so it was there for the load. Empty when there was none worth saying (under 1 %).
    /// </summary>
    private static string IdlePriorityNote(CpuTimes? from, CpuTimes? to) =>
        from is { } start && to is { } end && CpuTimes.IdlePriorityShare(start, end) is { } idle and >= 0.01
            ? string.Create(Invariant, $" (besides, {idle:P0} used at idle priority by instances booting, counted as spare: it yields to any other work)")
            : "";

    /// <summary>From here to <see cref="MachineCpu.SaturatedShare"/> the machine is not saturated but has little room left.</summary>
    private const double LittleToSpareShare = 0.85;

    /// <summary>"CPU to spare", or "little" of it from 85 % busy (a rounded "95 %" with "CPU to spare" read as a contradiction).</summary>
    private static string Spare(double busy) => busy >= LittleToSpareShare ? "little CPU to spare" : "CPU to spare";

    /// <summary>A failed steady state on cores that were not saturated: the service's failure, unless they were nearly so.</summary>
    private static string NotSaturated(double busy, int cores, string span, string phase) => busy >= LittleToSpareShare
        ? string.Create(Invariant, $"{busy:P0} of {cores} cores busy {span}: little CPU to spare but not saturated, so the lines that failed {phase} may be the service's or the machine's")
        : string.Create(Invariant, $"the machine had CPU to spare {span} ({busy:P0} of {cores} cores busy): the lines that failed {phase} are the service's, not the machine's");

    /// <summary>Null when either reading is missing or no time passed between them.</summary>
    private static double? BusyShare(CpuTimes? from, CpuTimes? to) =>
        from is { } start && to is { } end ? CpuTimes.BusyShare(start, end) : null;

    private static string Measured(double busy, int cores) => string.Create(Invariant, $"{busy:P0} of {cores} cores busy");
}
