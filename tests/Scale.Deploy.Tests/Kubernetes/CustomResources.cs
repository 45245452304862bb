using k8s;
using k8s.Models;

namespace Scale.Deploy.Tests.Kubernetes;

// Typed models of the custom resources Scale's manifests use, for the fields they use, named as in the published
// CRDs (CloudNativePG postgresql.cnpg.io/v1: config/crd/bases/postgresql.cnpg.io_clusters.yaml; Prometheus
// Operator monitoring.coreos.com/v1: servicemonitors, podmonitors, prometheusrules). Read strictly, a field that is
// not here (a typo, or one the CRD does not have) fails the test; enumerations are checked by Validate().

/// <summary>CloudNativePG's Cluster: a PostgreSQL primary and its streaming replicas.</summary>
public sealed class CnpgCluster : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public V1ObjectMeta Metadata { get; set; } = new();
    public CnpgClusterSpec Spec { get; set; } = new();

    /// <summary>The values the CRD's enumerations and minimums allow.</summary>
    public IEnumerable<string> Validate()
    {
        if (Spec.Instances < 1) yield return $"instances must be >= 1, is {Spec.Instances}";
        if (Spec.PrimaryUpdateStrategy is not (null or "unsupervised" or "supervised")) yield return $"primaryUpdateStrategy '{Spec.PrimaryUpdateStrategy}'";
        if (Spec.PrimaryUpdateMethod is not (null or "switchover" or "restart")) yield return $"primaryUpdateMethod '{Spec.PrimaryUpdateMethod}'";
        if (Spec.Affinity?.PodAntiAffinityType is not (null or "preferred" or "required")) yield return $"podAntiAffinityType '{Spec.Affinity?.PodAntiAffinityType}'";
        if (Spec.Postgresql?.Synchronous is { } sync)
        {
            if (sync.Method is not ("any" or "first")) yield return $"synchronous.method '{sync.Method}'";
            if (sync.Number < 1) yield return $"synchronous.number must be >= 1, is {sync.Number}";
            if (sync.DataDurability is not (null or "required" or "preferred")) yield return $"synchronous.dataDurability '{sync.DataDurability}'";
        }

        if (string.IsNullOrEmpty(Spec.Storage?.Size)) yield return "storage.size is required";
    }
}

public sealed class CnpgClusterSpec
{
    public int Instances { get; set; }
    public string? ImageName { get; set; }
    public string? PrimaryUpdateStrategy { get; set; }
    public string? PrimaryUpdateMethod { get; set; }
    public bool? EnableSuperuserAccess { get; set; }
    public CnpgBootstrap? Bootstrap { get; set; }
    public CnpgPostgresConfiguration? Postgresql { get; set; }
    public CnpgStorage? Storage { get; set; }
    public V1ResourceRequirements? Resources { get; set; }
    public CnpgAffinity? Affinity { get; set; }
    public IList<V1TopologySpreadConstraint>? TopologySpreadConstraints { get; set; }
    public CnpgEmbeddedMetadata? InheritedMetadata { get; set; }
    public CnpgBackupConfiguration? Backup { get; set; }
}

public sealed class CnpgBackupConfiguration
{
    public CnpgVolumeSnapshotConfiguration? VolumeSnapshot { get; set; }
}

public sealed class CnpgVolumeSnapshotConfiguration
{
    public string? ClassName { get; set; }
    public bool? Online { get; set; }
    public string? SnapshotOwnerReference { get; set; }
}

/// <summary>CloudNativePG's ScheduledBackup: a Backup of a Cluster on a six-field (seconds first) cron schedule.</summary>
public sealed class CnpgScheduledBackup : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public V1ObjectMeta Metadata { get; set; } = new();
    public CnpgScheduledBackupSpec Spec { get; set; } = new();

    public IEnumerable<string> Validate()
    {
        if (Spec.Schedule.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length != 6) yield return $"schedule '{Spec.Schedule}' needs 6 fields (seconds first)";
        if (Spec.Method is not (null or "barmanObjectStore" or "volumeSnapshot" or "plugin")) yield return $"method '{Spec.Method}'";
        if (Spec.Target is not (null or "primary" or "prefer-standby")) yield return $"target '{Spec.Target}'";
        if (Spec.BackupOwnerReference is not (null or "none" or "self" or "cluster")) yield return $"backupOwnerReference '{Spec.BackupOwnerReference}'";
    }
}

public sealed class CnpgScheduledBackupSpec
{
    public string Schedule { get; set; } = "";
    public bool? Immediate { get; set; }
    public bool? Suspend { get; set; }
    public string? Method { get; set; }
    public string? Target { get; set; }
    public string? BackupOwnerReference { get; set; }
    public CnpgLocalObjectReference Cluster { get; set; } = new();
}

public sealed class CnpgLocalObjectReference
{
    public string Name { get; set; } = "";
}

