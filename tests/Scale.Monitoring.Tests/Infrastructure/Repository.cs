namespace Scale.Monitoring.Tests.Infrastructure;

/// <summary>Paths in the checkout the tests run from.</summary>
public static class Repository
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Join(directory.FullName, "Scale.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No folder with Scale.slnx above '{AppContext.BaseDirectory}'.");
    });

    public static string Root => RootPath.Value;

    public static string Monitoring => Path.Join(Root, "deploy", "monitoring");

    public static string RuleFile => Path.Join(Monitoring, "rules", "scale.rules.yml");

    public static string PrometheusRule => Path.Join(Monitoring, "prometheusrule.yaml");

    public static string ExporterQueries => Path.Join(Monitoring, "postgres-exporter-queries.yaml");

    public static IReadOnlyList<string> Dashboards => Directory.GetFiles(Path.Join(Monitoring, "dashboards"), "*.json").Order(StringComparer.Ordinal).ToArray();
}
