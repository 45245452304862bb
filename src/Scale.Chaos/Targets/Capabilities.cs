namespace Scale.Chaos.Targets;

/// <summary>
/// What a target can do beyond the basics of <see cref="IChaosTarget"/>. The runner asks for a capability by its
/// interface (<see cref="ChaosTargetExtensions.Require{T}"/>); a target that lacks it gets a clear refusal naming the
/// function and the target, never a cast failure.
/// </summary>
public interface IZoneFaults
{
    /// <summary>Takes the whole zone down: every instance of it stops and nothing there answers, until <see cref="RestoreZoneAsync"/>.</summary>
    Task<FaultReport> ZoneOutageAsync(string zone, CancellationToken cancellationToken);

    /// <summary>Brings the zone back (its instances start and rejoin); harmless when it is not down.</summary>
    Task<FaultReport> RestoreZoneAsync(string zone, CancellationToken cancellationToken);

    /// <summary>
    /// Cuts the zone off from the other zones while it keeps running (and, with <paramref name="fromLoadBalancerToo"/>,
    /// from the load balancer and monitoring), until <see cref="HealPartitionAsync"/>.
    /// </summary>
    Task<FaultReport> PartitionZoneAsync(string zone, bool fromLoadBalancerToo, CancellationToken cancellationToken);

    /// <summary>Undoes the zone's partition; harmless when there is none.</summary>
    Task<FaultReport> HealPartitionAsync(string zone, CancellationToken cancellationToken);
}

/// <summary>Degrades a zone's network: added latency (and jitter) and packet loss on everything leaving it.</summary>
public interface INetworkFaults
{
    Task<FaultReport> DegradeZoneNetworkAsync(string zone, double delayMs, double jitterMs, double lossPercent, CancellationToken cancellationToken);

    /// <summary>Removes the degradation; harmless when there is none.</summary>
    Task<FaultReport> RestoreZoneNetworkAsync(string zone, CancellationToken cancellationToken);
}

/// <summary>Starves one instance of CPU (a pod at its CPU limit), and tells where the load balancer sends traffic.</summary>
public interface ICpuFaults
{
    /// <summary>The web instances, in the order a default choice takes them.</summary>
    IReadOnlyList<string> WebInstances { get; }

    Task<FaultReport> StressCpuAsync(string instance, double cores, int workers, TimeSpan duration, CancellationToken cancellationToken);

    Task<FaultReport> StopStressAsync(CancellationToken cancellationToken);

    /// <summary>Requests the load balancer has sent to each web instance so far.</summary>
    Task<IReadOnlyDictionary<string, long>> RequestsByInstanceAsync(CancellationToken cancellationToken);
}

/// <summary>Where the target's Prometheus answers.</summary>
public interface IPrometheusSource
{
    Uri PrometheusUrl { get; }
}

/// <summary>The target's store, for the write prober and the store digest.</summary>
public interface IStoreAccess
{
    /// <summary>The store as the web instances see it.</summary>
    string StoreConnectionString { get; }

    /// <summary>The primary through the load balancer, with short timeouts: an outage shows as failed writes, not hung ones.</summary>
    string WriteConnectionString { get; }

    /// <summary>Each database member directly (name, connection string), for a write history that sees every server that accepts writes.</summary>
    IReadOnlyList<(string Name, string ConnectionString)> DirectWriteConnectionStrings { get; }
}

/// <summary>
/// A target that runs some of its own work at idle priority on the machine the runner measures (the lab boots a
/// returning zone's web instances in an idle CPU group): that work takes only CPU nothing else wants, so the
/// machine-capacity verdict counts it as spare, not busy.
/// </summary>
public interface IIdlePriorityCpu
{
    /// <summary>CPU time used at idle priority so far (only differences between readings count); null when it cannot be known.</summary>
    TimeSpan? IdlePriorityCpuTime();

    /// <summary>The instances that booted at idle priority so far, oldest first (a readiness wait reports the ones it waited for).</summary>
    IReadOnlyList<IdlePriorityBoot> IdlePriorityBoots() => [];

    /// <summary>The instances booting at idle priority now, not yet in <see cref="IdlePriorityBoots"/> (a readiness wait may see one ready a moment before the target has read it).</summary>
    IReadOnlyCollection<string> IdlePriorityBooting() => [];
}

/// <summary>
/// An instance that booted at idle priority: how long until it was ready, and its threads' time on a CPU and runnable
/// but waiting for one meanwhile (threads run in parallel, so either can exceed the boot's duration).
/// </summary>
public sealed record IdlePriorityBoot(string Instance, TimeSpan Booting, TimeSpan Running, TimeSpan Waiting)
{
    /// <summary>Waiting for a CPU longer than running on one: the boot's length was set by the CPU the machine had left.</summary>
    public bool Starved => Waiting > Running;
}

/// <summary>A target that makes timeline events on its own (an instance started again after a hold-down).</summary>
public interface ITimelineSource
{
    Action<string, string>? OnEvent { get; set; }
}

public static class ChaosTargetExtensions
{
    /// <summary>The capability, or a <see cref="ChaosException"/> saying that <paramref name="function"/> cannot run on this target.</summary>
    public static T Require<T>(this IChaosTarget target, string function)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(target);
        return target as T ?? throw new ChaosException($"{function} cannot run on the {target.Name} target: it has no {Describe(typeof(T))} (docs/chaos.md lists what each target offers)");
    }

    private static string Describe(Type capability) => capability.Name switch
    {
        nameof(IZoneFaults) => "zone outage or partition",
        nameof(INetworkFaults) => "network latency or loss",
        nameof(ICpuFaults) => "per-instance CPU limit to squeeze",
        nameof(IPrometheusSource) => "Prometheus of its own (give prometheus_url)",
        nameof(IStoreAccess) => "store connection of its own (give db)",
        _ => capability.Name,
    };
}
