using System.Text.Json.Nodes;
using Scale.Testing;

namespace Scale.Chaos.Tests.Kubernetes;

/// <summary>The recorded Kubernetes API responses in Kubernetes/Recorded (copied next to the test assembly, else read from the checkout).</summary>
internal static class Recorded
{
    public const string WebPods = "pods-web.json";
    public const string DatabasePods = "pods-database.json";
    public const string BatchPods = "pods-batch.json";
    public const string Nodes = "nodes.json";
    public const string HealthyCluster = "cluster-healthy.json";
    public const string FailingOverCluster = "cluster-failing-over.json";
    public const string PodsForbidden = "status-403-pods-forbidden.json";
    public const string ClusterNotFound = "status-404-cluster-not-found.json";

    public static string Text(string name)
    {
        var copied = Path.Join(AppContext.BaseDirectory, "Kubernetes", "Recorded", name);
        var path = File.Exists(copied) ? copied : Path.Join(Checkout.Root, "tests", "Scale.Chaos.Tests", "Kubernetes", "Recorded", name);
        return File.ReadAllText(path);
    }

    public static JsonObject Json(string name) => JsonNode.Parse(Text(name))!.AsObject();

    /// <summary>A recorded PodList with <paramref name="change"/> applied to each pod (for variations of one recording).</summary>
    public static string PodListWith(string name, Action<JsonObject> change)
    {
        var list = Json(name);
        foreach (var pod in list["items"]!.AsArray())
        {
            change(pod!.AsObject());
        }

        return list.ToJsonString();
    }
}
