using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;
using Scale.Deploy.Tests.Kubernetes;
using Scale.Testing;

namespace Scale.Deploy.Tests;

/// <summary>
/// deploy/k8s without a cluster: every kustomization renders with kubectl's kustomize, every object reads strictly
/// into a typed model (the official client's, or Scale's model of a CRD), and the rules a production deployment
/// needs hold on what would be applied: probes, resources, non-root read-only containers, pinned images, spreading
/// over zones, the PDB and HPA on the web pods, the database wired in, no plaintext secret, kube-monkey's labels,
/// network policies that let every needed connection through and nothing else, monitoring objects that
/// kube-prometheus-stack picks up.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    public static TheoryData<string> AppOverlays => new() { "k8s/overlays/eks", "k8s/overlays/local" };

    public static TheoryData<string> BatchOverlays => new() { "k8s/overlays/eks/batch", "k8s/overlays/local/batch" };

    public static TheoryData<string> Deployables => new() { "k8s/overlays/eks", "k8s/overlays/eks-backup", "k8s/overlays/local", "k8s/overlays/eks/batch", "k8s/overlays/local/batch" };

    public static TheoryData<string> EveryKustomization => new()
    {
        "k8s/base", "k8s/batch", "monitoring", "k8s/overlays/eks", "k8s/overlays/eks-backup", "k8s/overlays/local", "k8s/overlays/eks/batch", "k8s/overlays/local/batch",
    };

    [Theory]
    [MemberData(nameof(EveryKustomization))]
    public async Task Renders_AndEveryObjectReadsStrictlyIntoItsTypedModel(string kustomization)
    {
        var manifests = await Manifests.RenderAsync(kustomization);

        Assert.NotEmpty(manifests.Objects);
        Assert.Equal(Regex.Count(manifests.Yaml, "^kind: ", RegexOptions.Multiline), manifests.Objects.Count);
        Assert.All(manifests.All<CnpgCluster>(), cluster => Assert.Empty(cluster.Validate()));
        Assert.All(manifests.All<CnpgScheduledBackup>(), backup => Assert.Empty(backup.Validate()));
        // Everything namespaced lands in "scale"; nothing cluster-wide carries a namespace.
        foreach (var o in manifests.Objects.OfType<k8s.IKubernetesObject<V1ObjectMeta>>())
        {
            var clusterWide = o is V1Namespace or V1ClusterRole or V1ClusterRoleBinding or V1StorageClass or VolumeSnapshotClass;
            Assert.True(clusterWide ? o.Metadata.NamespaceProperty is null : kustomization == "monitoring" || o.Metadata.NamespaceProperty == "scale",
                $"{o.Kind}/{o.Metadata.Name} is in namespace '{o.Metadata.NamespaceProperty}'");
        }
    }

    [Fact]
    public void StrictReading_RejectsAFieldTheModelDoesNotHave()
    {
        // The check above can fail: a misspelt field in a CRD (here CloudNativePG's "instances") is an error.
        const string Misspelt = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  instance: 3\n  storage:\n    size: 1Gi\n";
        Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => Manifests.Load("inline", Misspelt));
        const string BadProbe = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n    - name: a\n      image: a:1\n      readinesProbe: {}\n";
        Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => Manifests.Load("inline", BadProbe));
    }

    [Theory]
    [MemberData(nameof(Deployables))]
    public async Task EveryContainer_HasResources_ANonRootReadOnlyContext_AndAPinnedImage(string overlay)
    {
        var manifests = await Manifests.RenderAsync(overlay);
        var templates = manifests.PodTemplates.ToList();
        Assert.NotEmpty(templates);
        foreach (var template in templates)
        {
            var pod = template.Spec.SecurityContext;
            Assert.True(pod?.RunAsNonRoot == true, $"{template.Owner}: pod securityContext.runAsNonRoot");
            Assert.True(pod?.RunAsUser is > 0, $"{template.Owner}: pod runs as a numeric non-root user");
            Assert.Equal("RuntimeDefault", pod?.SeccompProfile?.Type);
            foreach (var container in template.AllContainers)
            {
                var where = $"{template.Owner} container {container.Name}";
                Assert.True(container.Resources?.Requests?.ContainsKey("cpu") == true, $"{where}: cpu request");
                Assert.True(container.Resources?.Requests?.ContainsKey("memory") == true, $"{where}: memory request");
                Assert.True(container.Resources?.Limits?.ContainsKey("memory") == true, $"{where}: memory limit");
                var context = container.SecurityContext;
                Assert.True(context?.AllowPrivilegeEscalation == false, $"{where}: allowPrivilegeEscalation false");
                Assert.True(context?.ReadOnlyRootFilesystem == true, $"{where}: readOnlyRootFilesystem");
                Assert.True(context?.RunAsNonRoot == true, $"{where}: runAsNonRoot");
                Assert.Equal(["ALL"], context?.Capabilities?.Drop ?? []);
                Assert.True(context?.Privileged is null or false, $"{where}: not privileged");
                Assert.Matches(PinnedImage(), container.Image);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Deployables))]
    public async Task LongRunningContainers_HaveProbes_AndJobContainersThatServeMetrics_ALivenessProbe(string overlay)
    {
        var manifests = await Manifests.RenderAsync(overlay);
        foreach (var template in manifests.PodTemplates)
        {
            foreach (var container in template.Spec.Containers)
            {
                var where = $"{template.Owner} container {container.Name}";
                if (template.OwnerKind == "Job")
                {
                    // The schema migration serves nothing and is over in seconds (bounded by activeDeadlineSeconds);
                    // the long Jobs serve /metrics, and a hung one is restarted by its liveness probe.
                    if (container.Ports?.Any(p => p.Name == "metrics") == true)
                    {
                        Assert.True(container.LivenessProbe?.HttpGet?.Path == "/metrics", $"{where}: liveness on /metrics");
                    }
                    else
                    {
                        Assert.Equal("scale-db-migrate", template.OwnerName);
                    }

                    continue;
                }

                Assert.True(container.ReadinessProbe is not null, $"{where}: readiness probe");
                Assert.True(container.LivenessProbe is not null, $"{where}: liveness probe");
                foreach (var probe in new[] { container.ReadinessProbe, container.LivenessProbe, container.StartupProbe }.OfType<V1Probe>())
                {
                    // Probes name a port the container declares.
                    var port = probe.HttpGet?.Port.Value;
                    Assert.Contains(container.Ports ?? [], p => p.Name == port || p.ContainerPort.ToString(CultureInfo.InvariantCulture) == port);
                }
            }
        }

        if (manifests.All<V1Deployment>().Any(d => d.Metadata.Name == "scale-web"))
        {
            var web = WebContainer(manifests);
            Assert.Equal("/healthz", web.StartupProbe?.HttpGet?.Path);
            Assert.Equal("/readyz", web.ReadinessProbe?.HttpGet?.Path);
            Assert.Equal("/healthz", web.LivenessProbe?.HttpGet?.Path);
        }
    }

    [Theory]
    [MemberData(nameof(AppOverlays))]
    public async Task Web_HasAtLeastThreeReplicas_SpreadOverZonesAndNodes_WithAPdbAndAnHpaOnItsPods(string overlay)
    {
        var manifests = await Manifests.RenderAsync(overlay);
        var web = manifests.Named<V1Deployment>("scale-web");
        Assert.True(web.Spec.Replicas >= 3, $"replicas {web.Spec.Replicas}");
        var podLabels = web.Spec.Template.Metadata.Labels;
        Assert.True(Manifests.Selects(web.Spec.Selector, podLabels));

        var spread = web.Spec.Template.Spec.TopologySpreadConstraints ?? [];
        var zone = Assert.Single(spread, c => c.TopologyKey == "topology.kubernetes.io/zone");
        Assert.Equal(1, zone.MaxSkew);
        Assert.True(Manifests.Selects(zone.LabelSelector, podLabels));
        // On EKS the zone spread is a rule; a one-node kind cluster has no zones, so there it is a preference.
        Assert.Equal(overlay.EndsWith("eks", StringComparison.Ordinal) ? "DoNotSchedule" : "ScheduleAnyway", zone.WhenUnsatisfiable);
        Assert.Contains(spread, c => c.TopologyKey == "kubernetes.io/hostname" && Manifests.Selects(c.LabelSelector, podLabels));

        var pdb = manifests.Named<V1PodDisruptionBudget>("scale-web");
        Assert.True(Manifests.Selects(pdb.Spec.Selector, podLabels), "the PDB selects the web pods");
        Assert.Equal("2", pdb.Spec.MinAvailable?.Value);
        Assert.True(int.Parse(pdb.Spec.MinAvailable!.Value, CultureInfo.InvariantCulture) < web.Spec.Replicas, "the PDB lets one pod go at a time");
        // It selects nothing else: no other workload's pods carry its labels.
        Assert.All(manifests.PodTemplates.Where(t => t.OwnerName != "scale-web"), t => Assert.False(Manifests.Selects(pdb.Spec.Selector, t.Metadata.Labels), t.Owner));

        var hpa = manifests.Named<V2HorizontalPodAutoscaler>("scale-web");
        Assert.Equal(("apps/v1", "Deployment", "scale-web"), (hpa.Spec.ScaleTargetRef.ApiVersion, hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name));
        Assert.Equal((3, 9), (hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas));
        var cpu = Assert.Single(hpa.Spec.Metrics);
        Assert.Equal(("Resource", "cpu", "Utilization", 50), (cpu.Type, cpu.Resource.Name, cpu.Resource.Target.Type, cpu.Resource.Target.AverageUtilization));
        Assert.True(WebContainer(manifests).Resources.Requests.ContainsKey("cpu"), "CPU utilisation needs a CPU request");
    }

    [Theory]
    [MemberData(nameof(AppOverlays))]
    public async Task Web_TerminatesGracefully_WithinItsGracePeriod(string overlay)
    {
        var manifests = await Manifests.RenderAsync(overlay);
        var web = manifests.Named<V1Deployment>("scale-web");
        var container = WebContainer(manifests);
        var settings = ConfigMapOf(manifests, container);
        var preStop = container.Lifecycle?.PreStop?.Sleep?.Seconds ?? 0;
        var delay = int.Parse(settings["SCALE_SHUTDOWN_DELAY"], CultureInfo.InvariantCulture);
        var timeout = int.Parse(settings["SCALE_SHUTDOWN_TIMEOUT"], CultureInfo.InvariantCulture);
        Assert.True(preStop > 0, "a preStop pause lets endpoints drop the pod before it stops listening");
        Assert.True(web.Spec.Template.Spec.TerminationGracePeriodSeconds > preStop + delay + timeout,
            $"grace {web.Spec.Template.Spec.TerminationGracePeriodSeconds}s must exceed preStop {preStop}s + delay {delay}s + timeout {timeout}s");
        Assert.Equal(0, web.Spec.Strategy.RollingUpdate.MaxUnavailable?.Value is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : -1);
        Assert.Equal("http://0.0.0.0:8080", settings["SCALE_URLS"]);
        Assert.Contains(container.Ports, p => p.Name == "http" && p.ContainerPort == 8080);
    }

    [Theory]
    [MemberData(nameof(AppOverlays))]
    public async Task Database_IsACloudNativePgClusterOfThreeSpreadOverZones_WiredIntoTheWebApp(string overlay)
    {
        var manifests = await Manifests.RenderAsync(overlay);
        var cluster = manifests.Named<CnpgCluster>("scale-db");
        Assert.Equal(3, cluster.Spec.Instances);
        Assert.Matches(@"^ghcr\.io/cloudnative-pg/postgresql:\d+\.\d+$", cluster.Spec.ImageName);
        Assert.Equal(("scale", "scale"), (cluster.Spec.Bootstrap?.Initdb?.Database, cluster.Spec.Bootstrap?.Initdb?.Owner));
        var zone = Assert.Single(cluster.Spec.TopologySpreadConstraints ?? [], c => c.TopologyKey == "topology.kubernetes.io/zone");
        Assert.Equal("scale-db", zone.LabelSelector.MatchLabels["cnpg.io/cluster"]);
        Assert.Equal(overlay.EndsWith("eks", StringComparison.Ordinal) ? "DoNotSchedule" : "ScheduleAnyway", zone.WhenUnsatisfiable);
        Assert.Equal(("any", 1, "required"), (cluster.Spec.Postgresql?.Synchronous?.Method, cluster.Spec.Postgresql?.Synchronous?.Number, cluster.Spec.Postgresql?.Synchronous?.DataDurability));
        Assert.False(cluster.Spec.EnableSuperuserAccess);
        if (overlay.EndsWith("eks", StringComparison.Ordinal))
        {
            var storageClass = manifests.Named<V1StorageClass>(cluster.Spec.Storage!.StorageClass!);
            Assert.Equal("WaitForFirstConsumer", storageClass.VolumeBindingMode);
            Assert.Equal("true", storageClass.Parameters["encrypted"]);
        }

        // Writes to the primary's service, reads to the replicas' (<cluster>-rw, <cluster>-ro), the password from
        // the Secret the operator generates (<cluster>-app).
        var web = WebContainer(manifests);
        var db = web.Env.Single(e => e.Name == "SCALE_DB").Value;
        Assert.Contains("Host=scale-db-rw,scale-db-ro;", db, StringComparison.Ordinal);
        Assert.Contains("Database=scale;", db, StringComparison.Ordinal);
        Assert.Contains("Username=scale;", db, StringComparison.Ordinal);
        var password = web.Env.Single(e => e.Name == "PGPASSWORD").ValueFrom.SecretKeyRef;
        Assert.Equal(("scale-db-app", "password"), (password.Name, password.Key));
    }

    [Theory]
    [MemberData(nameof(BatchOverlays))]
    public async Task Batch_MigratesThenExtractsEveryShardAsAnIndexedJobThenComputesSimilarSongs(string overlay)
    {
        var manifests = await Manifests.RenderAsync(overlay);
        Assert.Equal(["scale-db-migrate", "scale-extract", "scale-similar"], manifests.All<V1Job>().Select(j => j.Metadata.Name).Order(StringComparer.Ordinal));
        var extract = manifests.Named<V1Job>("scale-extract");
        Assert.Equal("Indexed", extract.Spec.CompletionMode);
        Assert.True(extract.Spec.BackoffLimitPerIndex > 0);
        Assert.True(extract.Spec.Parallelism > 1);
        var container = Assert.Single(extract.Spec.Template.Spec.Containers);
        Assert.Equal(["extract"], container.Args);
        var settings = ConfigMapOf(manifests, container);
        Assert.Equal(extract.Spec.Completions, int.Parse(settings["SCALE_SHARDS"], CultureInfo.InvariantCulture));

        foreach (var job in manifests.All<V1Job>())
        {
            var spec = job.Spec.Template.Spec;
            Assert.Equal("Never", spec.RestartPolicy);
            Assert.Equal("scale-batch", spec.ServiceAccountName);
            Assert.True(job.Spec.ActiveDeadlineSeconds > 0, $"{job.Metadata.Name}: bounded in time");
            var jobContainer = Assert.Single(spec.Containers);
            // Writes go to the primary only; the password comes from the operator's Secret.
            Assert.StartsWith("Host=scale-db-rw;", jobContainer.Env.Single(e => e.Name == "SCALE_DB").Value, StringComparison.Ordinal);
            Assert.Equal("scale-db-app", jobContainer.Env.Single(e => e.Name == "PGPASSWORD").ValueFrom.SecretKeyRef.Name);
            // The failure policy names the Job's real container; disruptions (a lost node or zone) are not failures.
            var rules = job.Spec.PodFailurePolicy?.Rules ?? [];
            Assert.All(rules.Where(r => r.OnExitCodes is not null), r => Assert.Equal(jobContainer.Name, r.OnExitCodes.ContainerName));
            Assert.Contains(rules, r => r.Action == "Ignore" && r.OnPodConditions?.Any(c => c.Type == "DisruptionTarget") == true);
            Assert.Contains(rules, r => r.Action == (job.Metadata.Name == "scale-extract" ? "FailIndex" : "FailJob") && r.OnExitCodes?.Values.Contains(2) == true);
        }

        if (overlay.Contains("local", StringComparison.Ordinal))
        {
            // No S3 locally: the corpus is synthesised into a scratch volume the extraction reads.
            var synth = Assert.Single(extract.Spec.Template.Spec.InitContainers ?? []);
            Assert.Equal("synth", synth.Args[0]);
            Assert.Equal("/corpus/lmd", settings["SCALE_SOURCE"]);
            Assert.Contains(container.VolumeMounts, m => m.MountPath == "/corpus" && m.ReadOnlyProperty == true);
        }
    }

    [Theory]
    [MemberData(nameof(Deployables))]
    public async Task NoPlaintextSecret_AndEveryReferencedConfigMapOrSecretExists(string overlay)
    {
        var manifests = await Manifests.RenderAsync(overlay);
        Assert.Empty(manifests.All<V1Secret>());
        Assert.DoesNotMatch(new Regex(@"(?i)password\s*=|aws_secret_access_key|BEGIN [A-Z ]*PRIVATE KEY"), manifests.Yaml);
        var configMaps = manifests.All<V1ConfigMap>().Select(c => c.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        // Secrets are made at deploy time, never in the manifests: CloudNativePG's for the database owner.
        var generatedSecrets = manifests.All<CnpgCluster>().Select(c => $"{c.Metadata.Name}-app").Append("scale-db-app").ToHashSet(StringComparer.Ordinal);
        foreach (var template in manifests.PodTemplates)
        {
            foreach (var container in template.AllContainers)
            {
                foreach (var variable in container.Env ?? [])
                {
                    if (SecretLikeName().IsMatch(variable.Name))
                    {
                        Assert.True(variable.Value is null, $"{template.Owner}: {variable.Name} has a literal value");
                        Assert.NotNull(variable.ValueFrom?.SecretKeyRef);
                    }

                    if (variable.ValueFrom?.SecretKeyRef is { } secret)
                    {
                        Assert.Contains(secret.Name, generatedSecrets);
                    }
                }

                foreach (var source in container.EnvFrom ?? [])
                {
                    Assert.True(source.ConfigMapRef is null || configMaps.Contains(source.ConfigMapRef.Name), $"{template.Owner}: ConfigMap {source.ConfigMapRef?.Name} is not rendered");
                    Assert.Null(source.SecretRef);
                }
            }

            foreach (var volume in template.Spec.Volumes ?? [])
            {
                Assert.True(volume.ConfigMap is null || configMaps.Contains(volume.ConfigMap.Name), $"{template.Owner}: volume ConfigMap {volume.ConfigMap?.Name}");
                Assert.True(volume.HostPath is null, $"{template.Owner}: no hostPath volumes");
            }
        }

        // Only kube-monkey talks to the API server; no other pod gets a token.
        Assert.All(manifests.All<V1ServiceAccount>().Where(a => a.Metadata.Name != "kube-monkey"),
            account => Assert.False(account.AutomountServiceAccountToken ?? true, $"{account.Metadata.Name} mounts an API token it does not need"));
    }

    [Theory]
    [MemberData(nameof(AppOverlays))]
    public async Task KubeMonkey_IsPinned_LeastPrivileged_AndTheWebAndDatabasePodsOptIn(string overlay)
    {
        var manifests = await Manifests.RenderAsync(overlay);
        var monkey = manifests.Named<V1Deployment>("kube-monkey");
        Assert.Matches(@"^ayushsobti/kube-monkey:v\d+\.\d+\.\d+$", Assert.Single(monkey.Spec.Template.Spec.Containers).Image);
        var config = manifests.All<V1ConfigMap>().Single(c => c.Metadata.Name.StartsWith("kube-monkey-config", StringComparison.Ordinal)).Data["config.toml"];
        Assert.Contains("whitelisted_namespaces = [\"scale\"]", config, StringComparison.Ordinal);
        Assert.Contains("dry_run = false", config, StringComparison.Ordinal);

        var web = manifests.Named<V1Deployment>("scale-web");
        Assert.Equal("enabled", web.Metadata.Labels["kube-monkey/enabled"]);
        Assert.Equal("scale-web", web.Metadata.Labels["kube-monkey/identifier"]);
        Assert.Matches(@"^\d+[dhm]?$", web.Metadata.Labels["kube-monkey/mtbf"]);
        Assert.Equal("1", web.Metadata.Labels["kube-monkey/kill-value"]);
        Assert.Equal("scale-web", web.Spec.Template.Metadata.Labels["kube-monkey/identifier"]);
        var database = manifests.Named<CnpgCluster>("scale-db").Spec.InheritedMetadata?.Labels ?? new Dictionary<string, string>();
        Assert.Equal("enabled", database["kube-monkey/enabled"]);
        Assert.Equal("scale-db", database["kube-monkey/identifier"]);

        // Cluster-wide it may only read workloads; pods it may delete only in "scale"; never the "edit" role its chart binds.
        var clusterRole = Assert.Single(manifests.All<V1ClusterRole>());
        Assert.All(clusterRole.Rules, rule => Assert.Equal(["get", "list"], rule.Verbs));
        Assert.DoesNotContain(manifests.All<V1ClusterRoleBinding>(), b => b.RoleRef.Name is "edit" or "admin" or "cluster-admin");
        var role = manifests.Named<V1Role>("kube-monkey");
        Assert.Equal(["pods"], Assert.Single(role.Rules).Resources);
        Assert.Equal("scale", role.Metadata.NamespaceProperty);
    }

    [Theory]
    [MemberData(nameof(AppOverlays))]
    public async Task NetworkPolicies_DenyByDefault_AndLetEveryNeededConnectionThrough(string overlay)
    {
        var app = await Manifests.RenderAsync(overlay);
        var batch = await Manifests.RenderAsync(overlay + "/batch");
        var policies = app.All<V1NetworkPolicy>().ToList();
        var defaultDeny = Assert.Single(policies, p => p.Spec.PodSelector.MatchLabels is null && p.Spec.Ingress is null && p.Spec.Egress is null);
        Assert.Equal(["Ingress", "Egress"], defaultDeny.Spec.PolicyTypes);

        var web = Pod(app, "Deployment/scale-web");
        var monkey = Pod(app, "Deployment/kube-monkey");
        var extract = Pod(batch, "Job/scale-extract");
        var databaseLabels = new Dictionary<string, string>(app.Named<CnpgCluster>("scale-db").Spec.InheritedMetadata!.Labels!)
        {
            ["cnpg.io/cluster"] = "scale-db",
            ["cnpg.io/podRole"] = "instance",
        };
        var database = NetworkEndpoint.Pod("scale", databaseLabels);
        var prometheus = NetworkEndpoint.Pod("monitoring", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "prometheus" });
        var operatorPod = NetworkEndpoint.Pod("cnpg-system", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "cloudnative-pg" });
        var dns = NetworkEndpoint.Pod("kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" });
        var outside = NetworkEndpoint.Outside;

        (NetworkEndpoint From, NetworkEndpoint To, int Port, string Why)[] needed =
        [
            (outside, web, 8080, "the load balancer to the web app"),
            (prometheus, web, 8080, "Prometheus scrapes /metrics"),
            (web, database, 5432, "the web app reads"),
            (extract, database, 5432, "extraction writes"),
            (database, database, 5432, "streaming replication"),
            (operatorPod, database, 8000, "the operator reads instance status"),
            (database, outside, 443, "the instance manager watches the API server"),
            (prometheus, database, 9187, "Prometheus scrapes PostgreSQL"),
            (extract, outside, 443, "extraction reads S3"),
            (prometheus, extract, 9464, "Prometheus scrapes the batch job"),
            (monkey, outside, 443, "kube-monkey calls the API server"),
            (prometheus, monkey, 8080, "Prometheus scrapes kube-monkey"),
        ];
        foreach (var (from, to, port, why) in needed)
        {
            Assert.True(NetworkPolicies.Allows(policies, from, to, port), $"blocked: {why} ({from} -> {to}:{port})");
        }

        foreach (var pod in new[] { web, database, extract, monkey })
        {
            Assert.True(NetworkPolicies.Allows(policies, pod, dns, 53, "UDP"), $"DNS blocked for {pod}");
        }

        (NetworkEndpoint From, NetworkEndpoint To, int Port, string Why)[] denied =
        [
            (outside, database, 5432, "PostgreSQL from outside"),
            (monkey, database, 5432, "kube-monkey to PostgreSQL"),
            (web, outside, 443, "the web app to the internet"),
            (web, extract, 9464, "the web app to a batch pod"),
            (outside, web, 9999, "another port of the web pods"),
            (NetworkEndpoint.Pod("other", new Dictionary<string, string>()), database, 5432, "another namespace to PostgreSQL"),
        ];
        foreach (var (from, to, port, why) in denied)
        {
            Assert.False(NetworkPolicies.Allows(policies, from, to, port), $"allowed: {why} ({from} -> {to}:{port})");
        }
    }

    [Theory]
    [MemberData(nameof(AppOverlays))]
    public async Task Monitoring_ObjectsCarryTheReleaseLabel_AndScrapeWhatTheRulesExpect(string overlay)
    {
        var manifests = await Manifests.RenderAsync(overlay);
        var monitor = manifests.Named<ServiceMonitor>("scale-web");
        Assert.Equal("kube-prometheus-stack", monitor.Metadata.Labels["release"]);
        // It selects exactly the in-cluster web Service, whose name becomes the job label the rules use.
        var services = manifests.All<V1Service>().Where(s => Manifests.Selects(monitor.Spec.Selector, s.Metadata.Labels)).ToList();
        var service = Assert.Single(services);
        Assert.Equal("scale-web", service.Metadata.Name);
        var endpoint = Assert.Single(monitor.Spec.Endpoints);
        Assert.Equal(("/metrics", "15s"), (endpoint.Path, endpoint.Interval));
        Assert.Contains(service.Spec.Ports, p => p.Name == endpoint.Port);
        var rules = manifests.Named<PrometheusRule>("scale");
        Assert.Equal("kube-prometheus-stack", rules.Metadata.Labels["release"]);
        var expressions = string.Join('\n', rules.Spec.Groups.SelectMany(g => g.Rules).Select(r => r.Expr));
        Assert.Contains("job=\"scale-web\"", expressions, StringComparison.Ordinal);

        foreach (var podMonitor in manifests.All<PodMonitor>())
        {
            Assert.Equal("kube-prometheus-stack", podMonitor.Metadata.Labels["release"]);
            Assert.NotEmpty(podMonitor.Spec.PodMetricsEndpoints);
        }

        // PostgreSQL under the job and metric names the Database dashboard and the rules use.
        var database = manifests.Named<PodMonitor>("scale-db");
        var relabel = Assert.Single(database.Spec.PodMetricsEndpoints).Relabelings!;
        Assert.Contains(relabel, r => r.TargetLabel == "job" && r.Replacement == "postgres");
        Assert.Contains("pg_up", expressions, StringComparison.Ordinal);
        Assert.Contains(database.Spec.PodMetricsEndpoints[0].MetricRelabelings!, r => r.Regex == "cnpg_collector_up" && r.Replacement == "pg_up");

        // Grafana's sidecar loads the dashboards: the same files as deploy/monitoring/dashboards.
        var dashboards = manifests.Named<V1ConfigMap>("scale-dashboards");
        Assert.Equal("1", dashboards.Metadata.Labels["grafana_dashboard"]);
        var files = Directory.GetFiles(Path.Join(Checkout.Root, "deploy", "monitoring", "dashboards"), "*.json");
        Assert.Equal(files.Select(Path.GetFileName).Order(StringComparer.Ordinal), dashboards.Data.Keys.Order(StringComparer.Ordinal));
        Assert.All(files, file => Assert.Equal(File.ReadAllText(file), dashboards.Data[Path.GetFileName(file)]));
    }

    [Fact]
    public async Task Backups_AreDailyVolumeSnapshotsFromAReplica_OnlyWhereAsked()
    {
        var withBackups = await Manifests.RenderAsync("k8s/overlays/eks-backup");
        var cluster = withBackups.Named<CnpgCluster>("scale-db");
        var snapshotClass = withBackups.Named<VolumeSnapshotClass>(cluster.Spec.Backup?.VolumeSnapshot?.ClassName ?? "(none)");
        Assert.Equal("ebs.csi.aws.com", snapshotClass.Driver);
        var scheduled = Assert.Single(withBackups.All<CnpgScheduledBackup>());
        Assert.Equal(("scale-db", "volumeSnapshot", "prefer-standby"), (scheduled.Spec.Cluster.Name, scheduled.Spec.Method, scheduled.Spec.Target));
        // Apart from the backups, the same objects as the EKS overlay.
        var eks = await Manifests.RenderAsync("k8s/overlays/eks");
        Assert.Null(eks.Named<CnpgCluster>("scale-db").Spec.Backup);
        Assert.Empty(eks.All<CnpgScheduledBackup>());
        Assert.Equal(eks.Objects.Count + 2, withBackups.Objects.Count);
    }

    [Fact]
    public async Task Eks_ExposesTheWebAppThroughALoadBalancer_AndLocalDoesNot()
    {
        var eks = await Manifests.RenderAsync("k8s/overlays/eks");
        var local = await Manifests.RenderAsync("k8s/overlays/local");
        var pods = WebPodLabels(eks);
        var publicService = Assert.Single(eks.All<V1Service>(), s => s.Spec.Type == "LoadBalancer");
        Assert.True(Manifests.Selects(new V1LabelSelector { MatchLabels = publicService.Spec.Selector }, pods));
        Assert.Equal("nlb", publicService.Metadata.Annotations["service.beta.kubernetes.io/aws-load-balancer-type"]);
        Assert.DoesNotContain(local.All<V1Service>(), s => s.Spec.Type == "LoadBalancer");
    }

    [Fact]
    public void HelmCharts_ArePinnedToExactVersions()
    {
        var charts = File.ReadAllLines(Path.Join(Checkout.Root, "deploy", "k8s", "helm", "charts.env"))
            .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        Assert.Equal("cloudnative-pg", charts["CNPG_CHART"]);
        Assert.Equal("kube-prometheus-stack", charts["PROMETHEUS_CHART"]);
        Assert.Matches(@"^\d+\.\d+\.\d+$", charts["CNPG_CHART_VERSION"]);
        Assert.Matches(@"^\d+\.\d+\.\d+$", charts["PROMETHEUS_CHART_VERSION"]);
        Assert.All(charts.Where(c => c.Key.EndsWith("_REPO", StringComparison.Ordinal)), c => Assert.StartsWith("https://", c.Value, StringComparison.Ordinal));
    }

    private static V1Container WebContainer(Manifests manifests) =>
        Assert.Single(manifests.Named<V1Deployment>("scale-web").Spec.Template.Spec.Containers);

    private static IDictionary<string, string> WebPodLabels(Manifests manifests) =>
        manifests.Named<V1Deployment>("scale-web").Spec.Template.Metadata.Labels;

    private static NetworkEndpoint Pod(Manifests manifests, string owner) =>
        NetworkEndpoint.Pod("scale", manifests.PodTemplates.Single(t => t.Owner == owner).Metadata.Labels);

    private static IDictionary<string, string> ConfigMapOf(Manifests manifests, V1Container container)
    {
        var name = Assert.Single(container.EnvFrom ?? [], e => e.ConfigMapRef is not null).ConfigMapRef.Name;
        return manifests.Named<V1ConfigMap>(name).Data;
    }

    // A tag that names a version (digits), or a digest; never "latest" or no tag.
    [GeneratedRegex(@"^[a-z0-9./_-]+(:[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*|@sha256:[a-f0-9]{64})$")]
    private static partial Regex PinnedImage();

    [GeneratedRegex(@"(?i)PASSWORD|SECRET|TOKEN|ACCESS_KEY")]
    private static partial Regex SecretLikeName();
}
