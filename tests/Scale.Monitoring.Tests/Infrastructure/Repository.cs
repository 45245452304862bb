using Scale.Testing;

namespace Scale.Monitoring.Tests.Infrastructure;

/// <summary>The monitoring files in the checkout the tests run from.</summary>
public static class Repository
{
    public static string Root => Checkout.Root;

    public static string Monitoring => Path.Join(Root, "deploy", "monitoring");

    public static string RuleFile => Path.Join(Monitoring, "rules", "scale.rules.yml");

    public static string PrometheusRule => Path.Join(Monitoring, "prometheusrule.yaml");

    public static string ExporterQueries => Path.Join(Monitoring, "postgres-exporter-queries.yaml");

    public static IReadOnlyList<string> Dashboards => Directory.GetFiles(Path.Join(Monitoring, "dashboards"), "*.json").Order(StringComparer.Ordinal).ToArray();
}
