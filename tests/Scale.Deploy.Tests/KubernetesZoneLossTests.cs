using k8s.Models;
using Scale.Chaos.Targets.Kubernetes;
using Scale.Deploy.Tests.Kubernetes;
using YamlDotNet.RepresentationModel;

namespace Scale.Deploy.Tests;

/// <summary>
/// deploy/k8s when a zone is lost or cut off. Replacements must still be scheduled in the surviving zones, so every
/// topologySpreadConstraint counts only the nodes the pod tolerates and sets no minDomains. The NetworkPolicies must
/// let the chaos zone partition hold, so a partitioned zone reaches only itself, with the partition's own policy
/// as the chaos target creates it (<see cref="ZonePartition"/>).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KubernetesZoneLossTests
{
    private const string LostZone = "eu-west-1b";

    public static TheoryData<string> EveryKustomization => KubernetesManifestTests.EveryKustomization;

    public static TheoryData<string> AppOverlays => KubernetesManifestTests.AppOverlays;

    [Theory]
    [MemberData(nameof(EveryKustomization))]
    public async Task EveryTopologySpreadConstraint_HonorsTaintsAndNodeAffinity_AndSetsNoMinDomains(string kustomization)
    {
        var manifests = await Manifests.RenderAsync(kustomization);

        var constraints = TopologySpreadConstraints(manifests.Yaml);

        Assert.All(constraints, constraint => Assert.Empty(SpreadProblems(constraint)));
        // The web Deployment has two (zone, node) and the CloudNativePG Cluster one; the batch Jobs and the
        // monitoring objects have none. An overlay that renders fewer has lost one, and the check above would pass
        // on nothing.
        var expected = kustomization is "k8s/base" or "k8s/overlays/eks" or "k8s/overlays/eks-backup" or "k8s/overlays/local" ? 3 : 0;
        Assert.Equal(expected, constraints.Count);
    }

    [Fact]
    public void SpreadCheck_FindsAConstraintWithoutTaintPolicyOrWithMinDomains_InAWorkloadAndInACustomResource()
    {
        // The check above can fail: the lost zone's nodes counted, in a pod template and in CloudNativePG's spec.
        const string Yaml = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: { name: web }
            spec:
              template:
                spec:
                  topologySpreadConstraints:
                    - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule }
                    - { maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, nodeTaintsPolicy: Honor, nodeAffinityPolicy: Honor }
            ---
            apiVersion: postgresql.cnpg.io/v1
            kind: Cluster
            metadata: { name: db }
            spec:
              topologySpreadConstraints:
                - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, nodeTaintsPolicy: Honor, nodeAffinityPolicy: Honor, minDomains: 3 }
            """;

        var problems = TopologySpreadConstraints(Yaml).Select(SpreadProblems).ToList();

        Assert.Equal(3, problems.Count);
        Assert.Equal(["nodeTaintsPolicy is not Honor", "nodeAffinityPolicy is not Honor"], problems[0]);
        Assert.Empty(problems[1]);
        Assert.Equal(["minDomains is set"], problems[2]);
    }

    [Theory]
    [MemberData(nameof(AppOverlays))]
    public async Task ZonePartition_CutsTheZoneOffFromTheOtherZones_AndKeepsItsOwnLinks_TheLoadBalancerAndMonitoring(string overlay)
    {
        var (policies, pods) = await PartitionedAsync(overlay, fromLoadBalancerToo: false);

        AssertCutOffFromTheOtherZones(policies, pods);
        (NetworkEndpoint From, NetworkEndpoint To, int Port, string Why)[] stillAllowed =
        [
            (NetworkEndpoint.Outside, pods.WebB, 8080, "the load balancer to the partitioned web app"),
            (Prometheus, pods.WebB, 8080, "Prometheus scrapes the partitioned web app"),
            (Prometheus, pods.DatabaseB, 9187, "Prometheus scrapes the partitioned PostgreSQL"),
            (Operator, pods.DatabaseB, 8000, "the operator reads the partitioned instance's status"),
            (pods.DatabaseB, NetworkEndpoint.Outside, 443, "the partitioned instance manager watches the API server"),
            (pods.ExtractB, NetworkEndpoint.Outside, 443, "the partitioned extraction reads S3"),
        ];
        foreach (var (from, to, port, why) in stillAllowed)
        {
            Assert.True(NetworkPolicies.Allows(policies, from, to, port), $"blocked: {why} ({from} -> {to}:{port})");
        }
    }

    [Theory]
    [MemberData(nameof(AppOverlays))]
    public async Task ZonePartitionFromEverything_LeavesTheZoneOnlyItsOwnLinksAndDns(string overlay)
    {
        var (policies, pods) = await PartitionedAsync(overlay, fromLoadBalancerToo: true);

        AssertCutOffFromTheOtherZones(policies, pods);
        (NetworkEndpoint From, NetworkEndpoint To, int Port, string Why)[] nowDenied =
        [
            (NetworkEndpoint.Outside, pods.WebB, 8080, "the load balancer to the isolated web app"),
            (Prometheus, pods.WebB, 8080, "Prometheus to the isolated web app"),
            (Prometheus, pods.DatabaseB, 9187, "Prometheus to the isolated PostgreSQL"),
            (Operator, pods.DatabaseB, 8000, "the operator to the isolated instance"),
            (pods.DatabaseB, NetworkEndpoint.Outside, 443, "the isolated instance manager to the API server"),
            (pods.ExtractB, NetworkEndpoint.Outside, 443, "the isolated extraction to S3"),
        ];
        foreach (var (from, to, port, why) in nowDenied)
        {
            Assert.False(NetworkPolicies.Allows(policies, from, to, port), $"allowed: {why} ({from} -> {to}:{port})");
        }
    }

    [Theory]
    [MemberData(nameof(AppOverlays))]
    public async Task ZonePartition_WithoutTheExclusionsInTheNamespacesPolicies_WouldNotHold(string overlay)
    {
        // Why the manifests carry the exclusions: NetworkPolicies only add up, so with the policies as they were
        // before, the partition's policy changes nothing and the zone still reaches the others.
        var manifests = await Manifests.RenderAsync(overlay);
        var stripped = manifests.All<V1NetworkPolicy>().Select(WithoutPartitionExclusions).Append(ZonePartition.Policy("scale", LostZone)).ToList();
        var pods = ZonePods.Of(manifests, await Manifests.RenderAsync(overlay + "/batch"), ZonePartition.PodLabels(LostZone, fromLoadBalancerToo: false));

        Assert.True(NetworkPolicies.Allows(stripped, pods.WebB, pods.DatabaseA, 5432), "without the exclusions the partitioned web app still reaches the other zone's PostgreSQL");
    }

    private static NetworkEndpoint Prometheus { get; } = NetworkEndpoint.Pod("monitoring", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "prometheus" });

    private static NetworkEndpoint Operator { get; } = NetworkEndpoint.Pod("cnpg-system", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "cloudnative-pg" });

    private static void AssertCutOffFromTheOtherZones(IReadOnlyList<V1NetworkPolicy> policies, ZonePods pods)
    {
        (NetworkEndpoint From, NetworkEndpoint To, int Port, string Why)[] denied =
        [
            (pods.WebB, pods.DatabaseA, 5432, "the partitioned web app to the other zone's PostgreSQL"),
            (pods.WebA, pods.DatabaseB, 5432, "the other zone's web app to the partitioned PostgreSQL"),
            (pods.DatabaseB, pods.DatabaseA, 5432, "replication out of the partitioned zone"),
            (pods.DatabaseA, pods.DatabaseB, 5432, "replication into the partitioned zone"),
            (pods.DatabaseA, pods.DatabaseB, 8000, "the other instance to the partitioned one's status port"),
            (pods.ExtractB, pods.DatabaseA, 5432, "the partitioned extraction to the other zone's PostgreSQL"),
            (pods.ExtractA, pods.DatabaseB, 5432, "the other zone's extraction to the partitioned PostgreSQL"),
        ];
        foreach (var (from, to, port, why) in denied)
        {
            Assert.False(NetworkPolicies.Allows(policies, from, to, port), $"allowed: {why} ({from} -> {to}:{port})");
        }

        (NetworkEndpoint From, NetworkEndpoint To, int Port, string Why)[] allowed =
        [
            (pods.WebB, pods.DatabaseB, 5432, "the partitioned web app to its own zone's PostgreSQL"),
            (pods.ExtractB, pods.DatabaseB, 5432, "the partitioned extraction to its own zone's PostgreSQL"),
            (pods.WebA, pods.DatabaseA, 5432, "the other zones among themselves"),
            (pods.DatabaseA, pods.DatabaseA, 5432, "replication among the other zones"),
        ];
        foreach (var (from, to, port, why) in allowed)
        {
            Assert.True(NetworkPolicies.Allows(policies, from, to, port), $"blocked: {why} ({from} -> {to}:{port})");
        }

        var dns = NetworkEndpoint.Pod("kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" });
        foreach (var pod in new[] { pods.WebB, pods.DatabaseB, pods.ExtractB })
        {
            Assert.True(NetworkPolicies.Allows(policies, pod, dns, 53, "UDP"), $"DNS blocked for {pod}");
        }
    }

    private static async Task<(IReadOnlyList<V1NetworkPolicy> Policies, ZonePods Pods)> PartitionedAsync(string overlay, bool fromLoadBalancerToo)
    {
        var app = await Manifests.RenderAsync(overlay);
        var batch = await Manifests.RenderAsync(overlay + "/batch");
        var policies = app.All<V1NetworkPolicy>().Append(ZonePartition.Policy("scale", LostZone)).ToList();
        return (policies, ZonePods.Of(app, batch, ZonePartition.PodLabels(LostZone, fromLoadBalancerToo)));
    }

    /// <summary>A policy as it was before the partition exclusions: the same selectors without their matchExpressions.</summary>
    private static V1NetworkPolicy WithoutPartitionExclusions(V1NetworkPolicy policy)
    {
        static void Strip(V1LabelSelector? selector)
        {
            if (selector is not null)
            {
                selector.MatchExpressions = null;
            }
        }

        Strip(policy.Spec.PodSelector);
        foreach (var peer in (policy.Spec.Ingress ?? []).SelectMany(rule => rule.FromProperty ?? []).Concat((policy.Spec.Egress ?? []).SelectMany(rule => rule.To ?? [])))
        {
            Strip(peer.PodSelector);
        }

        return policy;
    }

    /// <summary>Every <c>topologySpreadConstraints</c> item anywhere in the YAML: pod templates, CRD specs, whatever comes later.</summary>
    private static List<YamlMappingNode> TopologySpreadConstraints(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var found = new List<YamlMappingNode>();
        foreach (var document in stream.Documents)
        {
            Collect(document.RootNode, found);
        }

        return found;

        static void Collect(YamlNode node, List<YamlMappingNode> found)
        {
            switch (node)
            {
                case YamlMappingNode mapping:
                    foreach (var (key, value) in mapping.Children)
                    {
                        if (key is YamlScalarNode { Value: "topologySpreadConstraints" } && value is YamlSequenceNode items)
                        {
                            found.AddRange(items.Children.OfType<YamlMappingNode>());
                        }
                        else
                        {
                            Collect(value, found);
                        }
                    }

                    break;
                case YamlSequenceNode sequence:
                    foreach (var child in sequence.Children)
                    {
                        Collect(child, found);
                    }

                    break;
            }
        }
    }

    private static List<string> SpreadProblems(YamlMappingNode constraint)
    {
        string? Value(string key) => constraint.Children.TryGetValue(new YamlScalarNode(key), out var node) ? (node as YamlScalarNode)?.Value : null;
        var problems = new List<string>();
        if (Value("nodeTaintsPolicy") != "Honor")
        {
            problems.Add("nodeTaintsPolicy is not Honor");
        }

        if (Value("nodeAffinityPolicy") != "Honor")
        {
            problems.Add("nodeAffinityPolicy is not Honor");
        }

        if (constraint.Children.ContainsKey(new YamlScalarNode("minDomains")))
        {
            problems.Add("minDomains is set");
        }

        return problems;
    }

    /// <summary>The web, database and extraction pods of the lost zone (with the partition's labels) and of another zone.</summary>
    private sealed record ZonePods(NetworkEndpoint WebA, NetworkEndpoint DatabaseA, NetworkEndpoint ExtractA, NetworkEndpoint WebB, NetworkEndpoint DatabaseB, NetworkEndpoint ExtractB)
    {
        public static ZonePods Of(Manifests app, Manifests batch, IReadOnlyDictionary<string, string> partitionLabels)
        {
            var web = app.PodTemplates.Single(t => t.Owner == "Deployment/scale-web").Metadata.Labels;
            var extract = batch.PodTemplates.Single(t => t.Owner == "Job/scale-extract").Metadata.Labels;
            var database = new Dictionary<string, string>(app.Named<CnpgCluster>("scale-db").Spec.InheritedMetadata!.Labels!)
            {
                ["cnpg.io/cluster"] = "scale-db",
                ["cnpg.io/podRole"] = "instance",
            };

            NetworkEndpoint Partitioned(IDictionary<string, string> labels) =>
                NetworkEndpoint.Pod("scale", labels.Concat(partitionLabels).ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal));

            return new ZonePods(
                NetworkEndpoint.Pod("scale", web), NetworkEndpoint.Pod("scale", database), NetworkEndpoint.Pod("scale", extract),
                Partitioned(web), Partitioned(database), Partitioned(extract));
        }
    }
}
