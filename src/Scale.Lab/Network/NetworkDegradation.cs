namespace Scale.Lab.Network;

/// <summary>How a zone's latency and loss are made.</summary>
public enum NetworkDegradationMechanism
{
    /// <summary>tc's netem queueing discipline on the zone's interface (the kernel's sch_netem).</summary>
    Netem,

    /// <summary>
    /// Where the kernel has no netem: an iptables rule in the zone's namespace drops packets at random (loss), and
    /// another queues them (NFQUEUE) to the lab's delay line, which lets each go after the delay (latency).
    /// </summary>
    DelayLine,
}

/// <summary>A zone's latency and loss as put in place: the mechanism, the values asked for, and what was done.</summary>
public sealed record NetworkDegradation(NetworkDegradationMechanism Mechanism, double DelayMs, double JitterMs, double LossPercent, string Detail)
{
    /// <summary>The mechanism's name as the lab's status and the chaos journal show it: <c>netem</c> or <c>delay-line</c>.</summary>
    public string MechanismName => Mechanism switch
    {
        NetworkDegradationMechanism.Netem => "netem",
        _ => "delay-line",
    };
}
