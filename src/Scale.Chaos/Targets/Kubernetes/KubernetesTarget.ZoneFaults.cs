using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Scale.Chaos.Targets.Kubernetes;

namespace Scale.Chaos.Targets;

/// <summary>
/// The zone faults: an outage (the zone's nodes tainted NoExecute and cordoned, its Scale pods deleted) and a
/// partition (the zone's Scale pods labelled and fenced by a NetworkPolicy). Neither takes a duration. The runner
/// holds the fault and calls <see cref="RestoreZoneAsync"/> or <see cref="HealPartitionAsync"/>. Those read what
/// to undo from the marks on the cluster (<see cref="ZoneFaultMarks"/>), not from this object. So they undo exactly
/// what a fault added, also from another process, and they do nothing, harmlessly, when nothing was done.
/// </summary>
public sealed partial class KubernetesTarget
{
    // A node's resourceVersion moves with every status update, so a patch can lose the race a few times.
    private const int NodePatchAttempts = 5;

    /// <summary>
    /// Takes <paramref name="zone"/> down as a lost zone looks to Kubernetes. Every node of the zone (label
    /// <c>topology.kubernetes.io/zone</c>, or the lab's short form) is cordoned and tainted
    /// <c>scale.chaos/zone-outage=ZONE:NoExecute</c>, all at once. Then the web and database pods on those nodes are
    /// deleted with grace period 0. A node that was already cordoned stays as it was, and the restore will not
    /// uncordon it. The taint also evicts every other pod on those nodes that does not tolerate it, in every
    /// namespace, as a real outage would. It refuses when the zone holds every node of the cluster.
    /// </summary>
    public async Task<FaultReport> ZoneOutageAsync(string zone, CancellationToken cancellationToken)
    {
        RequireZoneArgument(zone, "zone outage");
        var nodes = await NodesAsync(cancellationToken);
        var seen = ZonesOf(nodes);
        var resolved = ResolveZone(zone, seen) ?? throw new ChaosException(
            $"zone outage: no node is in zone {zone} (zones of the nodes: {(seen.Count > 0 ? string.Join(", ", seen) : $"none: no node has the label {ZoneLabel}")}).");
        var inZone = nodes.Where(node => NodeZone(node) == resolved).ToList();
        if (inZone.Count == nodes.Count)
        {
            throw new ChaosException(
                $"zone outage: all {nodes.Count.ToString(CultureInfo.InvariantCulture)} nodes of the cluster are in zone {resolved}; tainting them would leave nowhere for replacements to run.");
        }

        var nodeNames = inZone.Select(node => node.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        var web = await PodsAsync("web", options.WebSelector, cancellationToken);
        var database = await PodsAsync("database", options.DatabaseSelector, cancellationToken);
        var pods = web.Concat(database).Where(pod => pod.Node is { } node && nodeNames.Contains(node)).ToList();
        var primary = pods.FirstOrDefault(pod => pod.Kind == "database" && LabelRole(pod.Pod) == "primary");
        var now = DateTimeOffset.UtcNow;
        var planned = inZone.Select(node => (Node: node, Change: NodeOutagePatches.Outage(node, resolved, now))).ToList();
        var taint = $"{ZoneFaultMarks.OutageTaintKey}={resolved}:NoExecute";
        var zoneText = string.Equals(resolved, zone, StringComparison.Ordinal) ? $"zone {resolved}" : $"zone {zone}: {resolved}";
        var podsText = pods.Count == 0 ? "no web or database pod runs there" : string.Join(", ", pods.Select(pod => pod.Describe()));
        var primaryText = primary is null ? "" : $"; {primary.Name} was the primary";

        if (options.DryRun)
        {
            var nodesText = string.Join(", ", planned.Select(plan => $"{plan.Node.Metadata.Name} ({NodeOutagePatches.Describe(plan.Node)}{(plan.Change.WasCordoned ? "; already cordoned, left so" : "")})"));
            var detail = $"dry run: would taint {taint} and cordon {inZone.Count.ToString(CultureInfo.InvariantCulture)} node(s) of {zoneText}: {nodesText}; then delete with grace period 0 in namespace {options.Namespace}: {podsText}{primaryText}";
            log.WriteLine($"k8s {detail}");
            return new FaultReport("zone_outage", [.. nodeNames.Order(StringComparer.Ordinal), .. pods.Select(pod => pod.Name)], detail)
            {
                Measurements = OutageMeasurements(inZone.Count, planned.Count(plan => plan.Change.Cordons), pods.Count, primary is not null),
            };
        }

        log.WriteLine($"k8s: zone_outage: tainting {taint} and cordoning {inZone.Count.ToString(CultureInfo.InvariantCulture)} node(s) of {zoneText}, then deleting {pods.Count.ToString(CultureInfo.InvariantCulture)} pod(s)");

        // The nodes first: once they are cordoned and tainted, no replacement can land back in the zone.
        var outcomes = await Task.WhenAll(inZone.Select(async node =>
        {
            try
            {
                var (patched, change) = await PatchNodeAsync(node, current => NodeOutagePatches.Outage(current, resolved, now), change => change.Patch, $"zone outage: taint {taint} and cordon", cancellationToken);
                return (Node: node.Metadata.Name, Gone: patched is null, Change: change, Error: (ChaosException?)null);
            }
            catch (ChaosException e)
            {
                return (Node: node.Metadata.Name, Gone: false, Change: (NodeOutageChange?)null, Error: e);
            }
        }));

        var tainted = outcomes.Where(outcome => outcome.Change?.AddsTaint == true).Select(outcome => outcome.Node).ToList();
        var cordoned = outcomes.Where(outcome => outcome.Change?.Cordons == true).Select(outcome => outcome.Node).ToList();
        var leftCordoned = outcomes.Where(outcome => outcome.Change?.WasCordoned == true).Select(outcome => outcome.Node).ToList();
        var nodesGone = outcomes.Where(outcome => outcome.Gone).Select(outcome => outcome.Node).ToList();
        if (outcomes.FirstOrDefault(outcome => outcome.Error is not null) is { Error: { } error })
        {
            var done = tainted.Count + cordoned.Count > 0
                ? $"tainted {NamesOrNone(tainted)}, cordoned {NamesOrNone(cordoned)} (restore_zone {resolved} undoes that); "
                : "";
            throw new ChaosException($"zone outage: {done}{error.Message}", error);
        }

        IReadOnlyList<PodView> deleted;
        IReadOnlyList<string> podsGone;
        try
        {
            (deleted, podsGone) = await DeletePodsAsync("zone_outage", pods, cancellationToken);
        }
        catch (ChaosException e)
        {
            throw new ChaosException($"zone outage: taint {taint} and cordon applied to the nodes of {zoneText} (restore_zone {resolved} undoes that); then {e.Message}", e);
        }

        var report = $"{zoneText} down: taint {taint} on {NamesOrNone(inZone.Select(node => node.Metadata.Name).Except(nodesGone).ToList())}"
            + $" (newly tainted: {NamesOrNone(tainted)}); cordoned {NamesOrNone(cordoned)}"
            + (leftCordoned.Count > 0 ? $"; already cordoned before, left so: {string.Join(", ", leftCordoned)}" : "")
            + (nodesGone.Count > 0 ? $"; nodes gone meanwhile: {string.Join(", ", nodesGone)}" : "")
            + $"; deleted with grace period 0 in namespace {options.Namespace}: {(deleted.Count == 0 ? "none (no web or database pod ran there)" : string.Join(", ", deleted.Select(pod => pod.Describe())))}"
            + (podsGone.Count > 0 ? $"; already gone: {string.Join(", ", podsGone)}" : "")
            + primaryText
            + "; the taint evicts every other pod on those nodes that does not tolerate it, in every namespace";
        log.WriteLine($"k8s: {report}");
        return new FaultReport("zone_outage", [.. nodeNames.Order(StringComparer.Ordinal), .. deleted.Select(pod => pod.Name)], report)
        {
            Measurements = OutageMeasurements(inZone.Count - nodesGone.Count, cordoned.Count, deleted.Count, primary is not null),
        };
    }

    /// <summary>
    /// Undoes <see cref="ZoneOutageAsync"/> on every node of <paramref name="zone"/>, and on any node that carries
    /// the zone's marks. It removes the <c>scale.chaos/zone-outage</c> taint, and it uncordons only the nodes the
    /// outage cordoned (those with the <c>scale.chaos/zone-outage-cordoned</c> annotation). Nothing to undo is not
    /// an error. Pods are not moved back: the Deployment keeps its replicas where they run, and CloudNativePG's
    /// instance, whose volume is in the zone, is scheduled again there once the taint is gone.
    /// </summary>
    public async Task<FaultReport> RestoreZoneAsync(string zone, CancellationToken cancellationToken)
    {
        RequireZoneArgument(zone, "restore zone");
        var nodes = await NodesAsync(cancellationToken);
        var resolved = ResolveZone(zone, ZonesOf(nodes)) ?? zone;
        var candidates = nodes.Where(node => NodeZone(node) == resolved || CarriesOutageMarks(node, resolved)).ToList();
        var planned = candidates.Select(node => (Node: node, Change: NodeOutagePatches.Restore(node))).ToList();
        var toChange = planned.Where(plan => plan.Change.Patch is not null).ToList();
        var leftCordoned = planned.Where(plan => plan.Change.LeftCordoned).Select(plan => plan.Node.Metadata.Name).ToList();
        var leftText = leftCordoned.Count > 0 ? $"; left cordoned (cordoned before the outage, not by it): {string.Join(", ", leftCordoned)}" : "";
        if (toChange.Count == 0)
        {
            var nothing = $"zone {resolved}: nothing to restore (no node carries the taint {ZoneFaultMarks.OutageTaintKey} or was cordoned by it){leftText}";
            return new FaultReport("restore_zone", [], options.DryRun ? $"dry run: {nothing}" : nothing)
            {
                Measurements = RestoreMeasurements(0, 0),
            };
        }

        if (options.DryRun)
        {
            var detail = $"dry run: would restore zone {resolved}: remove the taint {ZoneFaultMarks.OutageTaintKey} from {NamesOrNone(toChange.Where(plan => plan.Change.RemovesTaint).Select(plan => plan.Node.Metadata.Name).ToList())}; uncordon {NamesOrNone(toChange.Where(plan => plan.Change.Uncordons).Select(plan => plan.Node.Metadata.Name).ToList())}{leftText}";
            log.WriteLine($"k8s {detail}");
            return new FaultReport("restore_zone", [.. toChange.Select(plan => plan.Node.Metadata.Name)], detail)
            {
                Measurements = RestoreMeasurements(toChange.Count(plan => plan.Change.RemovesTaint), toChange.Count(plan => plan.Change.Uncordons)),
            };
        }

        var untainted = new List<string>();
        var uncordoned = new List<string>();
        foreach (var (node, _) in toChange)
        {
            // One by one: a restore that fails half-way says exactly which nodes are back.
            try
            {
                var (patched, change) = await PatchNodeAsync(node, NodeOutagePatches.Restore, change => change.Patch, "restore zone: remove the outage's taint and cordon", cancellationToken);
                if (patched is not null && change.RemovesTaint)
                {
                    untainted.Add(node.Metadata.Name);
                }

                if (patched is not null && change.Uncordons)
                {
                    uncordoned.Add(node.Metadata.Name);
                }
            }
            catch (ChaosException e)
            {
                throw new ChaosException($"restore zone {resolved}: taint removed from {NamesOrNone(untainted)}, uncordoned {NamesOrNone(uncordoned)}; then {e.Message}", e);
            }
        }

        var report = $"zone {resolved} back: taint {ZoneFaultMarks.OutageTaintKey} removed from {NamesOrNone(untainted)}; uncordoned {NamesOrNone(uncordoned)}{leftText}";
        log.WriteLine($"k8s: {report}");
        return new FaultReport("restore_zone", [.. untainted.Union(uncordoned, StringComparer.Ordinal)], report)
        {
            Measurements = RestoreMeasurements(untainted.Count, uncordoned.Count),
        };
    }

    /// <summary>Cuts <paramref name="zone"/> off from the other zones only; the load balancer, monitoring and the API server still reach it.</summary>
    public Task<FaultReport> PartitionZoneAsync(string zone, CancellationToken cancellationToken) =>
        PartitionZoneAsync(zone, fromLoadBalancerToo: false, cancellationToken);

    /// <summary>
    /// Cuts the Scale pods (web, database, batch) of <paramref name="zone"/> off from those of the other zones,
    /// both ways, while they keep running. With <paramref name="fromLoadBalancerToo"/>, they are also cut off from
    /// everything outside the namespace but DNS. How: a NetworkPolicy named <c>scale-chaos-partition-ZONE</c> is
    /// created, then the pods are labelled <c>scale.chaos/partitioned-zone=ZONE</c> and
    /// <c>scale.chaos/partition-scope</c> (see <see cref="ZonePartition"/>). Before anything changes, the
    /// namespace's NetworkPolicies are checked. When one of them would still let the zone's pods reach another zone,
    /// the partition is refused, because it would not hold. The partition takes effect only where the CNI enforces
    /// NetworkPolicies (on EKS: the VPC CNI's network policy agent). Pods created after the labelling (replacements)
    /// carry no label and belong to no zone's partition.
    /// </summary>
    public async Task<FaultReport> PartitionZoneAsync(string zone, bool fromLoadBalancerToo, CancellationToken cancellationToken)
    {
        RequireZoneArgument(zone, "partition zone");
        var web = await PodsAsync("web", options.WebSelector, cancellationToken);
        var database = await PodsAsync("database", options.DatabaseSelector, cancellationToken);
        var batch = await PodsAsync("batch", options.BatchSelector, cancellationToken);
        var all = web.Concat(database).Concat(batch).ToList();
        var seen = all.Select(pod => pod.Zone).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var resolved = ResolveZone(zone, seen);
        var inZone = resolved is null ? [] : all.Where(pod => pod.Zone == resolved).ToList();
        if (resolved is null || inZone.Count == 0)
        {
            throw new ChaosException(
                $"partition zone: no web, database or batch pod runs in zone {zone} (zones seen: {(seen.Count > 0 ? string.Join(", ", seen) : "none")}; namespace {options.Namespace}).");
        }

        var labels = ZonePartition.PodLabels(resolved, fromLoadBalancerToo);
        var policy = ZonePartition.Policy(options.Namespace, resolved);
        var existing = await NetworkPoliciesAsync(labelSelector: null, cancellationToken);
        var previous = existing.FirstOrDefault(candidate => candidate.Metadata.Name == policy.Metadata.Name);
        var effective = existing.Where(candidate => candidate.Metadata.Name != policy.Metadata.Name).Append(policy).ToList();
        var partitioned = inZone.Select(pod => AsPolicyPod(pod, labels)).ToList();
        var others = all.Where(pod => pod.Zone is not null && pod.Zone != resolved).Select(pod => AsPolicyPod(pod, extra: null)).ToList();
        var leaks = ZonePartition.FindLeaks(effective, partitioned, others, fromLoadBalancerToo);
        if (leaks.Count > 0)
        {
            throw new ChaosException(
                $"partition zone {resolved}: refused, the NetworkPolicies of namespace {options.Namespace} would still let traffic through, so the partition would not hold: {string.Join("; ", leaks.Take(5))}{(leaks.Count > 5 ? $"; and {(leaks.Count - 5).ToString(CultureInfo.InvariantCulture)} more" : "")}. "
                + $"Every policy that allows Scale pods must leave out peers labelled {ZoneFaultMarks.PartitionedZoneLabel} and pods labelled {ZoneFaultMarks.PartitionScopeLabel}={ZoneFaultMarks.ScopeAll}, as deploy/k8s/base/network-policies.yaml does (docs/chaos-k8s.md).");
        }

        var primary = inZone.FirstOrDefault(pod => pod.Kind == "database" && LabelRole(pod.Pod) == "primary");
        var what = fromLoadBalancerToo
            ? "every other zone and everything outside the namespace but DNS (load balancer, monitoring, the operator, the API server)"
            : "the other zones (the load balancer, monitoring and the API server still reach it)";
        var labelText = string.Join(",", labels.Select(label => $"{label.Key}={label.Value}"));
        var primaryText = primary is null ? "" : $"; {primary.Name} was the primary";
        var allowedText = $"its pods keep TCP {string.Join(", ", ZonePartition.InZonePorts.Select(port => port.ToString(CultureInfo.InvariantCulture)))} among themselves, and DNS";
        if (options.DryRun)
        {
            var detail = $"dry run: would cut zone {resolved} off from {what}: {(previous is null ? "create" : "replace")} NetworkPolicy {policy.Metadata.Name} in namespace {options.Namespace} ({allowedText}) and label {labelText}: {string.Join(", ", inZone.Select(pod => pod.Describe()))}{primaryText}";
            log.WriteLine($"k8s {detail}");
            return new FaultReport("partition_zone", [.. inZone.Select(pod => pod.Name)], detail)
            {
                Measurements = PartitionMeasurements(inZone.Count, primary is not null),
            };
        }

        // The policy first: it selects nothing until the labels come, and then each labelled pod is fenced at once
        // together with its zone (labels first would cut it off from its own zone until the policy exists).
        if (previous is null)
        {
            await KubernetesConnection.CallAsync(client, $"create NetworkPolicy {policy.Metadata.Name} in namespace {options.Namespace}",
                () => client.NetworkingV1.CreateNamespacedNetworkPolicyAsync(policy, options.Namespace, cancellationToken: cancellationToken), cancellationToken);
        }
        else
        {
            policy.Metadata.ResourceVersion = previous.Metadata.ResourceVersion;
            await KubernetesConnection.CallAsync(client, $"replace NetworkPolicy {policy.Metadata.Name} in namespace {options.Namespace}",
                () => client.NetworkingV1.ReplaceNamespacedNetworkPolicyAsync(policy, policy.Metadata.Name, options.Namespace, cancellationToken: cancellationToken), cancellationToken);
        }

        var (labelled, gone) = await LabelPodsAsync(inZone, labels.ToDictionary(label => label.Key, label => (string?)label.Value, StringComparer.Ordinal), $"label for the partition of zone {resolved}", cancellationToken);
        var report = $"zone {resolved} cut off from {what}: NetworkPolicy {policy.Metadata.Name} {(previous is null ? "created" : "replaced")} in namespace {options.Namespace} ({allowedText}); labelled {labelText}: {NamesOrNone(labelled.Select(pod => pod.Describe()).ToList())}"
            + (gone.Count > 0 ? $"; gone meanwhile: {string.Join(", ", gone)}" : "")
            + primaryText;
        log.WriteLine($"k8s: {report}");
        return new FaultReport("partition_zone", [.. labelled.Select(pod => pod.Name)], report)
        {
            Measurements = PartitionMeasurements(labelled.Count, primary is not null),
        };
    }

    /// <summary>
    /// Undoes <see cref="PartitionZoneAsync(string, bool, CancellationToken)"/>. It removes the partition labels
    /// from the zone's pods, then deletes the zone's partition NetworkPolicy. It finds both by their marks, so
    /// nothing to heal is not an error.
    /// </summary>
    public async Task<FaultReport> HealPartitionAsync(string zone, CancellationToken cancellationToken)
    {
        RequireZoneArgument(zone, "heal partition");
        var labelled = await PodsAsync("partitioned", ZoneFaultMarks.PartitionedZoneLabel, cancellationToken, withZones: false);
        var policies = await NetworkPoliciesAsync($"{ZoneFaultMarks.ManagedByLabel}={ZoneFaultMarks.ManagedBy}", cancellationToken);
        var seen = labelled.Select(pod => PartitionZoneOf(pod.Pod.Metadata.Labels))
            .Concat(policies.Select(policy => PartitionZoneOf(policy.Metadata.Labels)))
            .OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var resolved = ResolveZone(zone, seen);
        if (resolved is null)
        {
            var nothing = $"zone {zone}: nothing to heal (no pod labelled {ZoneFaultMarks.PartitionedZoneLabel} and no partition NetworkPolicy for it in namespace {options.Namespace}{(seen.Count > 0 ? $"; partitioned zones: {string.Join(", ", seen)}" : "")})";
            return new FaultReport("heal_partition", [], options.DryRun ? $"dry run: {nothing}" : nothing)
            {
                Measurements = HealMeasurements(0, 0),
            };
        }

        var pods = labelled.Where(pod => PartitionZoneOf(pod.Pod.Metadata.Labels) == resolved).ToList();
        var zonePolicies = policies.Where(policy => PartitionZoneOf(policy.Metadata.Labels) == resolved).Select(policy => policy.Metadata.Name).ToList();
        if (options.DryRun)
        {
            var detail = $"dry run: would heal zone {resolved}: remove the labels {ZoneFaultMarks.PartitionedZoneLabel} and {ZoneFaultMarks.PartitionScopeLabel} from {NamesOrNone(pods.Select(pod => pod.Name).ToList())}; delete NetworkPolicy {NamesOrNone(zonePolicies)} in namespace {options.Namespace}";
            log.WriteLine($"k8s {detail}");
            return new FaultReport("heal_partition", [.. pods.Select(pod => pod.Name), .. zonePolicies], detail)
            {
                Measurements = HealMeasurements(pods.Count, zonePolicies.Count),
            };
        }

        // Labels first: an unlabelled pod is no longer selected by the partition policy, so deleting the policy
        // afterwards changes nothing for anyone.
        var removal = new Dictionary<string, string?>(StringComparer.Ordinal) { [ZoneFaultMarks.PartitionedZoneLabel] = null, [ZoneFaultMarks.PartitionScopeLabel] = null };
        var (unlabelled, gone) = await LabelPodsAsync(pods, removal, $"remove the partition labels of zone {resolved}", cancellationToken);
        var deleted = new List<string>();
        foreach (var name in zonePolicies)
        {
            if (await DeleteNetworkPolicyAsync(name, cancellationToken))
            {
                deleted.Add(name);
            }
        }

        var report = $"zone {resolved} reachable again: labels {ZoneFaultMarks.PartitionedZoneLabel} and {ZoneFaultMarks.PartitionScopeLabel} removed from {NamesOrNone(unlabelled.Select(pod => pod.Name).ToList())}"
            + (gone.Count > 0 ? $" (gone meanwhile: {string.Join(", ", gone)})" : "")
            + $"; NetworkPolicy deleted in namespace {options.Namespace}: {NamesOrNone(deleted)}";
        log.WriteLine($"k8s: {report}");
        return new FaultReport("heal_partition", [.. unlabelled.Select(pod => pod.Name), .. deleted], report)
        {
            Measurements = HealMeasurements(unlabelled.Count, deleted.Count),
        };
    }

    private static void RequireZoneArgument(string zone, string action)
    {
        if (string.IsNullOrWhiteSpace(zone))
        {
            throw new ChaosException($"{action}: no zone given.");
        }
    }

    private static List<string> ZonesOf(IEnumerable<V1Node> nodes) =>
        nodes.Select(NodeZone).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    private static bool CarriesOutageMarks(V1Node node, string zone) =>
        node.Spec?.Taints?.Any(taint => taint.Key == ZoneFaultMarks.OutageTaintKey && taint.Value == zone) == true
        || (node.Metadata?.Annotations?.TryGetValue(ZoneFaultMarks.CordonedByOutageAnnotation, out var marked) == true && marked == zone);

    private static string? PartitionZoneOf(IDictionary<string, string>? labels) =>
        labels?.TryGetValue(ZoneFaultMarks.PartitionedZoneLabel, out var zone) == true ? zone : null;

    private static string NamesOrNone(List<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);

    private PolicyPod AsPolicyPod(PodView pod, IReadOnlyDictionary<string, string>? extra)
    {
        var labels = new Dictionary<string, string>(pod.Pod.Metadata.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            labels[key] = value;
        }

        return new PolicyPod(pod.Name, options.Namespace, labels);
    }

    /// <summary>Every node of the cluster (cluster-scoped list); their zones go into the per-run cache.</summary>
    private async Task<IReadOnlyList<V1Node>> NodesAsync(CancellationToken cancellationToken)
    {
        var list = await KubernetesConnection.CallAsync(client, "list nodes (cluster-scoped; the zone's nodes)",
            () => client.CoreV1.ListNodeAsync(cancellationToken: cancellationToken), cancellationToken);
        var nodes = (list.Items ?? []).Where(node => node.Metadata?.Name is not null).OrderBy(node => node.Metadata.Name, StringComparer.Ordinal).ToList();
        foreach (var node in nodes)
        {
            zones[node.Metadata.Name] = NodeZone(node);
        }

        return nodes;
    }

    /// <summary>
    /// Applies the merge patch <paramref name="plan"/> makes for the node as last read. On 409 Conflict (the node
    /// changed since: its resourceVersion is in the patch) it reads the node again and plans again. Returns the
    /// patched node (null when the node no longer exists) and the change that was applied.
    /// </summary>
    private async Task<(V1Node? Node, T Change)> PatchNodeAsync<T>(V1Node node, Func<V1Node, T> plan, Func<T, string?> patchOf, string what, CancellationToken cancellationToken)
    {
        var name = node.Metadata.Name;
        var current = node;
        for (var attempt = 1; ; attempt++)
        {
            var change = plan(current);
            if (patchOf(change) is not { } patch)
            {
                return (current, change);
            }

            try
            {
                var patched = await KubernetesConnection.CallAsync(client, $"patch node {name} ({what})",
                    () => client.CoreV1.PatchNodeAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), name, cancellationToken: cancellationToken),
                    cancellationToken);
                return (patched, change);
            }
            catch (ChaosException e) when (StatusOf(e) == HttpStatusCode.NotFound)
            {
                return (null, change);
            }
            catch (ChaosException e) when (StatusOf(e) == HttpStatusCode.Conflict && attempt < NodePatchAttempts)
            {
                var reread = await KubernetesConnection.CallAsync<V1Node?>(client, $"get node {name} (cluster-scoped; read again after a conflict)", async () =>
                {
                    try
                    {
                        return await client.CoreV1.ReadNodeAsync(name, cancellationToken: cancellationToken);
                    }
                    catch (HttpOperationException gone) when (gone.Response?.StatusCode == HttpStatusCode.NotFound)
                    {
                        return null;
                    }
                }, cancellationToken);
                if (reread is null)
                {
                    return (null, change);
                }

                current = reread;
            }
        }
    }

    /// <summary>
    /// Merge-patches the labels of <paramref name="pods"/>, all at once (a null value removes a label): the pods
    /// patched, and the names of those already gone. When any patch fails, the exception names those that were done.
    /// </summary>
    private async Task<(IReadOnlyList<PodView> Patched, IReadOnlyList<string> Gone)> LabelPodsAsync(
        IReadOnlyList<PodView> pods, IReadOnlyDictionary<string, string?> labels, string what, CancellationToken cancellationToken)
    {
        var labelObject = new JsonObject();
        foreach (var (key, value) in labels)
        {
            labelObject[key] = value;
        }

        var patch = new JsonObject { ["metadata"] = new JsonObject { ["labels"] = labelObject } }.ToJsonString();
        var outcomes = await Task.WhenAll(pods.Select(async pod =>
        {
            try
            {
                var found = await KubernetesConnection.CallAsync(client, $"patch pod {pod.Name} in namespace {options.Namespace} ({what})", async () =>
                {
                    try
                    {
                        await client.CoreV1.PatchNamespacedPodAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), pod.Name, options.Namespace, cancellationToken: cancellationToken);
                        return true;
                    }
                    catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
                    {
                        return false;
                    }
                }, cancellationToken);
                return (Pod: pod, Patched: found, Error: (ChaosException?)null);
            }
            catch (ChaosException e)
            {
                return (Pod: pod, Patched: false, Error: e);
            }
        }));

        var patched = outcomes.Where(outcome => outcome.Patched).Select(outcome => outcome.Pod).ToList();
        var gone = outcomes.Where(outcome => !outcome.Patched && outcome.Error is null).Select(outcome => outcome.Pod.Name).ToList();
        if (outcomes.FirstOrDefault(outcome => outcome.Error is not null) is { Error: { } error })
        {
            throw new ChaosException($"{what}: done for {NamesOrNone(patched.Select(pod => pod.Name).ToList())}; then {error.Message}", error);
        }

        return (patched, gone);
    }

    private async Task<IReadOnlyList<V1NetworkPolicy>> NetworkPoliciesAsync(string? labelSelector, CancellationToken cancellationToken)
    {
        var list = await KubernetesConnection.CallAsync(client,
            $"list NetworkPolicies{(labelSelector is null ? "" : $" (labelSelector {labelSelector})")} in namespace {options.Namespace}",
            () => client.NetworkingV1.ListNamespacedNetworkPolicyAsync(options.Namespace, labelSelector: labelSelector, cancellationToken: cancellationToken),
            cancellationToken);
        return (list.Items ?? []).Where(policy => policy.Metadata?.Name is not null).OrderBy(policy => policy.Metadata.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Deletes one NetworkPolicy; false when it was already gone.</summary>
    private Task<bool> DeleteNetworkPolicyAsync(string name, CancellationToken cancellationToken) =>
        KubernetesConnection.CallAsync(client, $"delete NetworkPolicy {name} in namespace {options.Namespace}", async () =>
        {
            try
            {
                await client.NetworkingV1.DeleteNamespacedNetworkPolicyAsync(name, options.Namespace, cancellationToken: cancellationToken);
                return true;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }
        }, cancellationToken);

    private static HttpStatusCode? StatusOf(ChaosException e) =>
        (e.InnerException as HttpOperationException)?.Response?.StatusCode;

    private static Dictionary<string, double> OutageMeasurements(int nodes, int cordoned, int pods, bool primaryInZone) => new(StringComparer.Ordinal)
    {
        ["nodes"] = nodes,
        ["nodes_cordoned"] = cordoned,
        ["pods"] = pods,
        ["primary_in_zone"] = primaryInZone ? 1 : 0,
    };

    private static Dictionary<string, double> RestoreMeasurements(int untainted, int uncordoned) => new(StringComparer.Ordinal)
    {
        ["nodes_untainted"] = untainted,
        ["nodes_uncordoned"] = uncordoned,
    };

    private static Dictionary<string, double> PartitionMeasurements(int pods, bool primaryInZone) => new(StringComparer.Ordinal)
    {
        ["pods"] = pods,
        ["primary_in_zone"] = primaryInZone ? 1 : 0,
    };

    private static Dictionary<string, double> HealMeasurements(int pods, int policies) => new(StringComparer.Ordinal)
    {
        ["pods"] = pods,
        ["policies"] = policies,
    };
}
