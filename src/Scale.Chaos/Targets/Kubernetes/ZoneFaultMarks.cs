namespace Scale.Chaos.Targets.Kubernetes;

/// <summary>
/// The marks <see cref="KubernetesTarget"/>'s zone faults leave on the cluster. The undo reads them back from the
/// cluster, not from memory. So a restore or heal works from a new process after a crashed run, and it removes only
/// what a fault added. deploy/k8s/base/network-policies.yaml names the two partition labels in its selectors.
/// </summary>
public static class ZoneFaultMarks
{
    /// <summary>The NoExecute taint a zone outage puts on every node of the zone; its value is the zone.</summary>
    public const string OutageTaintKey = "scale.chaos/zone-outage";

    /// <summary>
    /// Set (to the zone) on a node the outage cordoned. A node that was already cordoned does not get it, so the
    /// restore leaves that node cordoned.
    /// </summary>
    public const string CordonedByOutageAnnotation = "scale.chaos/zone-outage-cordoned";

    /// <summary>
    /// Set on the Scale pods of a partitioned zone (value: the zone). The partition's NetworkPolicy selects pods by
    /// this label. The namespace's own policies exclude pods that carry it from the peers they allow.
    /// </summary>
    public const string PartitionedZoneLabel = "scale.chaos/partitioned-zone";

    /// <summary>
    /// Set with <see cref="PartitionedZoneLabel"/>: <c>zones</c> (cut off from the other zones only) or <c>all</c>
    /// (also from the load balancer, monitoring, the operator and the API server). The namespace's own policies
    /// stop selecting pods marked <c>all</c>, so only default-deny, DNS and the partition's policy apply to them.
    /// </summary>
    public const string PartitionScopeLabel = "scale.chaos/partition-scope";

    /// <summary>The value of <see cref="PartitionScopeLabel"/> for a partition that cuts the zone off from the other zones only.</summary>
    public const string ScopeZones = "zones";

    /// <summary>The value of <see cref="PartitionScopeLabel"/> for a partition that also cuts off everything outside the namespace.</summary>
    public const string ScopeAll = "all";

    /// <summary>The partition NetworkPolicy's name is this prefix and the zone.</summary>
    public const string PartitionPolicyPrefix = "scale-chaos-partition-";

    /// <summary>The label the target's NetworkPolicies carry (<c>app.kubernetes.io/managed-by</c>), so heal finds them.</summary>
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";

    /// <summary>The value of <see cref="ManagedByLabel"/> on the target's objects.</summary>
    public const string ManagedBy = "scale-chaos";
}
