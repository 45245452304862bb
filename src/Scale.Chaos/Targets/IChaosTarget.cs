namespace Scale.Chaos.Targets;

/// <summary>One instance a chaos action can hit: a web server, a database server or a batch worker.</summary>
/// <param name="Name">The lab's program name (web-a1, pg-b) or the pod's name.</param>
/// <param name="Kind">web, database or batch.</param>
/// <param name="Zone">The zone it runs in (the lab's a/b/c; the node's topology.kubernetes.io/zone).</param>
/// <param name="Ready">Serving: /readyz 200, Patroni running, the pod's Ready condition.</param>
/// <param name="Role">Databases: primary or replica; null otherwise.</param>
/// <param name="Detail">Anything a person reading the journal wants (process state, node, replication state).</param>
public sealed record TargetInstance(string Name, string Kind, string? Zone, bool Ready, string? Role, string Detail = "");

/// <summary>What an action did: the instances it hit and the evidence that it applied.</summary>
public sealed record FaultReport(string Action, IReadOnlyList<string> Hit, string Detail)
{
    public IReadOnlyDictionary<string, double> Measurements { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>What the fault was made with, as text (e.g. mechanism: netem or delay-line), for the journal.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>The database cluster as the target reports it: its primary (null while there is none) and the replicas streaming from it.</summary>
public sealed record DatabaseRoles(string? Primary, IReadOnlyList<string> StreamingReplicas);

/// <summary>
/// Where experiments run: the local lab (<see cref="Lab.LabTarget"/>) or a Kubernetes cluster (<see cref="KubernetesTarget"/>).
/// Actions that a target cannot perform throw <see cref="ChaosException"/> saying so; in dry-run mode actions only
/// report what they would hit.
/// </summary>
public interface IChaosTarget : IAsyncDisposable
{
    /// <summary>lab or k8s.</summary>
    string Name { get; }

    /// <summary>Actions list what they would hit and change nothing.</summary>
    bool DryRun { get; }

    /// <summary>The service's public URL, where the steady load goes (null: the experiment must give one).</summary>
    Uri? ServiceUrl { get; }

    /// <summary>Every web, database and batch instance with its zone, readiness and role.</summary>
    Task<IReadOnlyList<TargetInstance>> InstancesAsync(CancellationToken cancellationToken);

    /// <summary>The current primary and the replicas streaming from it.</summary>
    Task<DatabaseRoles> DatabaseRolesAsync(CancellationToken cancellationToken);

    /// <summary>Terminates every web and database instance in one zone (SIGKILL in the lab; pod deletion with no grace period on Kubernetes).</summary>
    Task<FaultReport> TerminateZoneAsync(string zone, CancellationToken cancellationToken);

    /// <summary>Kills the database primary.</summary>
    Task<FaultReport> KillPrimaryAsync(CancellationToken cancellationToken);

    /// <summary>Kills up to <paramref name="count"/> running batch workers chosen with <paramref name="random"/>.</summary>
    Task<FaultReport> KillBatchWorkersAsync(int count, Random random, CancellationToken cancellationToken);
}
