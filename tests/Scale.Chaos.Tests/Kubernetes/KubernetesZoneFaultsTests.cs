using System.Text.Json.Nodes;
using k8s.Models;
using Scale.Chaos.Targets;
using Scale.Chaos.Targets.Kubernetes;

namespace Scale.Chaos.Tests.Kubernetes;

/// <summary>
/// The zone outage and the zone partition of the Kubernetes target, against the recorded API (nodes in
/// eu-west-1a/b/c, two per zone; the primary scale-db-2 in eu-west-1b). The assertions are on the requests the API
/// server got: their methods, paths, content types and bodies. The server keeps the state they change, so each
/// undo is checked against what the fault really left.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KubernetesZoneFaultsTests
{
    private const string ZoneA = "eu-west-1a";
    private const string ZoneB = "eu-west-1b";
    private const string NodeA1 = "ip-10-0-12-87.eu-west-1.compute.internal";
    private const string NodeA2 = "ip-10-0-27-140.eu-west-1.compute.internal";
    private const string NodeB1 = "ip-10-0-41-9.eu-west-1.compute.internal";
    private const string NodeB2 = "ip-10-0-58-201.eu-west-1.compute.internal";
    private const string WebA1 = "scale-web-7c9d8f6b5d-2xkqp";
    private const string WebA2 = "scale-web-7c9d8f6b5d-9hz4m";
    private const string WebB1 = "scale-web-7c9d8f6b5d-fj7wn";
    private const string WebB2 = "scale-web-7c9d8f6b5d-k8t2r";
    private const string MergePatch = "application/merge-patch+json";
    private const string PolicyB = "scale-chaos-partition-eu-west-1b";
    private const string PoliciesPath = "/apis/networking.k8s.io/v1/namespaces/scale/networkpolicies";
    private static readonly string[] ZoneBScalePods = [WebB1, WebB2, "scale-db-2", "scale-extract-1-hd7k2", "scale-extract-4-c6j4r"];

    [Fact]
    public async Task ZoneOutageAsync_TaintsAndCordonsExactlyTheZonesNodes_ThenDeletesItsWebAndDatabasePodsAndNoOthers()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();
        var versions = new[] { NodeA1, NodeA2 }.ToDictionary(node => node, node => (string?)api.Node(node)["metadata"]!["resourceVersion"]);

        var report = await target.ZoneOutageAsync(ZoneA, CancellationToken.None);

        var patches = api.Mutations.Where(request => request.Method == "PATCH").ToList();
        Assert.Equal([$"/api/v1/nodes/{NodeA1}", $"/api/v1/nodes/{NodeA2}"], patches.Select(request => request.Path).Order(StringComparer.Ordinal));
        foreach (var patch in patches)
        {
            var node = patch.Path["/api/v1/nodes/".Length..];
            Assert.StartsWith(MergePatch, patch.ContentType, StringComparison.Ordinal);
            var body = patch.BodyJson();
            Assert.Equal(versions[node], (string?)body["metadata"]!["resourceVersion"]);
            Assert.Equal(ZoneA, (string?)body["metadata"]!["annotations"]![ZoneFaultMarks.CordonedByOutageAnnotation]);
            Assert.True((bool)body["spec"]!["unschedulable"]!);
            var taint = Assert.Single(body["spec"]!["taints"]!.AsArray());
            Assert.Equal(("scale.chaos/zone-outage", ZoneA, "NoExecute"), ((string?)taint!["key"], (string?)taint["value"], (string?)taint["effect"]));
        }

        // Exactly the web and database pods on those nodes, with grace period 0; not the batch pods on them.
        string[] zonePods = [WebA1, WebA2, "scale-db-1"];
        Assert.Equal(zonePods.Select(name => $"/api/v1/namespaces/scale/pods/{name}").Order(StringComparer.Ordinal), api.Deletes.Select(request => request.Path).Order(StringComparer.Ordinal));
        Assert.All(api.Deletes, request => Assert.Equal("0", request.QueryValue("gracePeriodSeconds")));
        // The nodes first, so that no replacement lands back in the zone.
        Assert.Equal(["PATCH", "PATCH", "DELETE", "DELETE", "DELETE"], api.Mutations.Select(request => request.Method));

        foreach (var node in new[] { NodeA1, NodeA2 })
        {
            var stored = api.Node(node);
            Assert.True((bool)stored["spec"]!["unschedulable"]!);
            Assert.Equal(ZoneFaultMarks.OutageTaintKey, (string?)Assert.Single(stored["spec"]!["taints"]!.AsArray())!["key"]);
        }

        Assert.Null(api.Node(NodeB1)["spec"]!["unschedulable"]);
        Assert.Equal("zone_outage", report.Action);
        Assert.Equal(new[] { NodeA1, NodeA2 }, report.Hit.Take(2));
        Assert.Equal(zonePods.Order(StringComparer.Ordinal), report.Hit.Skip(2).Order(StringComparer.Ordinal));
        Assert.Equal(2, report.Measurements["nodes"]);
        Assert.Equal(2, report.Measurements["nodes_cordoned"]);
        Assert.Equal(3, report.Measurements["pods"]);
        Assert.Equal(0, report.Measurements["primary_in_zone"]);
        Assert.StartsWith("zone eu-west-1a down: taint scale.chaos/zone-outage=eu-west-1a:NoExecute on ", report.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ZoneOutageAsync_LabZoneLetterOfThePrimarysZone_ResolvesItAndSaysThePrimaryWasThere()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var report = await target.ZoneOutageAsync("b", CancellationToken.None);

        Assert.Equal([$"/api/v1/nodes/{NodeB1}", $"/api/v1/nodes/{NodeB2}"], api.Mutations.Where(request => request.Method == "PATCH").Select(request => request.Path).Order(StringComparer.Ordinal));
        Assert.Contains(api.Deletes, request => request.Path == "/api/v1/namespaces/scale/pods/scale-db-2");
        Assert.Equal(1, report.Measurements["primary_in_zone"]);
        Assert.Contains("scale-db-2 was the primary", report.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ZoneOutageAsync_DryRun_SendsNoMutatingRequest_AndListsTheNodesAndPods()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target(new KubernetesTargetOptions { DryRun = true });

        var report = await target.ZoneOutageAsync(ZoneA, CancellationToken.None);

        Assert.Empty(api.Mutations);
        Assert.StartsWith("dry run: would taint scale.chaos/zone-outage=eu-west-1a:NoExecute and cordon 2 node(s) of zone eu-west-1a: ", report.Detail, StringComparison.Ordinal);
        Assert.Contains(NodeA2, report.Detail, StringComparison.Ordinal);
        Assert.Contains("scale-db-1 (database replica", report.Detail, StringComparison.Ordinal);
        Assert.Contains(WebA1, report.Hit);
        Assert.Null(api.Node(NodeA1)["spec"]!["unschedulable"]);
    }

    [Fact]
    public async Task RestoreZoneAsync_AfterTheOutage_RemovesOnlyWhatItAdded_AndLeavesAnAlreadyCordonedNodeCordoned()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        // An operator had cordoned one node of the zone and tainted it for their own reasons before the experiment.
        api.ChangeNode(NodeA2, node =>
        {
            node["spec"]!["unschedulable"] = true;
            node["spec"]!["taints"] = new JsonArray(
                new JsonObject { ["key"] = "node.kubernetes.io/unschedulable", ["effect"] = "NoSchedule", ["timeAdded"] = "2025-06-12T08:00:00Z" },
                new JsonObject { ["key"] = "maintenance", ["value"] = "disk", ["effect"] = "NoSchedule" });
        });
        await using var target = api.Target();

        var outage = await target.ZoneOutageAsync(ZoneA, CancellationToken.None);
        var outagePatchOfA2 = api.Mutations.Single(request => request.Path == $"/api/v1/nodes/{NodeA2}").BodyJson();
        var before = api.Requests.Count;
        var restore = await target.RestoreZoneAsync(ZoneA, CancellationToken.None);

        // The outage: only the taint on the node someone else cordoned; their taints kept.
        Assert.Null(outagePatchOfA2["spec"]!["unschedulable"]);
        Assert.Null(outagePatchOfA2["metadata"]!["annotations"]);
        Assert.Equal(["node.kubernetes.io/unschedulable", "maintenance", "scale.chaos/zone-outage"], outagePatchOfA2["spec"]!["taints"]!.AsArray().Select(taint => (string?)taint!["key"]));
        Assert.Equal(1, outage.Measurements["nodes_cordoned"]);
        Assert.Contains("already cordoned before, left so: " + NodeA2, outage.Detail, StringComparison.Ordinal);

        // The restore: exactly two merge patches, each taking out the outage's taint; only NodeA1 uncordoned.
        var restorePatches = api.Requests.Skip(before).Where(request => request.Mutates).ToList();
        Assert.Equal([$"/api/v1/nodes/{NodeA1}", $"/api/v1/nodes/{NodeA2}"], restorePatches.Select(request => request.Path));
        Assert.All(restorePatches, request => Assert.Equal("PATCH", request.Method));
        var a1 = restorePatches[0].BodyJson().AsObject();
        Assert.True(a1["spec"]!.AsObject().ContainsKey("unschedulable"));
        Assert.Null(a1["spec"]!["unschedulable"]);
        Assert.True(a1["spec"]!.AsObject().ContainsKey("taints"));
        Assert.Null(a1["spec"]!["taints"]);
        Assert.True(a1["metadata"]!["annotations"]!.AsObject().ContainsKey(ZoneFaultMarks.CordonedByOutageAnnotation));
        var a2 = restorePatches[1].BodyJson().AsObject();
        Assert.False(a2["spec"]!.AsObject().ContainsKey("unschedulable"));
        Assert.Equal(["node.kubernetes.io/unschedulable", "maintenance"], a2["spec"]!["taints"]!.AsArray().Select(taint => (string?)taint!["key"]));

        var nodeA1 = api.Node(NodeA1);
        Assert.Null(nodeA1["spec"]!["unschedulable"]);
        Assert.Null(nodeA1["spec"]!["taints"]);
        Assert.False(nodeA1["metadata"]!["annotations"]!.AsObject().ContainsKey(ZoneFaultMarks.CordonedByOutageAnnotation));
        var nodeA2 = api.Node(NodeA2);
        Assert.True((bool)nodeA2["spec"]!["unschedulable"]!);
        Assert.Equal(2, nodeA2["spec"]!["taints"]!.AsArray().Count);

        Assert.Equal("restore_zone", restore.Action);
        Assert.Equal(2, restore.Measurements["nodes_untainted"]);
        Assert.Equal(1, restore.Measurements["nodes_uncordoned"]);
        Assert.Contains("left cordoned (cordoned before the outage, not by it): " + NodeA2, restore.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoreZoneAsync_CalledAgainOrWithNothingDone_SendsNoMutatingRequest()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var nothing = await target.RestoreZoneAsync(ZoneA, CancellationToken.None);
        Assert.Empty(api.Mutations);
        Assert.Equal("zone eu-west-1a: nothing to restore (no node carries the taint scale.chaos/zone-outage or was cordoned by it)", nothing.Detail);
        Assert.Empty(nothing.Hit);

        await target.ZoneOutageAsync(ZoneA, CancellationToken.None);
        await target.RestoreZoneAsync(ZoneA, CancellationToken.None);
        var mutations = api.Mutations.Count;
        var again = await target.RestoreZoneAsync(ZoneA, CancellationToken.None);

        Assert.Equal(mutations, api.Mutations.Count);
        Assert.StartsWith("zone eu-west-1a: nothing to restore", again.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoreZoneAsync_DryRunAfterTheOutage_ChangesNothing()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using (var target = api.Target())
        {
            await target.ZoneOutageAsync(ZoneA, CancellationToken.None);
        }

        var mutations = api.Mutations.Count;
        await using var dryRun = api.Target(new KubernetesTargetOptions { DryRun = true });

        var report = await dryRun.RestoreZoneAsync(ZoneA, CancellationToken.None);

        Assert.Equal(mutations, api.Mutations.Count);
        Assert.StartsWith($"dry run: would restore zone eu-west-1a: remove the taint scale.chaos/zone-outage from {NodeA1}, {NodeA2}; uncordon {NodeA1}, {NodeA2}", report.Detail, StringComparison.Ordinal);
        Assert.True((bool)api.Node(NodeA1)["spec"]!["unschedulable"]!);
    }

    [Fact]
    public async Task ZoneOutageAsync_NodeChangedBetweenReadAndPatch_ReadsItAgainAndKeepsTheOtherChange()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        api.ChangeNodeBeforeNextPatch(NodeA1, node => node["spec"]!["taints"] = new JsonArray(new JsonObject { ["key"] = "other", ["value"] = "x", ["effect"] = "NoSchedule" }));
        await using var target = api.Target();

        await target.ZoneOutageAsync(ZoneA, CancellationToken.None);

        var patches = api.Mutations.Where(request => request.Path == $"/api/v1/nodes/{NodeA1}").ToList();
        Assert.Equal(2, patches.Count);
        Assert.Contains(api.Requests, request => request.Method == "GET" && request.Path == $"/api/v1/nodes/{NodeA1}");
        Assert.Equal(["other", "scale.chaos/zone-outage"], patches[1].BodyJson()["spec"]!["taints"]!.AsArray().Select(taint => (string?)taint!["key"]));
        Assert.Equal(["other", "scale.chaos/zone-outage"], api.Node(NodeA1)["spec"]!["taints"]!.AsArray().Select(taint => (string?)taint!["key"]));
    }

    [Fact]
    public async Task ZoneOutageAsync_ANodePatchForbidden_ThrowsSayingWhatWasDone_AndDeletesNoPod()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        api.Fail("PATCH", $"/api/v1/nodes/{NodeA2}", System.Net.HttpStatusCode.Forbidden,
            $$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nodes \"{{NodeA2}}\" is forbidden: User \"chaos\" cannot patch resource \"nodes\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"name":"{{NodeA2}}","kind":"nodes"},"code":403}""");
        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.ZoneOutageAsync(ZoneA, CancellationToken.None));

        Assert.StartsWith($"zone outage: tainted {NodeA1}, cordoned {NodeA1} (restore_zone eu-west-1a undoes that); Kubernetes: cannot patch node {NodeA2}", error.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 403 Forbidden", error.Message, StringComparison.Ordinal);
        Assert.Empty(api.Deletes);
        // And the restore takes back the half that was done.
        await target.RestoreZoneAsync(ZoneA, CancellationToken.None);
        Assert.Null(api.Node(NodeA1)["spec"]!["taints"]);
        Assert.Null(api.Node(NodeA1)["spec"]!["unschedulable"]);
    }

    [Fact]
    public async Task ZoneOutageAsync_EveryNodeInTheZone_RefusesAndChangesNothing()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        foreach (var node in new[] { NodeB1, NodeB2, "ip-10-0-70-33.eu-west-1.compute.internal", "ip-10-0-88-164.eu-west-1.compute.internal" })
        {
            api.ChangeNode(node, stored => stored["metadata"]!["labels"]![KubernetesTarget.ZoneLabel] = ZoneA);
        }

        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.ZoneOutageAsync(ZoneA, CancellationToken.None));

        Assert.Equal("zone outage: all 6 nodes of the cluster are in zone eu-west-1a; tainting them would leave nowhere for replacements to run.", error.Message);
        Assert.Empty(api.Mutations);
    }

    [Fact]
    public async Task ZoneOutageAsync_UnknownZone_ThrowsListingTheNodesZones()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.ZoneOutageAsync("eu-west-1d", CancellationToken.None));

        Assert.Equal("zone outage: no node is in zone eu-west-1d (zones of the nodes: eu-west-1a, eu-west-1b, eu-west-1c).", error.Message);
        Assert.Empty(api.Mutations);
    }

    [Fact]
    public async Task PartitionZoneAsync_CreatesThePolicyThenLabelsExactlyTheZonesScalePods()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var report = await target.PartitionZoneAsync(ZoneB, CancellationToken.None);

        // First the policy, then one merge patch of labels per pod of the zone: web, database and batch.
        var mutations = api.Mutations;
        Assert.Equal(("POST", PoliciesPath), (mutations[0].Method, mutations[0].Path));
        var labelPatches = mutations.Skip(1).ToList();
        Assert.All(labelPatches, request => Assert.Equal("PATCH", request.Method));
        Assert.Equal(ZoneBScalePods.Select(name => $"/api/v1/namespaces/scale/pods/{name}").Order(StringComparer.Ordinal), labelPatches.Select(request => request.Path).Order(StringComparer.Ordinal));
        Assert.All(labelPatches, request =>
        {
            Assert.StartsWith(MergePatch, request.ContentType, StringComparison.Ordinal);
            Assert.Equal("""{"metadata":{"labels":{"scale.chaos/partitioned-zone":"eu-west-1b","scale.chaos/partition-scope":"zones"}}}""", request.Body);
        });

        var policy = k8s.KubernetesJson.Deserialize<V1NetworkPolicy>(mutations[0].Body);
        Assert.Equal(PolicyB, policy.Metadata.Name);
        Assert.Equal("scale-chaos", policy.Metadata.Labels["app.kubernetes.io/managed-by"]);
        var zoneSelector = new Dictionary<string, string> { ["scale.chaos/partitioned-zone"] = ZoneB };
        Assert.Equal(zoneSelector, policy.Spec.PodSelector.MatchLabels);
        Assert.Null(policy.Spec.PodSelector.MatchExpressions);
        Assert.Equal(["Ingress", "Egress"], policy.Spec.PolicyTypes);
        var ingress = Assert.Single(policy.Spec.Ingress);
        Assert.Equal(zoneSelector, Assert.Single(ingress.FromProperty).PodSelector.MatchLabels);
        Assert.Equal(["5432", "8000"], ingress.Ports.Select(port => port.Port.Value));
        Assert.Equal(2, policy.Spec.Egress.Count);
        Assert.Equal(zoneSelector, Assert.Single(policy.Spec.Egress[0].To).PodSelector.MatchLabels);
        var dns = Assert.Single(policy.Spec.Egress[1].To);
        Assert.Equal("kube-dns", dns.PodSelector.MatchLabels["k8s-app"]);
        Assert.Equal([("UDP", "53"), ("TCP", "53")], policy.Spec.Egress[1].Ports.Select(port => (port.Protocol, port.Port.Value)));

        Assert.Equal(ZoneB, (string?)api.Pod(WebB1)["metadata"]!["labels"]!["scale.chaos/partitioned-zone"]);
        Assert.Null(api.Pod(WebA1)["metadata"]!["labels"]!["scale.chaos/partitioned-zone"]);
        Assert.Equal("partition_zone", report.Action);
        Assert.Equal(ZoneBScalePods.Order(StringComparer.Ordinal), report.Hit.Order(StringComparer.Ordinal));
        Assert.Equal(1, report.Measurements["primary_in_zone"]);
        Assert.StartsWith("zone eu-west-1b cut off from the other zones (the load balancer, monitoring and the API server still reach it): NetworkPolicy scale-chaos-partition-eu-west-1b created", report.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PartitionZoneAsync_FromTheLoadBalancerToo_LabelsThePodsWithScopeAll()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var report = await target.PartitionZoneAsync(ZoneB, fromLoadBalancerToo: true, CancellationToken.None);

        Assert.All(api.Mutations.Where(request => request.Method == "PATCH"), request =>
            Assert.Equal("""{"metadata":{"labels":{"scale.chaos/partitioned-zone":"eu-west-1b","scale.chaos/partition-scope":"all"}}}""", request.Body));
        Assert.Contains("everything outside the namespace but DNS", report.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PartitionZoneAsync_DryRun_SendsNoMutatingRequest()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target(new KubernetesTargetOptions { DryRun = true });

        var report = await target.PartitionZoneAsync("b", CancellationToken.None);

        Assert.Empty(api.Mutations);
        Assert.DoesNotContain(PolicyB, api.NetworkPolicyNames);
        Assert.StartsWith("dry run: would cut zone eu-west-1b off from the other zones", report.Detail, StringComparison.Ordinal);
        Assert.Contains("create NetworkPolicy scale-chaos-partition-eu-west-1b", report.Detail, StringComparison.Ordinal);
        Assert.Equal(ZoneBScalePods.Order(StringComparer.Ordinal), report.Hit.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task PartitionZoneAsync_NamespacePoliciesWithoutThePartitionExclusions_RefusesAndChangesNothing()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        // The policies as deployed before the exclusions: they allow web -> database and database <-> database
        // whatever the labels, so a partition policy added next to them would cut nothing.
        var policies = RecordedKubernetesApi.DeployedNetworkPolicies();
        foreach (var selector in policies.SelectMany(policy => Selectors(policy)))
        {
            selector.MatchExpressions = null;
        }

        api.NetworkPolicies(policies);
        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.PartitionZoneAsync(ZoneB, CancellationToken.None));

        Assert.StartsWith("partition zone eu-west-1b: refused, the NetworkPolicies of namespace scale would still let traffic through", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{WebB1} -> scale-db-1 (ports TCP 5432: egress of {WebB1} by scale-web, ingress of scale-db-1 by scale-db)", error.Message, StringComparison.Ordinal);
        Assert.Empty(api.Mutations);
    }

    [Fact]
    public async Task PartitionZoneAsync_FromEverythingWithAPolicyThatStillSelectsThePods_Refuses()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        var policies = RecordedKubernetesApi.DeployedNetworkPolicies();
        // Only the scope exclusion is missing: the zones are cut off from each other, but scale-web still lets the
        // load balancer in.
        policies.Single(policy => policy.Metadata.Name == "scale-web").Spec.PodSelector.MatchExpressions = null;
        api.NetworkPolicies(policies);
        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.PartitionZoneAsync(ZoneB, fromLoadBalancerToo: true, CancellationToken.None));

        Assert.Contains($"{WebB1}: policy scale-web still allows ingress", error.Message, StringComparison.Ordinal);
        Assert.Empty(api.Mutations);
        // Cut off from the other zones only, the same policies hold.
        await target.PartitionZoneAsync(ZoneB, fromLoadBalancerToo: false, CancellationToken.None);
    }

    [Fact]
    public async Task PartitionZoneAsync_Twice_ReplacesThePolicyWithItsResourceVersion()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();
        await target.PartitionZoneAsync(ZoneB, CancellationToken.None);
        var stored = (string?)api.NetworkPolicy(PolicyB)!["metadata"]!["resourceVersion"];
        var before = api.Requests.Count;

        var report = await target.PartitionZoneAsync(ZoneB, fromLoadBalancerToo: true, CancellationToken.None);

        var put = Assert.Single(api.Requests.Skip(before), request => request.Method is "POST" or "PUT");
        Assert.Equal(("PUT", $"{PoliciesPath}/{PolicyB}"), (put.Method, put.Path));
        Assert.Equal(stored, (string?)put.BodyJson()["metadata"]!["resourceVersion"]);
        Assert.Contains("replaced", report.Detail, StringComparison.Ordinal);
        Assert.Equal("all", (string?)api.Pod(WebB1)["metadata"]!["labels"]!["scale.chaos/partition-scope"]);
    }

    [Fact]
    public async Task HealPartitionAsync_AfterThePartition_RemovesTheLabelsThenDeletesThePolicy_AndAgainChangesNothing()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();
        await target.PartitionZoneAsync(ZoneB, CancellationToken.None);
        var before = api.Requests.Count;

        var report = await target.HealPartitionAsync("b", CancellationToken.None);

        var mutations = api.Requests.Skip(before).Where(request => request.Mutates).ToList();
        var labelPatches = mutations.Take(ZoneBScalePods.Length).ToList();
        Assert.All(labelPatches, request =>
        {
            Assert.Equal("PATCH", request.Method);
            Assert.StartsWith(MergePatch, request.ContentType, StringComparison.Ordinal);
            Assert.Equal("""{"metadata":{"labels":{"scale.chaos/partitioned-zone":null,"scale.chaos/partition-scope":null}}}""", request.Body);
        });
        Assert.Equal(ZoneBScalePods.Select(name => $"/api/v1/namespaces/scale/pods/{name}").Order(StringComparer.Ordinal), labelPatches.Select(request => request.Path).Order(StringComparer.Ordinal));
        var delete = Assert.Single(mutations.Skip(ZoneBScalePods.Length));
        Assert.Equal(("DELETE", $"{PoliciesPath}/{PolicyB}"), (delete.Method, delete.Path));
        // The partitioned pods were found by their label, the policies by the target's own label.
        Assert.Contains(api.Requests.Skip(before), request => request.Path == "/api/v1/namespaces/scale/pods" && request.QueryValue("labelSelector") == "scale.chaos/partitioned-zone");
        Assert.Contains(api.Requests.Skip(before), request => request.Path == PoliciesPath && request.QueryValue("labelSelector") == "app.kubernetes.io/managed-by=scale-chaos");

        Assert.DoesNotContain(PolicyB, api.NetworkPolicyNames);
        Assert.Contains("scale-web", api.NetworkPolicyNames);
        Assert.All(ZoneBScalePods, name => Assert.False(api.Pod(name)["metadata"]!["labels"]!.AsObject().ContainsKey("scale.chaos/partitioned-zone")));
        Assert.Equal("heal_partition", report.Action);
        Assert.Equal(5, report.Measurements["pods"]);
        Assert.Equal(1, report.Measurements["policies"]);

        var mutationCount = api.Mutations.Count;
        var again = await target.HealPartitionAsync(ZoneB, CancellationToken.None);
        Assert.Equal(mutationCount, api.Mutations.Count);
        Assert.StartsWith("zone eu-west-1b: nothing to heal", again.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealPartitionAsync_DryRunAfterThePartition_ChangesNothing()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using (var target = api.Target())
        {
            await target.PartitionZoneAsync(ZoneB, CancellationToken.None);
        }

        var mutations = api.Mutations.Count;
        await using var dryRun = api.Target(new KubernetesTargetOptions { DryRun = true });

        var report = await dryRun.HealPartitionAsync(ZoneB, CancellationToken.None);

        Assert.Equal(mutations, api.Mutations.Count);
        Assert.Contains(PolicyB, api.NetworkPolicyNames);
        Assert.StartsWith("dry run: would heal zone eu-west-1b: remove the labels", report.Detail, StringComparison.Ordinal);
        Assert.Contains("delete NetworkPolicy scale-chaos-partition-eu-west-1b", report.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ZoneFaults_ImplementTheRunnersZoneCapability()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var zones = ((IChaosTarget)target).Require<IZoneFaults>("zone_outage");

        var report = await zones.HealPartitionAsync(ZoneA, CancellationToken.None);
        Assert.Equal("heal_partition", report.Action);
        Assert.Empty(api.Mutations);
    }

    [Fact]
    public void ZonePartition_PolicyNameAndLabels_AreValidKubernetesNames()
    {
        Assert.Equal("scale-chaos-partition-eu-west-1b", ZonePartition.PolicyName("eu-west-1b"));
        Assert.Equal("scale-chaos-partition-zone-b", ZonePartition.PolicyName("Zone_B"));
        Assert.Throws<ChaosException>(() => ZonePartition.PodLabels("not a zone", fromLoadBalancerToo: false));
        Assert.Equal("zones", ZonePartition.PodLabels(ZoneB, fromLoadBalancerToo: false)[ZoneFaultMarks.PartitionScopeLabel]);
    }

    private static IEnumerable<V1LabelSelector> Selectors(V1NetworkPolicy policy) =>
        new[] { policy.Spec.PodSelector }
            .Concat((policy.Spec.Ingress ?? []).SelectMany(rule => rule.FromProperty ?? []).Select(peer => peer.PodSelector))
            .Concat((policy.Spec.Egress ?? []).SelectMany(rule => rule.To ?? []).Select(peer => peer.PodSelector))
            .OfType<V1LabelSelector>();
}
