using System.Globalization;
using System.Text.RegularExpressions;

namespace Scale.Lab.Network;

/// <summary>
/// A zone's latency and loss where the kernel has no netem, from netfilter parts most kernels have (iptables' mangle
/// table, the statistic match, NFQUEUE): in the zone's namespace, the OUTPUT chain sends every packet leaving on
/// eth0 to a chain of the lab's own, which drops it at random (loss) and queues the rest to the zone's delay line
/// (latency, <see cref="DelayLine"/>). Everything lives in the zone's namespace: deleting it (`scale lab down`) takes
/// the rules with it, and `down` kills every process in it first, the delay line among them.
/// </summary>
/// <remarks>
/// <code>
/// -A OUTPUT -o eth0 -j scale-degrade
/// -A scale-degrade -m statistic --mode random --probability 0.3 -j DROP
/// -A scale-degrade -m comment --comment "delay 100ms jitter 10ms" -j NFQUEUE --queue-num 3712 --queue-bypass
/// </code>
/// The delay line binds its queue before the NFQUEUE rule exists, and <c>--queue-bypass</c> lets packets pass when no
/// process holds the queue: a dead delay line leaves the zone's traffic flowing, undelayed. A packet dropped in OUTPUT
/// is reported to a local sender (EPERM) where netem's loss is silent; TCP retransmits it as after any loss.
/// </remarks>
internal sealed partial class NetfilterDegradation(LabNetworkLayout layout, ICommandRunner commands, IReadOnlyList<string> scaleCommand)
{
    /// <summary>The lab's chain in the mangle table of a zone's namespace.</summary>
    public const string Chain = "scale-degrade";

    // Bound queues in the reading process's network namespace: "queue_num peer_portid queue_total copy_mode ...".
    private const string QueuesFile = "/proc/net/netfilter/nfnetlink_queue";

    /// <summary>
    /// The zone's NFQUEUE number. Queues belong to a network namespace, so zones could share one; deriving it from the
    /// base port and zone anyway makes a delay line's command line say whose it is.
    /// </summary>
    public ushort Queue(int zone) => (ushort)(16 * (layout.BasePort % 4096) + zone);

    public async Task<NetworkDegradation> DegradeAsync(int zone, double delayMs, double jitterMs, double lossPercent, CancellationToken cancellationToken)
    {
        var ns = layout.Namespace(zone);
        var queue = Queue(zone);
        await RestoreAsync(zone, cancellationToken);
        var chain = await IptablesAsync(ns, ["-N", Chain], cancellationToken);
        if (chain.ExitCode != 0)
        {
            throw chain.Output.Contains("exec of \"iptables\" failed", StringComparison.Ordinal)
                ? new NetworkFaultUnsupportedException("this machine's kernel has no netem queueing discipline (sch_netem) and iptables is not installed for the lab's delay line: apt-get install iptables (`scale lab up` installs it)")
                : new InvalidOperationException($"iptables -N {Chain} in {ns} failed: {chain.Output.Trim()}");
        }

        var parts = new List<string>();
        try
        {
            if (lossPercent > 0)
            {
                var probability = (lossPercent / 100).ToString("0.######", CultureInfo.InvariantCulture);
                await IptablesCheckedAsync(ns, ["-A", Chain, "-m", "statistic", "--mode", "random", "--probability", probability, "-j", "DROP"], cancellationToken);
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"iptables drops {lossPercent}% at random"));
            }

