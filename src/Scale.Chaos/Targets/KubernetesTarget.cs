using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using k8s.Models;
using Scale.Chaos.Targets.Kubernetes;

namespace Scale.Chaos.Targets;

/// <summary>
/// A Kubernetes cluster running deploy/k8s: web pods of the Deployment, the instance pods of a CloudNativePG Cluster,
/// the pods of the extract Job. Most faults are pod deletions with no grace period. The zone faults (zone outage and
/// partition, in Kubernetes/KubernetesTarget.ZoneFaults.cs) taint and cordon nodes, or label pods and add a
/// NetworkPolicy. A pod's zone is its node's <c>topology.kubernetes.io/zone</c> label. Every API failure becomes a
/// <see cref="ChaosException"/> naming what was asked, the namespace and the HTTP status.
/// </summary>
public sealed partial class KubernetesTarget : IChaosTarget, IZoneFaults
{
    /// <summary>The node label a pod's zone is read from.</summary>
    public const string ZoneLabel = "topology.kubernetes.io/zone";

    private const string LegacyZoneLabel = "failure-domain.beta.kubernetes.io/zone";
    private const string InstanceRoleLabel = "cnpg.io/instanceRole";
    private const string LegacyRoleLabel = "role";
    private const string CompletionIndexLabel = "batch.kubernetes.io/job-completion-index";
    private const string CnpgGroup = "postgresql.cnpg.io";
    private const string CnpgVersion = "v1";
    private const string CnpgPlural = "clusters";

    private readonly IKubernetes client;
    private readonly KubernetesTargetOptions options;
    private readonly TextWriter log;

    // Node name => zone, for the target's lifetime (one run). Nodes that do not exist (yet) are not cached.
    private readonly ConcurrentDictionary<string, string?> zones = new(StringComparer.Ordinal);

    /// <summary>Connects as <paramref name="options"/> say: its kubeconfig, $KUBECONFIG, ~/.kube/config or the pod's ServiceAccount.</summary>
    public KubernetesTarget(KubernetesTargetOptions options, TextWriter log)
        : this(options, KubernetesConnection.Configure(NotNull(options)), log)
    {
    }

    /// <summary>Connects with a ready configuration (tests point one at a loopback server).</summary>
    public KubernetesTarget(KubernetesTargetOptions options, KubernetesClientConfiguration configuration, TextWriter log)
        : this(options, CreateClient(configuration), log)
    {
    }

    /// <summary>Uses <paramref name="client"/>, which the target then owns and disposes.</summary>
    public KubernetesTarget(KubernetesTargetOptions options, IKubernetes client, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(log);
        if (string.IsNullOrWhiteSpace(options.Namespace))
        {
            throw new ChaosException("Kubernetes: the namespace is empty.");
        }

        this.options = options;
        this.client = client;
        this.log = log;
    }

    public string Name => "k8s";

    public bool DryRun => options.DryRun;

    public Uri? ServiceUrl => options.ServiceUrl;

    /// <summary>The options the target runs with.</summary>
    public KubernetesTargetOptions Options => options;

    /// <summary>The API server the client talks to.</summary>
    public Uri ApiServer => client.BaseUri;

    public async Task<IReadOnlyList<TargetInstance>> InstancesAsync(CancellationToken cancellationToken)
    {
        var web = await PodsAsync("web", options.WebSelector, cancellationToken);
        var database = await PodsAsync("database", options.DatabaseSelector, cancellationToken);
        var batch = await PodsAsync("batch", options.BatchSelector, cancellationToken);

        // CloudNativePG labels each instance pod with its role; older releases only with "role", and a pod created a
        // moment ago may have neither yet: then the Cluster's status.currentPrimary decides.
        CnpgClusterStatus? cluster = null;
        if (database.Any(pod => LabelRole(pod.Pod) is null))
        {
            cluster = await ClusterStatusAsync(cancellationToken);
        }

        return
        [
            .. web.Select(pod => pod.ToInstance(role: null)),
            .. database.Select(pod => pod.ToInstance(LabelRole(pod.Pod) ?? RoleFromStatus(pod.Name, cluster))),
            .. batch.Select(pod => pod.ToInstance(role: null)),
        ];
    }

