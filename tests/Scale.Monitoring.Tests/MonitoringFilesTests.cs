using System.Text.Json;
using Scale.Monitoring.Tests.Infrastructure;
using Scale.Testing;
using YamlDotNet.RepresentationModel;

namespace Scale.Monitoring.Tests;

/// <summary>deploy/monitoring as files: promtool accepts the rules, the PrometheusRule is their rendering, the dashboards are sound.</summary>
public sealed class MonitoringFilesTests
{
    [Fact]
    public async Task Promtool_AcceptsTheRuleFileAndThePrometheusRuleSpec()
    {
        var promtool = await Tools.RequireAsync("promtool", "prometheus");
        var result = await Tools.RunAsync(promtool, ["check", "rules", Repository.RuleFile], TimeSpan.FromMinutes(1));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrometheusRule_IsTheRenderingOfTheRuleFile_WithTheReleaseLabel()
    {
        var check = await Tools.RunAsync("bash", [Path.Join(Repository.Monitoring, "render.sh"), "--check"], TimeSpan.FromMinutes(1));
        Assert.True(check.ExitCode == 0, check.ToString());

        var stream = new YamlStream();
        using (var reader = new StreamReader(Repository.PrometheusRule))
        {
            stream.Load(reader);
        }

        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        Assert.Equal("monitoring.coreos.com/v1", MonitoringFiles.Scalar(root, "apiVersion"));
        Assert.Equal("PrometheusRule", MonitoringFiles.Scalar(root, "kind"));
        var labels = MonitoringFiles.Mapping(MonitoringFiles.Mapping(root, "metadata")!, "labels")!;
        Assert.Equal("kube-prometheus-stack", MonitoringFiles.Scalar(labels, "release"));

        // Same rules, parsed: names and expressions in the same order.
        var plain = MonitoringFiles.Rules(Repository.RuleFile).Select(Describe).ToArray();
        var rendered = MonitoringFiles.Rules(Repository.PrometheusRule).Select(Describe).ToArray();
        Assert.Equal(plain, rendered);
        Assert.True(plain.Length >= 10);

        static string Describe(YamlMappingNode rule) =>
            (MonitoringFiles.Scalar(rule, "alert") ?? MonitoringFiles.Scalar(rule, "record")) + " = " + MonitoringFiles.Scalar(rule, "expr")?.Trim() + " for " + MonitoringFiles.Scalar(rule, "for");
    }

    [Fact]
    public void AlertRules_CoverWhatOperatorsNeed_EachWithSeverityAndText()
    {
        var alerts = MonitoringFiles.Rules(Repository.RuleFile).Where(r => MonitoringFiles.Scalar(r, "alert") is not null).ToArray();
        var names = alerts.Select(r => MonitoringFiles.Scalar(r, "alert")).ToHashSet();
        foreach (var required in new[]
                 {
                     "ScaleWebHighErrorRatio", "ScaleWebHighLatency", "ScaleWebInstanceDown", "ScalePostgresReplicaLagHigh",
                     "ScalePostgresNoPrimary", "ScaleBatchJobFailed", "ScaleBatchJobStalled",
                 })
        {
            Assert.Contains(required, names);
        }

        foreach (var alert in alerts)
        {
            var name = MonitoringFiles.Scalar(alert, "alert");
            Assert.True(MonitoringFiles.Scalar(alert, "for") is not null, $"{name}: no 'for' (a single bad scrape would page)");
            Assert.Contains(MonitoringFiles.Scalar(MonitoringFiles.Mapping(alert, "labels")!, "severity"), new[] { "critical", "warning" });
            var annotations = MonitoringFiles.Mapping(alert, "annotations")!;
            Assert.False(string.IsNullOrWhiteSpace(MonitoringFiles.Scalar(annotations, "summary")), $"{name}: no summary");
            Assert.False(string.IsNullOrWhiteSpace(MonitoringFiles.Scalar(annotations, "description")), $"{name}: no description");
        }
    }

    [Fact]
    public void Dashboards_AreGrafanaDashboards_WithQueriesOnAPrometheusDatasourceVariable()
    {
        Assert.Equal(["scale-batch.json", "scale-database.json", "scale-web.json"], Repository.Dashboards.Select(Path.GetFileName));
        var uids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Repository.Dashboards)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var root = document.RootElement;
            Assert.True(uids.Add(root.GetProperty("uid").GetString()!), $"{file}: duplicate uid");
            Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("title").GetString()));
            Assert.True(root.GetProperty("schemaVersion").GetInt32() >= 36, $"{file}: old schema");
            var variables = root.GetProperty("templating").GetProperty("list").EnumerateArray().ToArray();
            Assert.Contains(variables, v => v.GetProperty("name").GetString() == "datasource" && v.GetProperty("query").GetString() == "prometheus");
            var panels = root.GetProperty("panels").EnumerateArray().ToArray();
            Assert.True(panels.Length >= 8, $"{file}: {panels.Length} panels");
            Assert.Equal(panels.Length, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
            foreach (var panel in panels)
            {
                Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
                var grid = panel.GetProperty("gridPos");
                Assert.InRange(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32(), 1, 24);
                var targets = panel.GetProperty("targets").EnumerateArray().ToArray();
                Assert.NotEmpty(targets);
                Assert.All(targets, t => Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString())));
            }
        }
    }

    [Fact]
    public void DashboardsShowWhatTheIssueAsksFor()
    {
        var expressions = MonitoringFiles.DashboardExpressions();
        bool Has(string dashboard, string fragment) => expressions.Any(e => e.Source.StartsWith(dashboard, StringComparison.Ordinal) && e.Expression.Contains(fragment, StringComparison.Ordinal));
        Assert.True(Has("scale-web.json", "http_server_request_duration_seconds_count"), "web: requests per second");
        Assert.True(Has("scale-web.json", "scale:http_error_ratio:rate1m"), "web: error ratio");
        Assert.True(Has("scale-web.json", "histogram_quantile(0.99, sum by (le, http_route)"), "web: p99 by route");
        Assert.True(Has("scale-web.json", "histogram_quantile(0.50, sum by (le, http_route)"), "web: p50 by route");
        Assert.True(Has("scale-web.json", "histogram_quantile(0.95, sum by (le, http_route)"), "web: p95 by route");
        Assert.True(Has("scale-web.json", "up{job=\"scale-web\"}"), "web: instances up");
        Assert.True(Has("scale-database.json", "pg_stat_activity_count"), "database: connections");
        Assert.True(Has("scale-database.json", "pg_stat_database_xact_commit"), "database: transactions");
        Assert.True(Has("scale-database.json", "scale:pg_replication_lag_seconds"), "database: replication lag");
        Assert.True(Has("scale-database.json", "scale:pg_is_replica"), "database: roles");
        Assert.True(Has("scale-batch.json", "scale_batch_files_total"), "batch: throughput");
        Assert.True(Has("scale-batch.json", "scale_batch_invalid_files_total"), "batch: invalid files");
        Assert.True(Has("scale-batch.json", "scale_batch_shard_files"), "batch: shard progress");
        // Only kube-state-metrics and CloudNativePG series may be marked Kubernetes-only.
        Assert.All(
            expressions.Concat(MonitoringFiles.RuleExpressions()).Where(e => e.KubernetesOnly),
            e => Assert.Matches("kube_|cnpg_", e.Expression));
    }

    [Theory]
    [InlineData("scale:http_error_ratio:rate1m > 0.05", new[] { "scale:http_error_ratio:rate1m" })]
    [InlineData("up{job=\"scale-web\"} == 0", new[] { "up{job=\"scale-web\"}" })]
    [InlineData("(time() - max by (job) (x{a=~\"b|c\"})) > 600 and on (job, instance) max by (job) (y) > 0", new[] { "(time() - max by (job) (x{a=~\"b|c\"}))", "max by (job) (y)" })]
    [InlineData("sum(rate(a[1m])) / sum(rate(b[1m]))", new[] { "sum(rate(a[1m])) / sum(rate(b[1m]))" })]
    public void DataOperands_AreTheLeftSidesOfTopLevelComparisons(string condition, string[] expected)
    {
        Assert.Equal(expected, PromQl.DataOperands(condition));
    }
}