            if (delayMs > 0)
            {
                var pid = await StartDelayLineAsync(ns, queue, delayMs, jitterMs, cancellationToken);
                var queueNumber = queue.ToString(CultureInfo.InvariantCulture);
                await IptablesCheckedAsync(ns, ["-A", Chain, "-m", "comment", "--comment", Comment(delayMs, jitterMs), "-j", "NFQUEUE", "--queue-num", queueNumber, "--queue-bypass"], cancellationToken);
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"NFQUEUE {queue} to the delay line (pid {pid}) +{delayMs} ms ± {jitterMs} ms"));
            }

            await IptablesCheckedAsync(ns, ["-A", "OUTPUT", "-o", LabNetworkLayout.ZoneInterface, "-j", Chain], cancellationToken);
        }
        catch
        {
            await RestoreAsync(zone, CancellationToken.None);
            throw;
        }

        var detail = $"no netem on this kernel: every packet leaving {ns} on {LabNetworkLayout.ZoneInterface}: {(parts.Count == 0 ? "nothing" : string.Join("; ", parts))}";
        return new NetworkDegradation(NetworkDegradationMechanism.DelayLine, delayMs, delayMs > 0 ? jitterMs : 0, lossPercent, detail);
    }

    /// <summary>Removes the lab's rules from the zone's namespace and stops its delay line; harmless when there are none.</summary>
    public async Task RestoreAsync(int zone, CancellationToken cancellationToken)
    {
        var ns = layout.Namespace(zone);
        if ((await IptablesAsync(ns, ["-S", Chain], cancellationToken)).ExitCode == 0)
        {
            // The jump first: no packet enters the chain while it is emptied.
            for (var i = 0; i < 10; i++)
            {
                if ((await IptablesAsync(ns, ["-D", "OUTPUT", "-o", LabNetworkLayout.ZoneInterface, "-j", Chain], cancellationToken)).ExitCode != 0)
                {
                    break;
                }
            }

            await IptablesAsync(ns, ["-F", Chain], cancellationToken);
            await IptablesAsync(ns, ["-X", Chain], cancellationToken);
        }

        // The delay line last: it lets the packets it holds go as it stops.
        var queue = Queue(zone);
        if ((await BoundQueuesAsync(ns, cancellationToken)).Contains(queue))
        {
            var stop = await commands.RunAsync("ip", ["netns", "exec", ns, .. scaleCommand, "lab", "delay-line", "--queue", queue.ToString(CultureInfo.InvariantCulture), "--stop"], cancellationToken);
            if (stop.ExitCode != 0)
            {
                throw new InvalidOperationException($"stopping the delay line of {ns} failed: {stop.Output.Trim()}");
            }
        }
    }

    /// <summary>The zone's latency and loss as its rules say, for `scale lab status`; null when it has none.</summary>
    public async Task<string?> DescribeAsync(int zone, CancellationToken cancellationToken)
    {
        var ns = layout.Namespace(zone);
        var rules = await IptablesAsync(ns, ["-S"], cancellationToken);
        if (rules.ExitCode != 0)
        {
            return null;
        }

        var lines = rules.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!lines.Any(l => l.StartsWith("-A OUTPUT ", StringComparison.Ordinal) && l.EndsWith($"-j {Chain}", StringComparison.Ordinal)))
        {
            return null;
        }

        var parts = new List<string>();
        int? queue = null;
        foreach (var line in lines.Where(l => l.StartsWith($"-A {Chain} ", StringComparison.Ordinal)))
        {
            if (DelayComment().Match(line) is { Success: true } delay)
            {
                parts.Add($"delay {delay.Groups["delay"].Value}ms ± {delay.Groups["jitter"].Value}ms");
                queue = QueueNumber().Match(line) is { Success: true } number ? int.Parse(number.Groups[1].Value, CultureInfo.InvariantCulture) : null;
            }
            else if (Probability().Match(line) is { Success: true } loss
                     && double.TryParse(loss.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var probability))
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"loss {Math.Round(probability * 100, 3)}%"));
            }
        }

        var text = $"delay line (iptables, no netem): {(parts.Count == 0 ? "no rule" : string.Join(", ", parts))}";
        if (queue is { } q && !(await BoundQueuesAsync(ns, cancellationToken)).Contains(q))
        {
            text += $" — its process is gone (NFQUEUE {q} unbound): packets pass undelayed";
        }

        return text;
    }

    /// <summary>The comment the NFQUEUE rule carries, so the rules alone say the zone's delay.</summary>
    public static string Comment(double delayMs, double jitterMs) =>
        string.Create(CultureInfo.InvariantCulture, $"delay {delayMs}ms jitter {jitterMs}ms");

    private async Task<string> StartDelayLineAsync(string ns, ushort queue, double delayMs, double jitterMs, CancellationToken cancellationToken)
    {
        var start = await commands.RunAsync("ip", ["netns", "exec", ns, .. scaleCommand, .. DelayLine.Arguments(queue, delayMs, jitterMs), "--detach"], cancellationToken);
        if (start.ExitCode == DelayLine.UnavailableExitCode)
        {
            throw new NetworkFaultUnsupportedException(
                $"this machine's kernel has neither netem (sch_netem) nor a netfilter queue to userspace for the lab's delay line: {start.Output.Trim()}");
        }

        if (start.ExitCode != 0)
        {
            throw new InvalidOperationException($"the delay line of {ns} did not start ({start.ExitCode}): {start.Output.Trim()}");
        }

        return PidLine().Match(start.Output) is { Success: true } pid ? pid.Groups[1].Value : "?";
    }

    private async Task<HashSet<int>> BoundQueuesAsync(string ns, CancellationToken cancellationToken)
    {
        var result = await commands.RunAsync("ip", ["netns", "exec", ns, "cat", QueuesFile], cancellationToken);
        var queues = new HashSet<int>();
        if (result.ExitCode != 0)
        {
            return queues;
        }

        foreach (var line in result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var first = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var queue))
            {
                queues.Add(queue);
            }
        }

        return queues;
    }

    private Task<ProgramResult> IptablesAsync(string ns, string[] arguments, CancellationToken cancellationToken) =>
        commands.RunAsync("ip", ["netns", "exec", ns, "iptables", "-w", "-t", "mangle", .. arguments], cancellationToken);

    private async Task IptablesCheckedAsync(string ns, string[] arguments, CancellationToken cancellationToken)
    {
        var result = await IptablesAsync(ns, arguments, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"iptables -t mangle {string.Join(' ', arguments)} in {ns} failed: {result.Output.Trim()}");
        }
    }

    [GeneratedRegex("--comment \"?delay (?<delay>[0-9.]+)ms jitter (?<jitter>[0-9.]+)ms")]
    private static partial Regex DelayComment();

    [GeneratedRegex("--queue-num ([0-9]+)")]
    private static partial Regex QueueNumber();

    [GeneratedRegex("--probability ([0-9.eE+-]+)")]
    private static partial Regex Probability();

    [GeneratedRegex(@"\bpid ([0-9]+)")]
    private static partial Regex PidLine();
}