    /// <summary>
    /// From the Cluster's status: the primary is <c>status.currentPrimary</c>, or null while a failover or switchover
    /// runs (<c>currentPrimary</c> differs from <c>targetPrimary</c>, or the phase says so). The streaming replicas are
    /// the instances in <c>status.instancesStatus.healthy</c> other than the primary whose pods are Ready (CloudNativePG
    /// keeps no per-replica streaming state in the status; <c>status.readyInstances</c> is only a count). With no
    /// primary no replica streams, and the list is empty.
    /// </summary>
    public async Task<DatabaseRoles> DatabaseRolesAsync(CancellationToken cancellationToken)
    {
        var cluster = await ClusterStatusAsync(cancellationToken);
        if (cluster.Primary is not { } primary)
        {
            return new DatabaseRoles(null, []);
        }

        var pods = await PodsAsync("database", options.DatabaseSelector, cancellationToken, withZones: false);
        var ready = pods.Where(pod => pod.Ready).Select(pod => pod.Name).ToHashSet(StringComparer.Ordinal);
        var replicas = cluster.Healthy
            .Where(name => !string.Equals(name, primary, StringComparison.Ordinal) && ready.Contains(name))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
        return new DatabaseRoles(primary, replicas);
    }

    /// <summary>
    /// Deletes every web and database pod whose node is in <paramref name="zone"/> (a node's zone label, e.g.
    /// eu-west-1b; or its last letters, as the lab's "b", when exactly one zone seen ends so), with grace period 0.
    /// </summary>
    public async Task<FaultReport> TerminateZoneAsync(string zone, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(zone))
        {
            throw new ChaosException("terminate zone: no zone given.");
        }

        var web = await PodsAsync("web", options.WebSelector, cancellationToken);
        var database = await PodsAsync("database", options.DatabaseSelector, cancellationToken);
        var all = web.Concat(database).ToList();
        var seen = all.Select(pod => pod.Zone).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        var resolved = ResolveZone(zone, seen);
        var hit = resolved is null ? [] : all.Where(pod => string.Equals(pod.Zone, resolved, StringComparison.Ordinal)).ToList();
        if (hit.Count == 0)
        {
            var seenText = seen.Count > 0
                ? string.Join(", ", seen)
                : all.Count == 0 ? "none: no pods match" : $"none: no node of these pods has the label {ZoneLabel}";
            throw new ChaosException(
                $"no web or database pod runs in zone {zone} (zones seen: {seenText}; namespace {options.Namespace}, pods {options.WebSelector} and {options.DatabaseSelector}).");
        }

