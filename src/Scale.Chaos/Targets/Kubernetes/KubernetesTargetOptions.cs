namespace Scale.Chaos.Targets;

/// <summary>
/// Where <see cref="KubernetesTarget"/> finds the cluster and the pods it may hit. The defaults match deploy/k8s (the
/// namespace <c>scale</c>, the web Deployment's pod labels, the CloudNativePG Cluster <c>scale-db</c> and the Indexed
/// Job <c>scale-extract</c>).
/// </summary>
public sealed record KubernetesTargetOptions
{
    /// <summary>The label selector of the web pods (deploy/k8s/base/web.yaml: the Deployment's and Service's selector).</summary>
    public const string DefaultWebSelector = "app.kubernetes.io/name=scale-web";

    /// <summary>The CloudNativePG Cluster of deploy/k8s/base/database.yaml.</summary>
    public const string DefaultDatabaseCluster = "scale-db";

    /// <summary>The pods of the extract Job (deploy/k8s/batch/jobs.yaml); the Job controller labels its pods so.</summary>
    public const string DefaultBatchSelector = "batch.kubernetes.io/job-name=scale-extract";

    /// <summary>A kubeconfig file; null: the files in $KUBECONFIG, else ~/.kube/config, else (inside a pod) the pod's ServiceAccount.</summary>
    public string? KubeconfigPath { get; init; }

    /// <summary>The kubeconfig context; null: its current context.</summary>
    public string? Context { get; init; }

    /// <summary>The namespace every pod and the Cluster are in.</summary>
    public string Namespace { get; init; } = "scale";

    /// <summary>Label selector of the web pods.</summary>
    public string WebSelector { get; init; } = DefaultWebSelector;

    /// <summary>Name of the CloudNativePG Cluster; its instance pods are selected by <see cref="DatabaseSelector"/>.</summary>
    public string DatabaseCluster { get; init; } = DefaultDatabaseCluster;

    /// <summary>Label selector of the batch pods.</summary>
    public string BatchSelector { get; init; } = DefaultBatchSelector;

    /// <summary>The service's public URL, where the steady load goes (null: the experiment must give one).</summary>
    public Uri? ServiceUrl { get; init; }

    /// <summary>Actions list the pods they would delete and delete nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>How long <see cref="KubernetesTarget.WaitForReadyAsync"/> waits for every web and database pod to be Ready and a primary to exist.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>The database instance pods: CloudNativePG labels them with their Cluster and the pod role "instance" (not its initdb or join Jobs).</summary>
    public string DatabaseSelector => $"cnpg.io/cluster={DatabaseCluster},cnpg.io/podRole=instance";
}
