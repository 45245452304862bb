using System.Text.Json;

namespace Scale.Chaos.Targets.Kubernetes;

/// <summary>
/// The fields of a CloudNativePG <c>Cluster</c>'s status (postgresql.cnpg.io/v1) the target uses.
/// </summary>
/// <param name="CurrentPrimary">status.currentPrimary: the instance that is (or, during a failover, was) the primary.</param>
/// <param name="TargetPrimary">status.targetPrimary: the instance the operator wants as primary; differs from CurrentPrimary while a failover or switchover runs.</param>
/// <param name="Phase">status.phase, e.g. "Cluster in healthy state", "Failing over", "Switchover in progress".</param>
/// <param name="Healthy">status.instancesStatus.healthy: the instances the operator last found healthy.</param>
/// <param name="ReadyInstances">status.readyInstances: how many instance pods are Ready.</param>
/// <param name="Instances">status.instances: how many instances exist.</param>
internal sealed record CnpgClusterStatus(
    string? CurrentPrimary,
    string? TargetPrimary,
    string? Phase,
    IReadOnlyList<string> Healthy,
    int? ReadyInstances,
    int? Instances)
{
    /// <summary>A failover or switchover is under way: no instance is reliably the primary.</summary>
    public bool ChangingPrimary =>
        !string.Equals(CurrentPrimary, TargetPrimary, StringComparison.Ordinal)
        || (Phase is { } phase && (phase.StartsWith("Failing over", StringComparison.OrdinalIgnoreCase)
                                   || phase.StartsWith("Switchover", StringComparison.OrdinalIgnoreCase)));

    /// <summary>The primary, or null when there is none or it is changing.</summary>
    public string? Primary => ChangingPrimary || string.IsNullOrEmpty(CurrentPrimary) ? null : CurrentPrimary;

    /// <summary>Reads the status of a Cluster object as the API returns it (the client gives custom objects as a <see cref="JsonElement"/>).</summary>
    public static CnpgClusterStatus Parse(object? cluster)
    {
        var element = cluster switch
        {
            JsonElement json => json,
            JsonDocument document => document.RootElement,
            string text => JsonSerializer.Deserialize<JsonElement>(text),
            null => default,
            _ => JsonSerializer.SerializeToElement(cluster, cluster.GetType()),
        };

        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("status", out var status) || status.ValueKind != JsonValueKind.Object)
        {
            return new CnpgClusterStatus(null, null, null, [], null, null);
        }

        IReadOnlyList<string> healthy = [];
        if (status.TryGetProperty("instancesStatus", out var byState) && byState.ValueKind == JsonValueKind.Object
            && byState.TryGetProperty("healthy", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            healthy = [.. list.EnumerateArray().Where(item => item.ValueKind == JsonValueKind.String).Select(item => item.GetString()!)];
        }

        return new CnpgClusterStatus(
            Text(status, "currentPrimary"),
            Text(status, "targetPrimary"),
            Text(status, "phase"),
            healthy,
            Number(status, "readyInstances"),
            Number(status, "instances"));
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : null;
}
