using k8s;
using k8s.Models;
using Scale.Testing;

namespace Scale.Deploy.Tests.Kubernetes;

/// <summary>A pod template of a workload in the rendered manifests, with the workload that owns it.</summary>
public sealed record PodTemplate(string OwnerKind, string OwnerName, V1ObjectMeta Metadata, V1PodSpec Spec)
{
    public string Owner => $"{OwnerKind}/{OwnerName}";

    /// <summary>Init containers, then containers.</summary>
    public IEnumerable<V1Container> AllContainers => (Spec.InitContainers ?? []).Concat(Spec.Containers);
}

/// <summary>
/// The objects one kustomization renders to (<c>kubectl kustomize</c>, kustomize 5 inside kubectl), each read
/// strictly into the Kubernetes client's typed model for its kind, or Scale's model of a custom resource: a field
/// the model does not have fails the load.
/// </summary>
public sealed class Manifests
{
    private Manifests(string name, string yaml, IReadOnlyList<IKubernetesObject> objects)
    {
        Name = name;
        Yaml = yaml;
        Objects = objects;
    }

    /// <summary>The kustomization's path under deploy/.</summary>
    public string Name { get; }

    public string Yaml { get; }

    public IReadOnlyList<IKubernetesObject> Objects { get; }

    public static async Task<Manifests> RenderAsync(string kustomizationUnderDeploy)
    {
        var kubectl = await Kubectl.FindAsync();
        var directory = Path.Join(Checkout.Root, "deploy", kustomizationUnderDeploy);
        var rendered = await Tools.RunAsync(kubectl, ["kustomize", directory], TimeSpan.FromMinutes(1));
        if (rendered.ExitCode != 0)
        {
            throw new InvalidOperationException($"kubectl kustomize {directory} failed: {rendered.Output}");
        }

        return Load(kustomizationUnderDeploy, rendered.Stdout);
    }

    public static Manifests Load(string name, string yaml)
    {
        var types = CustomResourceTypes.ByApiVersionAndKind.ToDictionary(pair => pair.Key, pair => pair.Value);
        var objects = KubernetesYaml.LoadAllFromString(yaml, types, strict: true).Cast<IKubernetesObject>().ToList();
        return new Manifests(name, yaml, objects);
    }

    public IEnumerable<T> All<T>() where T : IKubernetesObject => Objects.OfType<T>();

    public T Named<T>(string name) where T : IKubernetesObject<V1ObjectMeta> =>
        All<T>().SingleOrDefault(o => o.Metadata.Name == name)
        ?? throw new InvalidOperationException($"{Name}: no {typeof(T).Name} named {name}");

    /// <summary>Every pod template: Deployments, StatefulSets, DaemonSets, Jobs.</summary>
    public IEnumerable<PodTemplate> PodTemplates =>
        All<V1Deployment>().Select(d => new PodTemplate("Deployment", d.Metadata.Name, d.Spec.Template.Metadata, d.Spec.Template.Spec))
            .Concat(All<V1StatefulSet>().Select(s => new PodTemplate("StatefulSet", s.Metadata.Name, s.Spec.Template.Metadata, s.Spec.Template.Spec)))
            .Concat(All<V1DaemonSet>().Select(s => new PodTemplate("DaemonSet", s.Metadata.Name, s.Spec.Template.Metadata, s.Spec.Template.Spec)))
            .Concat(All<V1Job>().Select(j => new PodTemplate("Job", j.Metadata.Name, j.Spec.Template.Metadata, j.Spec.Template.Spec)));

    /// <summary>Whether <paramref name="selector"/> (matchLabels and matchExpressions) selects <paramref name="labels"/>.</summary>
    public static bool Selects(V1LabelSelector selector, IDictionary<string, string>? labels)
    {
        labels ??= new Dictionary<string, string>();
        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
        {
            if (!labels.TryGetValue(key, out var actual) || actual != value)
            {
                return false;
            }
        }

        foreach (var expression in selector.MatchExpressions ?? [])
        {
            var has = labels.TryGetValue(expression.Key, out var actual);
            var ok = expression.OperatorProperty switch
            {
                "In" => has && expression.Values.Contains(actual!),
                "NotIn" => !has || !expression.Values.Contains(actual!),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => throw new InvalidOperationException($"unknown selector operator {expression.OperatorProperty}"),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// kubectl with a kustomize of version 5 or later inside (the manifests use its `labels` and `patches` fields).
/// Debian 12's own kubernetes-client is 1.20 with kustomize 2, too old, so it is not installed as a fallback.
/// </summary>
public static class Kubectl
{
    private static readonly Lazy<Task<string>> Found = new(LocateAsync);

    public static Task<string> FindAsync() => Found.Value;

    private static async Task<string> LocateAsync()
    {
        var path = Tools.Find("kubectl")
            ?? throw new InvalidOperationException("kubectl is missing: the deployment tests render manifests with `kubectl kustomize` (kubectl >= 1.27, kustomize 5): https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/");
        var version = await Tools.RunAsync(path, ["version", "--client"], TimeSpan.FromSeconds(30));
        var kustomize = System.Text.RegularExpressions.Regex.Match(version.Stdout, @"Kustomize Version: v(\d+)");
        if (!kustomize.Success || int.Parse(kustomize.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < 5)
        {
            throw new InvalidOperationException($"{path} embeds kustomize older than v5 ({version.Output.Trim()}); install kubectl >= 1.27: https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/");
        }

        return path;
    }
}
