using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Scale.Chaos.Targets;
using Scale.Testing;

namespace Scale.Chaos.Tests.Kubernetes;

/// <summary>The Kubernetes target against recorded API responses served from a loopback server (no live cluster).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KubernetesTargetTests
{
    private const string ZoneA = "eu-west-1a";
    private const string WebA1 = "scale-web-7c9d8f6b5d-2xkqp";
    private const string WebA2 = "scale-web-7c9d8f6b5d-9hz4m";
    private static readonly string[] RunningBatchPods = ["scale-extract-3-x2n8v", "scale-extract-4-c6j4r", "scale-extract-5-m9b3f"];

    [Fact]
    public async Task InstancesAsync_NodesInThreeZones_AssignsEachPodItsNodesZone()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var instances = (await target.InstancesAsync(CancellationToken.None)).ToDictionary(instance => instance.Name);

        Assert.Equal(6 + 3 + 7, instances.Count);
        Assert.Equal(ZoneA, instances[WebA1].Zone);
        Assert.Equal(ZoneA, instances[WebA2].Zone);
        Assert.Equal("eu-west-1b", instances["scale-web-7c9d8f6b5d-fj7wn"].Zone);
        Assert.Equal("eu-west-1c", instances["scale-web-7c9d8f6b5d-wm3ld"].Zone);
        Assert.Equal(new[] { ZoneA, "eu-west-1b", "eu-west-1c" }, new[] { "scale-db-1", "scale-db-2", "scale-db-3" }.Select(name => instances[name].Zone));
        Assert.All(instances.Values.Where(instance => instance.Kind == "web"), web => Assert.True(web.Ready));
        Assert.Equal(new[] { "replica", "primary", "replica" }, new[] { "scale-db-1", "scale-db-2", "scale-db-3" }.Select(name => instances[name].Role));
        Assert.All(instances.Values.Where(instance => instance.Kind != "database"), instance => Assert.Null(instance.Role));
        Assert.Equal("phase Running, node ip-10-0-58-201.eu-west-1.compute.internal, restarts 1", instances["scale-web-7c9d8f6b5d-k8t2r"].Detail);

        // Batch: the running shards are Ready, the finished ones not; the one waiting for a node has no zone.
        var pending = instances["scale-extract-6-r7g5l"];
        Assert.Equal("batch", pending.Kind);
        Assert.Null(pending.Zone);
        Assert.False(pending.Ready);
        Assert.StartsWith("phase Pending, node none (not scheduled)", pending.Detail, StringComparison.Ordinal);
        Assert.Contains("completion index 6", pending.Detail, StringComparison.Ordinal);
        Assert.True(instances["scale-extract-4-c6j4r"].Ready);
        Assert.Equal("eu-west-1b", instances["scale-extract-4-c6j4r"].Zone);
        Assert.False(instances["scale-extract-0-p4w9s"].Ready);
    }

    [Fact]
    public async Task InstancesAsync_CalledTwice_ReadsEachNodeOnce()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        await target.InstancesAsync(CancellationToken.None);
        await target.InstancesAsync(CancellationToken.None);

        var nodeReads = api.Requests.Where(request => request.Method == "GET" && request.Path.StartsWith("/api/v1/nodes/", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, nodeReads.Count);
        Assert.Equal(6, nodeReads.Select(request => request.Path).Distinct().Count());
        Assert.Contains(nodeReads, request => request.Path == "/api/v1/nodes/ip-10-0-12-87.eu-west-1.compute.internal");
    }

    [Fact]
    public async Task InstancesAsync_DefaultOptions_SendsTheDeployedLabelSelectors()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        await target.InstancesAsync(CancellationToken.None);

        var selectors = api.Requests
            .Where(request => request.Method == "GET" && request.Path == "/api/v1/namespaces/scale/pods")
            .Select(request => request.QueryValue("labelSelector"))
            .ToList();
        Assert.Equal(
            new[] { "app.kubernetes.io/name=scale-web", "cnpg.io/cluster=scale-db,cnpg.io/podRole=instance", "batch.kubernetes.io/job-name=scale-extract" },
            selectors);
        // The labels found on every database pod: no need for the Cluster to tell roles apart.
        Assert.DoesNotContain(api.Requests, request => request.Path.Contains("/clusters/", StringComparison.Ordinal));
    }

    [Fact]
    public void Defaults_MatchTheManifests()
    {
        var web = File.ReadAllText(Path.Join(Checkout.Root, "deploy", "k8s", "base", "web.yaml"));
        var database = File.ReadAllText(Path.Join(Checkout.Root, "deploy", "k8s", "base", "database.yaml"));
        var jobs = File.ReadAllText(Path.Join(Checkout.Root, "deploy", "k8s", "batch", "jobs.yaml"));
        var kustomization = File.ReadAllText(Path.Join(Checkout.Root, "deploy", "k8s", "base", "kustomization.yaml"));
        var options = new KubernetesTargetOptions();

        Assert.Contains($"namespace: {options.Namespace}\n", kustomization, StringComparison.Ordinal);
        Assert.Contains("        app.kubernetes.io/name: scale-web\n", web, StringComparison.Ordinal);
        Assert.Equal("app.kubernetes.io/name=scale-web", options.WebSelector);
        Assert.Contains($"kind: Cluster\nmetadata:\n  name: {options.DatabaseCluster}\n", database, StringComparison.Ordinal);
        Assert.Contains("cnpg.io/podRole: instance", database, StringComparison.Ordinal);
        Assert.Contains("kind: Job\nmetadata:\n  name: scale-extract\n", jobs, StringComparison.Ordinal);
        Assert.Equal("batch.kubernetes.io/job-name=scale-extract", options.BatchSelector);
    }

    [Fact]
    public async Task InstancesAsync_PodsWithoutRoleLabels_TakeRolesFromCurrentPrimary()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        api.Pods(new KubernetesTargetOptions().DatabaseSelector, Recorded.PodListWith(Recorded.DatabasePods, pod =>
        {
            var labels = pod["metadata"]!["labels"]!.AsObject();
            labels.Remove("cnpg.io/instanceRole");
            labels.Remove("role");
        }));
        await using var target = api.Target();

        var database = (await target.InstancesAsync(CancellationToken.None)).Where(instance => instance.Kind == "database").ToList();

        Assert.Equal(new[] { "replica", "primary", "replica" }, database.Select(instance => instance.Role));
        Assert.Contains(api.Requests, request => request.Path == "/apis/postgresql.cnpg.io/v1/namespaces/scale/clusters/scale-db");
    }

    [Fact]
    public async Task TerminateZoneAsync_ZoneWithWebAndDatabasePods_DeletesExactlyThoseWithGracePeriodZero()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        using var log = new StringWriter();
        await using var target = api.Target(log: log);

        var report = await target.TerminateZoneAsync(ZoneA, CancellationToken.None);

        string[] expected = [WebA1, WebA2, "scale-db-1"];
        Assert.Equal("terminate-zone", report.Action);
        Assert.Equal(expected.Order(StringComparer.Ordinal), report.Hit.Order(StringComparer.Ordinal));
        Assert.Equal(
            expected.Select(name => $"/api/v1/namespaces/scale/pods/{name}").Order(StringComparer.Ordinal),
            api.Deletes.Select(request => request.Path).Order(StringComparer.Ordinal));
        Assert.All(api.Deletes, request =>
        {
            Assert.Equal("0", request.QueryValue("gracePeriodSeconds"));
            using var body = JsonDocument.Parse(request.Body);
            Assert.Equal(0, body.RootElement.GetProperty("gracePeriodSeconds").GetInt32());
        });
        Assert.StartsWith("deleted with grace period 0 in namespace scale (zone eu-west-1a): ", report.Detail, StringComparison.Ordinal);
        Assert.Contains("scale-db-1 (database replica, node ip-10-0-27-140.eu-west-1.compute.internal, zone eu-west-1a)", report.Detail, StringComparison.Ordinal);
        Assert.Equal(3, report.Measurements["pods"]);
        Assert.Contains("deleting 3 pod(s)", log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TerminateZoneAsync_DryRun_DeletesNothingAndListsThePods()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target(new KubernetesTargetOptions { DryRun = true });

        var report = await target.TerminateZoneAsync("eu-west-1c", CancellationToken.None);

        Assert.True(target.DryRun);
        Assert.Empty(api.Deletes);
        Assert.DoesNotContain(api.Requests, request => request.Method != "GET");
        Assert.StartsWith("dry run:", report.Detail, StringComparison.Ordinal);
        Assert.Equal(new[] { "scale-db-3", "scale-web-7c9d8f6b5d-q5vxc", "scale-web-7c9d8f6b5d-wm3ld" }, report.Hit.Order(StringComparer.Ordinal));
        Assert.Contains("scale-web-7c9d8f6b5d-q5vxc (web, node ip-10-0-70-33.eu-west-1.compute.internal, zone eu-west-1c)", report.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TerminateZoneAsync_LabZoneLetter_HitsTheOneZoneEndingSo()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target(new KubernetesTargetOptions { DryRun = true });

        var report = await target.TerminateZoneAsync("b", CancellationToken.None);

        Assert.Equal(new[] { "scale-db-2", "scale-web-7c9d8f6b5d-fj7wn", "scale-web-7c9d8f6b5d-k8t2r" }, report.Hit.Order(StringComparer.Ordinal));
        Assert.StartsWith("dry run: would delete with grace period 0 in namespace scale (zone b: eu-west-1b): ", report.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TerminateZoneAsync_UnknownZone_ThrowsChaosExceptionListingZonesSeen()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.TerminateZoneAsync("eu-west-1d", CancellationToken.None));

        Assert.Contains("no web or database pod runs in zone eu-west-1d (zones seen: eu-west-1a, eu-west-1b, eu-west-1c;", error.Message, StringComparison.Ordinal);
        Assert.Empty(api.Deletes);
    }

    [Fact]
    public async Task TerminateZoneAsync_OneDeletionForbidden_ThrowsNamingTheOthersDeleted()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        api.Fail("DELETE", "/api/v1/namespaces/scale/pods/scale-db-1", HttpStatusCode.Forbidden,
            """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"scale-db-1\" is forbidden: User \"system:serviceaccount:scale:scale-chaos\" cannot delete resource \"pods\" in API group \"\" in the namespace \"scale\"","reason":"Forbidden","details":{"name":"scale-db-1","kind":"pods"},"code":403}""");
        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.TerminateZoneAsync(ZoneA, CancellationToken.None));

        Assert.StartsWith($"terminate-zone: deleted {WebA1}, {WebA2}; Kubernetes: cannot delete pod scale-db-1 in namespace scale: HTTP 403 Forbidden, forbidden", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KillPrimaryAsync_HealthyCluster_DeletesThePodNamedInCurrentPrimary()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var report = await target.KillPrimaryAsync(CancellationToken.None);

        Assert.Equal("kill-primary", report.Action);
        Assert.Equal(new[] { "scale-db-2" }, report.Hit);
        var delete = Assert.Single(api.Deletes);
        Assert.Equal("/api/v1/namespaces/scale/pods/scale-db-2", delete.Path);
        Assert.Equal("0", delete.QueryValue("gracePeriodSeconds"));
        Assert.Contains("scale-db-2 (database primary, node ip-10-0-41-9.eu-west-1.compute.internal, zone eu-west-1b)", report.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KillPrimaryAsync_DryRun_DeletesNothing()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target(new KubernetesTargetOptions { DryRun = true });

        var report = await target.KillPrimaryAsync(CancellationToken.None);

        Assert.Equal(new[] { "scale-db-2" }, report.Hit);
        Assert.StartsWith("dry run:", report.Detail, StringComparison.Ordinal);
        Assert.Empty(api.Deletes);
    }

    [Fact]
    public async Task KillPrimaryAsync_FailoverInProgress_ThrowsAndDeletesNothing()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        api.Cluster = Recorded.Text(Recorded.FailingOverCluster);
        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.KillPrimaryAsync(CancellationToken.None));

        Assert.Contains("changing its primary (currentPrimary scale-db-2, targetPrimary scale-db-3, phase \"Failing over\")", error.Message, StringComparison.Ordinal);
        Assert.Empty(api.Deletes);
    }

    [Fact]
    public async Task DatabaseRolesAsync_HealthyCluster_PrimaryAndReadyReplicas()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var roles = await target.DatabaseRolesAsync(CancellationToken.None);

        Assert.Equal("scale-db-2", roles.Primary);
        Assert.Equal(new[] { "scale-db-1", "scale-db-3" }, roles.StreamingReplicas);
    }

    [Fact]
    public async Task DatabaseRolesAsync_FailoverInProgress_PrimaryIsNull()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        api.Cluster = Recorded.Text(Recorded.FailingOverCluster);
        await using var target = api.Target();

        var roles = await target.DatabaseRolesAsync(CancellationToken.None);

        Assert.Null(roles.Primary);
        Assert.Empty(roles.StreamingReplicas);
    }

    [Fact]
    public async Task DatabaseRolesAsync_ReplicaPodNotReady_IsNotStreaming()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        api.Pods(new KubernetesTargetOptions().DatabaseSelector, Recorded.PodListWith(Recorded.DatabasePods, pod =>
        {
            if ((string?)pod["metadata"]!["name"] == "scale-db-3")
            {
                foreach (var condition in pod["status"]!["conditions"]!.AsArray())
                {
                    if ((string?)condition!["type"] is "Ready" or "ContainersReady")
                    {
                        condition["status"] = "False";
                    }
                }
            }
        }));
        await using var target = api.Target();

        var roles = await target.DatabaseRolesAsync(CancellationToken.None);

        Assert.Equal("scale-db-2", roles.Primary);
        Assert.Equal(new[] { "scale-db-1" }, roles.StreamingReplicas);
    }

    [Fact]
    public async Task DatabaseRolesAsync_ClusterNotFound_ThrowsChaosExceptionWithStatus404()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        api.Fail("GET", "/apis/postgresql.cnpg.io/v1/namespaces/scale/clusters/scale-db", HttpStatusCode.NotFound, Recorded.Text(Recorded.ClusterNotFound));
        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.DatabaseRolesAsync(CancellationToken.None));

        Assert.Equal(
            "Kubernetes: cannot get the CloudNativePG Cluster scale-db (clusters.postgresql.cnpg.io/v1) in namespace scale: HTTP 404 NotFound, not found: check the namespace and names (--namespace, the Cluster name) and that the resource type is installed. The API server says: clusters.postgresql.cnpg.io \"scale-db\" not found",
            error.Message);
    }

    [Fact]
    public async Task KillBatchWorkersAsync_SeededRandom_PicksCountDistinctRunningPodsDeterministically()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var first = await target.KillBatchWorkersAsync(2, new Random(20250612), CancellationToken.None);
        var again = await target.KillBatchWorkersAsync(2, new Random(20250612), CancellationToken.None);

        Assert.Equal("kill-batch-workers", first.Action);
        Assert.Equal(2, first.Hit.Count);
        Assert.Equal(2, first.Hit.Distinct().Count());
        Assert.All(first.Hit, name => Assert.Contains(name, RunningBatchPods));
        Assert.Equal(first.Hit, again.Hit);
        Assert.Equal(
            first.Hit.Concat(again.Hit).Select(name => $"/api/v1/namespaces/scale/pods/{name}").Order(StringComparer.Ordinal),
            api.Deletes.Select(request => request.Path).Order(StringComparer.Ordinal));
        Assert.All(api.Deletes, request => Assert.Equal("0", request.QueryValue("gracePeriodSeconds")));
        Assert.Contains("2 of 3 running", first.Detail, StringComparison.Ordinal);

        // Every pick over many seeds is one of the running pods: never a finished or unscheduled one.
        await using var dryRun = api.Target(new KubernetesTargetOptions { DryRun = true });
        var picked = new HashSet<string>(StringComparer.Ordinal);
        for (var seed = 0; seed < 20; seed++)
        {
            picked.UnionWith((await dryRun.KillBatchWorkersAsync(1, new Random(seed), CancellationToken.None)).Hit);
        }

        Assert.Equal(RunningBatchPods, picked.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task KillBatchWorkersAsync_CountAboveRunning_KillsEveryRunningPod()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var report = await target.KillBatchWorkersAsync(10, new Random(1), CancellationToken.None);

        Assert.Equal(RunningBatchPods, report.Hit.Order(StringComparer.Ordinal));
        Assert.Contains("3 of 10 asked for (only 3 running)", report.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KillBatchWorkersAsync_NoBatchPods_ThrowsChaosException()
    {
        await using var api = await RecordedKubernetesApi.StartAsync(_ => { });
        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.KillBatchWorkersAsync(1, new Random(1), CancellationToken.None));

        Assert.Equal("no running batch pod matches batch.kubernetes.io/job-name=scale-extract in namespace scale (no pods match: the Job is not running).", error.Message);
    }

    [Fact]
    public async Task InstancesAsync_Forbidden_ThrowsChaosExceptionNamingForbiddenAndTheNamespace()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        api.Fail("GET", "/api/v1/namespaces/scale/pods", HttpStatusCode.Forbidden, Recorded.Text(Recorded.PodsForbidden));
        await using var target = api.Target();

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.InstancesAsync(CancellationToken.None));

        Assert.StartsWith("Kubernetes: cannot list pods (web, labelSelector app.kubernetes.io/name=scale-web) in namespace scale: HTTP 403 Forbidden, forbidden:", error.Message, StringComparison.Ordinal);
        Assert.Contains("docs/chaos-k8s.md", error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot list resource \"pods\" in API group \"\" in the namespace \"scale\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InstancesAsync_ApiServerUnreachable_ThrowsChaosException()
    {
        var port = Tools.FreePort();
        await using var target = new KubernetesTarget(new KubernetesTargetOptions(), new k8s.KubernetesClientConfiguration { Host = $"http://127.0.0.1:{port}" }, TextWriter.Null);

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.InstancesAsync(CancellationToken.None));

        Assert.StartsWith($"Kubernetes: cannot list pods (web, labelSelector app.kubernetes.io/name=scale-web) in namespace scale: the API server at http://127.0.0.1:{port}/ cannot be reached", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForReadyAsync_EverythingReady_ReturnsTheInstances()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        await using var target = api.Target();

        var instances = await target.WaitForReadyAsync(CancellationToken.None);

        Assert.Equal(16, instances.Count);
    }

    [Fact]
    public async Task WaitForReadyAsync_FailoverNeverEnds_ThrowsAfterTheTimeout()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        api.Cluster = Recorded.Text(Recorded.FailingOverCluster);
        await using var target = api.Target(new KubernetesTargetOptions { ReadyTimeout = TimeSpan.FromMilliseconds(300) });

        var error = await Assert.ThrowsAsync<ChaosException>(() => target.WaitForReadyAsync(CancellationToken.None));

        Assert.Equal("Kubernetes: namespace scale not ready after 0.3 s: the Cluster scale-db has no primary.", error.Message);
    }

    [Fact]
    public async Task Target_ServiceUrlAndName_ComeFromTheOptions()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        var url = new Uri("http://a1b2c3.elb.eu-west-1.amazonaws.com/");
        await using var target = api.Target(new KubernetesTargetOptions { ServiceUrl = url });

        Assert.Equal("k8s", target.Name);
        Assert.Equal(url, target.ServiceUrl);
        Assert.False(target.DryRun);
        Assert.Equal(api.Address, target.ApiServer);
    }

    [Fact]
    public void RecordedFixtures_AreWhatTheApiReturns()
    {
        Assert.Equal("PodList", (string?)Recorded.Json(Recorded.WebPods)["kind"]);
        Assert.Equal("NodeList", (string?)Recorded.Json(Recorded.Nodes)["kind"]);
        Assert.Equal("Cluster", (string?)Recorded.Json(Recorded.HealthyCluster)["kind"]);
        var status = Recorded.Json(Recorded.PodsForbidden);
        Assert.Equal("Status", (string?)status["kind"]);
        Assert.Equal(403, (int?)status["code"]);

        // The typed models of the official client read them.
        var pods = k8s.KubernetesJson.Deserialize<k8s.Models.V1PodList>(Recorded.Text(Recorded.WebPods));
        Assert.Equal(6, pods.Items.Count);
        var nodes = k8s.KubernetesJson.Deserialize<k8s.Models.V1NodeList>(Recorded.Text(Recorded.Nodes));
        Assert.Equal(3, nodes.Items.Select(node => node.Metadata.Labels["topology.kubernetes.io/zone"]).Distinct().Count());
        _ = JsonNode.Parse(Recorded.Text(Recorded.FailingOverCluster));
    }
}
