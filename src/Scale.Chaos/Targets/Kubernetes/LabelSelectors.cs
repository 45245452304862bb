using k8s.Models;

namespace Scale.Chaos.Targets.Kubernetes;

/// <summary>Label selector semantics (matchLabels and the four matchExpressions operators), as the API server applies them.</summary>
internal static class LabelSelectors
{
    /// <summary>
    /// Whether <paramref name="selector"/> selects an object with <paramref name="labels"/>. An empty selector
    /// selects everything. A null selector selects everything too: this is what a NetworkPolicy's podSelector means.
    /// </summary>
    public static bool Matches(V1LabelSelector? selector, IReadOnlyDictionary<string, string> labels)
    {
        if (selector is null)
        {
            return true;
        }

        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
        {
            if (!labels.TryGetValue(key, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        foreach (var expression in selector.MatchExpressions ?? [])
        {
            var has = labels.TryGetValue(expression.Key, out var actual);
            var values = expression.Values ?? [];
            var matches = expression.OperatorProperty switch
            {
                "In" => has && values.Contains(actual!, StringComparer.Ordinal),
                "NotIn" => !has || !values.Contains(actual!, StringComparer.Ordinal),
                "Exists" => has,
                "DoesNotExist" => !has,
                // The API server rejects any other operator, so this is never reached with a stored object.
                var other => throw new ChaosException($"label selector: unknown operator '{other}' on key {expression.Key}."),
            };
            if (!matches)
            {
                return false;
            }
        }

        return true;
    }
}