        var zoneText = string.Equals(resolved, zone, StringComparison.Ordinal) ? $"zone {resolved}" : $"zone {zone}: {resolved}";
        return await DeleteAsync("terminate-zone", hit, zoneText, cancellationToken);
    }

    /// <summary>Deletes the pod of the Cluster's <c>status.currentPrimary</c> with grace period 0; CloudNativePG then promotes a replica.</summary>
    public async Task<FaultReport> KillPrimaryAsync(CancellationToken cancellationToken)
    {
        var cluster = await ClusterStatusAsync(cancellationToken);
        if (cluster.Primary is not { } primary)
        {
            throw new ChaosException(cluster.ChangingPrimary
                ? $"no primary to kill: the CloudNativePG Cluster {options.DatabaseCluster} in namespace {options.Namespace} is changing its primary (currentPrimary {cluster.CurrentPrimary ?? "none"}, targetPrimary {cluster.TargetPrimary ?? "none"}, phase \"{cluster.Phase}\")."
                : $"no primary to kill: the CloudNativePG Cluster {options.DatabaseCluster} in namespace {options.Namespace} reports no status.currentPrimary (phase \"{cluster.Phase}\").");
        }

        var pods = await PodsAsync("database", options.DatabaseSelector, cancellationToken);
        var pod = pods.FirstOrDefault(candidate => string.Equals(candidate.Name, primary, StringComparison.Ordinal))
            ?? throw new ChaosException(
                $"no primary to kill: the Cluster {options.DatabaseCluster} names {primary} as primary, but no pod of that name matches {options.DatabaseSelector} in namespace {options.Namespace} (pods: {NamesText(pods)}).");
        return await DeleteAsync("kill-primary", [pod], $"primary of {options.DatabaseCluster}", cancellationToken);
    }

    /// <summary>Deletes up to <paramref name="count"/> Running batch pods (not already terminating), chosen with <paramref name="random"/> among them in name order, with grace period 0.</summary>
    public async Task<FaultReport> KillBatchWorkersAsync(int count, Random random, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (count < 1)
        {
            throw new ChaosException($"kill batch workers: the count must be at least 1, not {count.ToString(CultureInfo.InvariantCulture)}.");
        }

        var pods = await PodsAsync("batch", options.BatchSelector, cancellationToken);
        var running = pods.Where(pod => pod.Phase == "Running" && !pod.Terminating).ToList();
        if (running.Count == 0)
        {
            var seen = pods.Count == 0
                ? "no pods match: the Job is not running"
                : "pods seen: " + string.Join(", ", pods.Select(pod => $"{pod.Name} {pod.Phase}{(pod.Terminating ? " terminating" : "")}"));
            throw new ChaosException($"no running batch pod matches {options.BatchSelector} in namespace {options.Namespace} ({seen}).");
        }

        // A partial Fisher-Yates shuffle over the name-ordered pods: the same seed picks the same pods.
        var chosen = running.ToArray();
        var take = Math.Min(count, chosen.Length);
        for (var i = 0; i < take; i++)
        {
            var j = random.Next(i, chosen.Length);
            (chosen[i], chosen[j]) = (chosen[j], chosen[i]);
        }

        var scope = take < count
            ? $"{take.ToString(CultureInfo.InvariantCulture)} of {count.ToString(CultureInfo.InvariantCulture)} asked for (only {running.Count.ToString(CultureInfo.InvariantCulture)} running)"
            : $"{take.ToString(CultureInfo.InvariantCulture)} of {running.Count.ToString(CultureInfo.InvariantCulture)} running";
        return await DeleteAsync("kill-batch-workers", chosen[..take], $"batch workers, {scope}", cancellationToken);
    }

    /// <summary>
    /// Waits until there is at least one web and one database pod, every web and database pod is Ready and the Cluster
    /// has a primary, polling for at most <see cref="KubernetesTargetOptions.ReadyTimeout"/>; returns the instances.
    /// </summary>
    public async Task<IReadOnlyList<TargetInstance>> WaitForReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + options.ReadyTimeout;
        var pause = TimeSpan.FromSeconds(Math.Clamp(options.ReadyTimeout.TotalSeconds / 10, 0.05, 2));
        while (true)
        {
            var instances = await InstancesAsync(cancellationToken);
            var roles = await DatabaseRolesAsync(cancellationToken);
            var problems = new List<string>();
            foreach (var kind in (string[])["web", "database"])
            {
                var ofKind = instances.Where(instance => instance.Kind == kind).ToList();
                if (ofKind.Count == 0)
                {
                    problems.Add($"no {kind} pod");
                }

                problems.AddRange(ofKind.Where(instance => !instance.Ready).Select(instance => $"{instance.Name} not Ready ({instance.Detail})"));
            }

            if (roles.Primary is null)
            {
                problems.Add($"the Cluster {options.DatabaseCluster} has no primary");
            }

            if (problems.Count == 0)
            {
                return instances;
            }

            if (DateTimeOffset.UtcNow >= deadline)
            {
                throw new ChaosException(
                    $"Kubernetes: namespace {options.Namespace} not ready after {options.ReadyTimeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s: {string.Join("; ", problems)}.");
            }

            await Task.Delay(pause, cancellationToken);
        }
    }

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<FaultReport> DeleteAsync(string action, IReadOnlyList<PodView> pods, string what, CancellationToken cancellationToken)
    {
        var described = string.Join(", ", pods.Select(pod => pod.Describe()));
        if (options.DryRun)
        {
            log.WriteLine($"k8s dry run: {action}: would delete {pods.Count.ToString(CultureInfo.InvariantCulture)} pod(s) in namespace {options.Namespace} ({what}): {described}");
            return new FaultReport(action, [.. pods.Select(pod => pod.Name)],
                $"dry run: would delete with grace period 0 in namespace {options.Namespace} ({what}): {described}")
            {
                Measurements = new Dictionary<string, double>(StringComparer.Ordinal) { ["pods"] = pods.Count },
            };
        }

        log.WriteLine($"k8s: {action}: deleting {pods.Count.ToString(CultureInfo.InvariantCulture)} pod(s) in namespace {options.Namespace} with grace period 0 ({what}): {described}");
        var (deleted, gone) = await DeletePodsAsync(action, pods, cancellationToken);
        var detail = $"deleted with grace period 0 in namespace {options.Namespace} ({what}): {string.Join(", ", deleted.Select(pod => pod.Describe()))}";
        if (gone.Count > 0)
        {
            detail += $"; already gone: {string.Join(", ", gone)}";
        }

        return new FaultReport(action, [.. deleted.Select(pod => pod.Name)], detail)
        {
            Measurements = new Dictionary<string, double>(StringComparer.Ordinal) { ["pods"] = deleted.Count },
        };
    }

    /// <summary>
    /// Deletes <paramref name="pods"/> with grace period 0, all at once (a zone loss does not take its pods one by
    /// one): the pods deleted and the names of those already gone. When any deletion fails, the exception names
    /// those that were deleted.
    /// </summary>
    private async Task<(IReadOnlyList<PodView> Deleted, IReadOnlyList<string> Gone)> DeletePodsAsync(string action, IReadOnlyList<PodView> pods, CancellationToken cancellationToken)
    {
        var outcomes = await Task.WhenAll(pods.Select(async pod =>
        {
            try
            {
                return (Pod: pod, Deleted: await DeletePodAsync(pod.Name, cancellationToken), Error: (ChaosException?)null);
            }
            catch (ChaosException e)
            {
                return (Pod: pod, Deleted: false, Error: e);
            }
        }));

        var deleted = outcomes.Where(outcome => outcome.Deleted).Select(outcome => outcome.Pod).ToList();
        var gone = outcomes.Where(outcome => !outcome.Deleted && outcome.Error is null).Select(outcome => outcome.Pod.Name).ToList();
        var failed = outcomes.Where(outcome => outcome.Error is not null).ToList();
        if (failed.Count > 0)
        {
            var done = deleted.Count > 0 ? $"deleted {string.Join(", ", deleted.Select(pod => pod.Name))}; " : "";
            throw new ChaosException($"{action}: {done}{failed[0].Error!.Message}", failed[0].Error!);
        }

        return (deleted, gone);
    }

    /// <summary>Deletes one pod with grace period 0 (in the query and the DeleteOptions body, as kubectl does); false when it was already gone.</summary>
    private Task<bool> DeletePodAsync(string name, CancellationToken cancellationToken) =>
        KubernetesConnection.CallAsync(client, $"delete pod {name} in namespace {options.Namespace}", async () =>
        {
            try
            {
                await client.CoreV1.DeleteNamespacedPodAsync(
                    name,
                    options.Namespace,
                    new V1DeleteOptions { GracePeriodSeconds = 0 },
                    gracePeriodSeconds: 0,
                    cancellationToken: cancellationToken);
                return true;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }
        }, cancellationToken);

    private async Task<IReadOnlyList<PodView>> PodsAsync(string kind, string selector, CancellationToken cancellationToken, bool withZones = true)
    {
        var list = await KubernetesConnection.CallAsync(
            client,
            $"list pods ({kind}, labelSelector {selector}) in namespace {options.Namespace}",
            () => client.CoreV1.ListNamespacedPodAsync(options.Namespace, labelSelector: selector, cancellationToken: cancellationToken),
            cancellationToken);

        var pods = (list.Items ?? []).Where(pod => pod.Metadata?.Name is not null).OrderBy(pod => pod.Metadata.Name, StringComparer.Ordinal).ToList();
        var views = new List<PodView>(pods.Count);
        foreach (var pod in pods)
        {
            var zone = withZones ? await ZoneAsync(pod.Spec?.NodeName, cancellationToken) : null;
            views.Add(new PodView(pod, kind, zone));
        }

        return views;
    }

    private async Task<string?> ZoneAsync(string? nodeName, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(nodeName))
        {
            return null;
        }

        if (zones.TryGetValue(nodeName, out var cached))
        {
            return cached;
        }

        var node = await KubernetesConnection.CallAsync<V1Node?>(client, $"get node {nodeName} (cluster-scoped; the zone of the pods on it)", async () =>
        {
            try
            {
                return await client.CoreV1.ReadNodeAsync(nodeName, cancellationToken: cancellationToken);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
            {
                // The node is gone (scaled in, or lost with its zone): its pods have no zone any more.
                return null;
            }
        }, cancellationToken);

        if (node is null)
        {
            return null;
        }

        var zone = NodeZone(node);
        zones[nodeName] = zone;
        return zone;
    }

    /// <summary>The node's zone label (or the legacy one older nodes carry); null when it has neither.</summary>
    private static string? NodeZone(V1Node node)
    {
        var labels = node.Metadata?.Labels;
        return labels?.TryGetValue(ZoneLabel, out var value) == true ? value
            : labels?.TryGetValue(LegacyZoneLabel, out var legacy) == true ? legacy
            : null;
    }

    private async Task<CnpgClusterStatus> ClusterStatusAsync(CancellationToken cancellationToken)
    {
        var cluster = await KubernetesConnection.CallAsync(
            client,
            $"get the CloudNativePG Cluster {options.DatabaseCluster} ({CnpgPlural}.{CnpgGroup}/{CnpgVersion}) in namespace {options.Namespace}",
            () => client.CustomObjects.GetNamespacedCustomObjectAsync(CnpgGroup, CnpgVersion, options.Namespace, CnpgPlural, options.DatabaseCluster, cancellationToken),
            cancellationToken);
        return CnpgClusterStatus.Parse(cluster);
    }

    /// <summary>
    /// The zone among <paramref name="seen"/> that <paramref name="asked"/> names: the same zone (any case), or the
    /// lab's form. The lab's zones are a, b and c, so "b" names eu-west-1b when exactly one zone seen ends so.
    /// </summary>
    private static string? ResolveZone(string asked, IReadOnlyCollection<string> seen) =>
        seen.FirstOrDefault(candidate => string.Equals(candidate, asked, StringComparison.OrdinalIgnoreCase))
        ?? (seen.Where(candidate => candidate.EndsWith(asked, StringComparison.OrdinalIgnoreCase)).ToList() is [var only] ? only : null);

    private static string? LabelRole(V1Pod pod)
    {
        var labels = pod.Metadata?.Labels;
        var role = labels?.TryGetValue(InstanceRoleLabel, out var value) == true ? value
            : labels?.TryGetValue(LegacyRoleLabel, out var legacy) == true ? legacy
            : null;
        return role is "primary" or "replica" ? role : null;
    }

    private static string? RoleFromStatus(string name, CnpgClusterStatus? cluster) =>
        cluster?.Primary is not { } primary ? null
        : string.Equals(name, primary, StringComparison.Ordinal) ? "primary"
        : "replica";

    private static string NamesText(IReadOnlyList<PodView> pods) =>
        pods.Count == 0 ? "none" : string.Join(", ", pods.Select(pod => pod.Name));

    private static KubernetesTargetOptions NotNull(KubernetesTargetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options;
    }

    private static k8s.Kubernetes CreateClient(KubernetesClientConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        try
        {
            return new k8s.Kubernetes(configuration);
        }
        catch (KubeConfigException e)
        {
            throw new ChaosException($"Kubernetes: cannot create a client for {configuration.Host}: {e.Message}", e);
        }
    }

    /// <summary>One pod as the target sees it.</summary>
    private sealed record PodView(V1Pod Pod, string Kind, string? Zone)
    {
        public string Name => Pod.Metadata.Name;

        public string? Node => string.IsNullOrEmpty(Pod.Spec?.NodeName) ? null : Pod.Spec.NodeName;

        public string Phase => Pod.Status?.Phase ?? "Unknown";

        public bool Terminating => Pod.Metadata.DeletionTimestamp is not null;

        public bool Ready => Pod.Status?.Conditions?.Any(condition => condition.Type == "Ready" && condition.Status == "True") == true;

        public int Restarts => Pod.Status?.ContainerStatuses?.Sum(container => container.RestartCount) ?? 0;

        public TargetInstance ToInstance(string? role)
        {
            var detail = $"phase {Phase}, node {Node ?? "none (not scheduled)"}, restarts {Restarts.ToString(CultureInfo.InvariantCulture)}";
            if (Terminating)
            {
                detail += ", terminating";
            }

            if (Pod.Metadata.Labels?.TryGetValue(CompletionIndexLabel, out var index) == true)
            {
                detail += $", completion index {index}";
            }

            return new TargetInstance(Name, Kind, Zone, Ready, role, detail);
        }

        public string Describe()
        {
            var role = Kind == "database" ? LabelRole(Pod) is { } label ? $"database {label}" : "database" : Kind;
            return $"{Name} ({role}, node {Node ?? "none"}, zone {Zone ?? "unknown"})";
        }
    }
}