/// <summary>The CSI external snapshotter's VolumeSnapshotClass (snapshot.storage.k8s.io/v1), cluster-wide.</summary>
public sealed class VolumeSnapshotClass : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public V1ObjectMeta Metadata { get; set; } = new();
    public string Driver { get; set; } = "";
    public string DeletionPolicy { get; set; } = "";
    public IDictionary<string, string>? Parameters { get; set; }
}

public sealed class CnpgBootstrap
{
    public CnpgInitDb? Initdb { get; set; }
}

public sealed class CnpgInitDb
{
    public string? Database { get; set; }
    public string? Owner { get; set; }
}

public sealed class CnpgPostgresConfiguration
{
    public IDictionary<string, string>? Parameters { get; set; }
    public CnpgSynchronous? Synchronous { get; set; }
}

public sealed class CnpgSynchronous
{
    public string Method { get; set; } = "";
    public int Number { get; set; }
    public string? DataDurability { get; set; }
}

public sealed class CnpgStorage
{
    public string? Size { get; set; }
    public string? StorageClass { get; set; }
}

public sealed class CnpgAffinity
{
    public bool? EnablePodAntiAffinity { get; set; }
    public string? TopologyKey { get; set; }
    public string? PodAntiAffinityType { get; set; }
}

public sealed class CnpgEmbeddedMetadata
{
    public IDictionary<string, string>? Labels { get; set; }
    public IDictionary<string, string>? Annotations { get; set; }
}

/// <summary>Prometheus Operator's ServiceMonitor: scrape the endpoints of selected Services.</summary>
public sealed class ServiceMonitor : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public V1ObjectMeta Metadata { get; set; } = new();
    public ServiceMonitorSpec Spec { get; set; } = new();
}

public sealed class ServiceMonitorSpec
{
    public string? JobLabel { get; set; }
    public V1LabelSelector Selector { get; set; } = new();
    public IList<ScrapeEndpoint> Endpoints { get; set; } = [];
}

/// <summary>Prometheus Operator's PodMonitor: scrape selected pods' ports.</summary>
public sealed class PodMonitor : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public V1ObjectMeta Metadata { get; set; } = new();
    public PodMonitorSpec Spec { get; set; } = new();
}

public sealed class PodMonitorSpec
{
    public string? JobLabel { get; set; }
    public V1LabelSelector Selector { get; set; } = new();
    public IList<ScrapeEndpoint> PodMetricsEndpoints { get; set; } = [];
}

/// <summary>An endpoint of a ServiceMonitor or PodMonitor.</summary>
public sealed class ScrapeEndpoint
{
    public string? Port { get; set; }
    public string? Path { get; set; }
    public string? Interval { get; set; }
    public string? ScrapeTimeout { get; set; }
    public IList<RelabelConfig>? Relabelings { get; set; }
    public IList<RelabelConfig>? MetricRelabelings { get; set; }
}

public sealed class RelabelConfig
{
    public IList<string>? SourceLabels { get; set; }
    public string? Separator { get; set; }
    public string? TargetLabel { get; set; }
    public string? Regex { get; set; }
    public string? Replacement { get; set; }
    public string? Action { get; set; }
}

/// <summary>Prometheus Operator's PrometheusRule: recording and alerting rule groups.</summary>
public sealed class PrometheusRule : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public V1ObjectMeta Metadata { get; set; } = new();
    public PrometheusRuleSpec Spec { get; set; } = new();
}

public sealed class PrometheusRuleSpec
{
    public IList<PrometheusRuleGroup> Groups { get; set; } = [];
}

public sealed class PrometheusRuleGroup
{
    public string Name { get; set; } = "";
    public string? Interval { get; set; }
    public IList<PrometheusRuleEntry> Rules { get; set; } = [];
}

public sealed class PrometheusRuleEntry
{
    public string? Record { get; set; }
    public string? Alert { get; set; }
    public string Expr { get; set; } = "";
    public string? For { get; set; }
    public IDictionary<string, string>? Labels { get; set; }
    public IDictionary<string, string>? Annotations { get; set; }
}

/// <summary>The apiVersion/kind of every custom resource above, for <see cref="KubernetesYaml.LoadAllFromString"/>.</summary>
public static class CustomResourceTypes
{
    public static readonly IReadOnlyDictionary<string, Type> ByApiVersionAndKind = new Dictionary<string, Type>
    {
        ["postgresql.cnpg.io/v1/Cluster"] = typeof(CnpgCluster),
        ["postgresql.cnpg.io/v1/ScheduledBackup"] = typeof(CnpgScheduledBackup),
        ["snapshot.storage.k8s.io/v1/VolumeSnapshotClass"] = typeof(VolumeSnapshotClass),
        ["monitoring.coreos.com/v1/ServiceMonitor"] = typeof(ServiceMonitor),
        ["monitoring.coreos.com/v1/PodMonitor"] = typeof(PodMonitor),
        ["monitoring.coreos.com/v1/PrometheusRule"] = typeof(PrometheusRule),
    };
}
