using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace Scale.Monitoring.Tests.Infrastructure;

/// <summary>One PromQL expression of deploy/monitoring: where it is, the expression, and whether it only means something on Kubernetes.</summary>
/// <param name="Source">e.g. "rule ScaleWebHighErrorRatio" or "scale-web.json panel 3 'Latency' A".</param>
/// <param name="Expression">The PromQL, Grafana's variables replaced.</param>
/// <param name="KubernetesOnly">Marked as meaningful only on Kubernetes (annotation scope or target scaleScope "kubernetes").</param>
/// <param name="Alert">For alert rules: the alert's name (its expression is a condition; see <see cref="PromQl.DataOperands"/>).</param>
public sealed record PromExpression(string Source, string Expression, bool KubernetesOnly, string? Alert)
{
    public override string ToString() => Source;
}

/// <summary>Reads the rule file and the dashboards the way Prometheus and Grafana would.</summary>
public static class MonitoringFiles
{
    /// <summary>The rule file's groups as YAML (YamlDotNet's representation model: no schema guessing).</summary>
    public static YamlSequenceNode RuleGroups(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            stream.Load(reader);
        }

        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        if (root.Children.TryGetValue(new YamlScalarNode("spec"), out var spec))
        {
            root = (YamlMappingNode)spec;
        }

        return (YamlSequenceNode)root.Children[new YamlScalarNode("groups")];
    }

    /// <summary>Every rule of a rule file, as a mapping node each.</summary>
    public static IEnumerable<YamlMappingNode> Rules(string path) =>
        RuleGroups(path).Children.Cast<YamlMappingNode>()
            .SelectMany(group => ((YamlSequenceNode)group.Children[new YamlScalarNode("rules")]).Children.Cast<YamlMappingNode>());

    public static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;

    public static YamlMappingNode? Mapping(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value as YamlMappingNode : null;

    public static IReadOnlyList<PromExpression> RuleExpressions() =>
        Rules(Repository.RuleFile).Select(rule =>
        {
            var alert = Scalar(rule, "alert");
            var name = alert ?? Scalar(rule, "record")!;
            var scope = Mapping(rule, "annotations") is { } annotations ? Scalar(annotations, "scope") : null;
            return new PromExpression($"rule {name}", Scalar(rule, "expr")!.Trim(), scope == "kubernetes", alert);
        }).ToArray();

    public static IReadOnlyList<PromExpression> DashboardExpressions() =>
        Repository.Dashboards.SelectMany(file =>
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var name = Path.GetFileName(file);
            return document.RootElement.GetProperty("panels").EnumerateArray().SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(target =>
                new PromExpression(
                    $"{name} panel {panel.GetProperty("id").GetInt32()} '{panel.GetProperty("title").GetString()}' {target.GetProperty("refId").GetString()}",
                    PromQl.WithGrafanaVariables(target.GetProperty("expr").GetString()!),
                    target.TryGetProperty("scaleScope", out var scope) && scope.GetString() == "kubernetes",
                    null))).ToArray();
        }).ToArray();
}
