using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Scale.Monitoring.Tests.Infrastructure;
using Scale.Testing;
using Scale.Testing.Postgres;
using Xunit.Abstractions;

namespace Scale.Monitoring.Tests;

/// <summary>
/// The monitoring as it runs: a real Prometheus (Debian's) scrapes a real <c>scale serve</c> on a PostgreSQL primary
/// + replica, a batch job run with --metrics-urls, and prometheus-postgres-exporter on both servers; it evaluates
/// deploy/monitoring's rules. The test drives traffic, stops both database servers, sees the error-ratio alert fire,
/// starts them again, sees it resolve, then runs every expression of the rules and dashboards over the whole test.
/// </summary>
/// <remarks>
/// The one change to the shipped rules: every <c>for:</c> is cut to 2 s (the shipped 1-5 minutes would only make the
/// test wait); windows, thresholds and expressions are the shipped ones.
/// </remarks>
[Collection(PostgresClusterFixture.CollectionName)]
public sealed partial class PrometheusStackTests(PostgresClusterFixture postgres, ITestOutputHelper output)
{
    private static readonly TimeSpan AlertTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task RulesAndDashboards_ReturnData_AndTheErrorRatioAlertFiresWhenTheDatabaseBreaksAndResolvesWhenItHeals()
    {
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        void Log(string message) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {message}");

        using var work = new TempFolder("scale-monitoring-");
        await using var database = await postgres.CreateDatabaseAsync();
        var cluster = database.Cluster;
        var exporter = await Tools.RequireAsync("prometheus-postgres-exporter", "prometheus-postgres-exporter");
        var webPort = Tools.FreePort();
        var batchPort = Tools.FreePort();
        var exporterPorts = cluster.Servers.Select(_ => Tools.FreePort()).ToArray();

        var rules = Path.Join(work.Path, "scale.rules.yml");
        await File.WriteAllTextAsync(rules, ForDurations().Replace(await File.ReadAllTextAsync(Repository.RuleFile), "for: 2s"));
        var exporters = cluster.Servers.Select((server, i) => ServerProcess.Start(
            $"exporter {server.Name}",
            exporter,
            [$"--web.listen-address=127.0.0.1:{exporterPorts[i]}", $"--extend.query-path={Repository.ExporterQueries}"],
            new Dictionary<string, string>
            {
                ["DATA_SOURCE_NAME"] = $"host=127.0.0.1 port={server.Port} user={cluster.Username} password={cluster.Password} dbname={database.Name} sslmode=disable",
            })).ToList();
        using var stopExporters = new Disposables(exporters);
        await using var prometheus = await PrometheusServer.StartAsync(
            [
                new ScrapeJob("scale-web", [$"127.0.0.1:{webPort}"]),
                new ScrapeJob("scale-batch", [$"127.0.0.1:{batchPort}"]),
                new ScrapeJob("postgres", exporterPorts.Select(p => $"127.0.0.1:{p}").ToArray()),
            ],
            [rules]);
        Log($"prometheus on {prometheus.Url}, exporters on {string.Join(", ", exporterPorts)}");

        // The batch job, scraped while it runs; it lingers so the last scrapes see its final counts (and, on a busy
        // machine where a short run may be scraped once or twice, so every rate() has two samples).
        var corpus = Path.Join(work.Path, "corpus");
        var synth = await ScaleProcess.RunAsync(work.Path, ["synth", "--files", "1500", "--out", corpus, "--seed", "5"]);
        Assert.True(synth.ExitCode == 0, synth.ToString());
        var run = await ScaleProcess.RunAsync(
            work.Path,
            ["run", "--source", corpus, "--db", database.MultiHostConnectionString(), "--metrics-urls", $"http://127.0.0.1:{batchPort}", "--metrics-linger", "8"],
            timeout: TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"metrics on http://127.0.0.1:{batchPort}/metrics", run.Stdout, StringComparison.Ordinal);
        Log("batch job done");

        using var serve = ScaleProcess.Start(work.Path, ["serve", "--db", database.MultiHostConnectionString("prefer-standby"), "--urls", $"http://127.0.0.1:{webPort}"]);
        var web = new Uri($"http://127.0.0.1:{webPort}/");
        using var http = new HttpClient { BaseAddress = web, Timeout = TimeSpan.FromSeconds(10) };
        await Eventually.WaitUntilAsync(async () => (await ReadyzAsync(http)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "scale serve ready", serve);
        await using var traffic = await Traffic.StartAsync(web, TimeSpan.FromMilliseconds(25));
        Log("serving, traffic at 40 requests/s");

        await Eventually.WaitUntilAsync(
            async () => (await prometheus.TargetsAsync()).Where(t => t.Job != "scale-batch").All(t => t.Health == "up"),
            TimeSpan.FromSeconds(30),
            "web and exporter targets up");
        // Some steady state for the rate windows.
        await Task.Delay(TimeSpan.FromSeconds(15));
        Assert.DoesNotContain("ScaleWebHighErrorRatio", (await prometheus.AlertsAsync()).Keys);

        // Break the database: both servers stopped.
        foreach (var server in cluster.Servers.Reverse())
        {
            await cluster.StopAsync(server, PostgresStopMode.Fast);
        }

        var broken = clock.Elapsed;
        Log("database stopped");
        // Readiness does not follow the shared database (a failover must not take every instance out of rotation): /readyz
        // stays 200 and reports the database's state in its body.
        await Eventually.WaitUntilAsync(
            async () => (await ReadyzAsync(http)) is { Status: HttpStatusCode.OK, Body: var body } && DatabaseStatus(body) == "unavailable",
            TimeSpan.FromSeconds(20),
            "/readyz 200 reporting the database unavailable");
        await Eventually.WaitUntilAsync(async () => (await prometheus.AlertsAsync()).GetValueOrDefault("ScaleWebHighErrorRatio") == "firing", AlertTimeout, "ScaleWebHighErrorRatio firing");
        Log($"ScaleWebHighErrorRatio firing {(clock.Elapsed - broken).TotalSeconds:F0} s after the database stopped; traffic: {traffic}");

        // Heal it.
        await cluster.StartAsync(cluster.Primary);
        foreach (var replica in cluster.Replicas)
        {
            await cluster.StartAsync(replica);
        }

        await cluster.WaitForReplicaStreamingAsync();
        var healed = clock.Elapsed;
        Log("database started again");
        await Eventually.WaitUntilAsync(async () => (await ReadyzAsync(http)) is { Status: HttpStatusCode.OK, Body: var body } && DatabaseStatus(body) == "ok", TimeSpan.FromSeconds(30), "/readyz reporting the database ok again");
        await Eventually.WaitUntilAsync(async () => !(await prometheus.AlertsAsync()).ContainsKey("ScaleWebHighErrorRatio"), TimeSpan.FromSeconds(150), "ScaleWebHighErrorRatio resolved");
        Log($"ScaleWebHighErrorRatio resolved {(clock.Elapsed - healed).TotalSeconds:F0} s after the database came back");
        await traffic.StopAsync();
        Log($"traffic: {traffic}");
        Assert.True(traffic.Count("200") > 1000, traffic.ToString());
        Assert.True(traffic.Count("503") > 0, "the outage should have produced 503s: " + traffic);
        Assert.Equal(0, traffic.Count("500"));

        // Every expression, over the whole test: valid everywhere, and with data unless marked Kubernetes-only.
        var end = DateTimeOffset.UtcNow;
        var failures = new List<string>();
        var checkedCount = 0;
        foreach (var expression in MonitoringFiles.RuleExpressions().Concat(MonitoringFiles.DashboardExpressions()))
        {
            var operands = expression.Alert is null ? [expression.Expression] : PromQl.DataOperands(expression.Expression);
            var whole = await prometheus.QueryRangeAsync(expression.Expression, started, end, TimeSpan.FromSeconds(1));
            if (!whole.Valid)
            {
                failures.Add($"{expression}: invalid: {whole.Error}\n    {expression.Expression}");
                continue;
            }

            if (expression.KubernetesOnly)
            {
                continue;
            }

            foreach (var operand in operands)
            {
                checkedCount++;
                var outcome = await prometheus.QueryRangeAsync(operand, started, end, TimeSpan.FromSeconds(1));
                if (!outcome.Valid || outcome.SeriesWithData == 0)
                {
                    failures.Add($"{expression}: no data for {operand} {outcome.Error}");
                }
            }
        }

        Log($"{checkedCount} expressions checked for data");
        Assert.True(failures.Count == 0, string.Join('\n', failures) + "\n--- prometheus ---\n" + prometheus.Output);

        // The recording rules were evaluated: their series exist in the TSDB.
        foreach (var record in new[] { "scale:http_error_ratio:rate1m", "scale:pg_primaries", "scale:pg_replication_lag_seconds" })
        {
            Assert.NotEmpty(await prometheus.QueryAsync($"max_over_time({record}[10m])"));
        }

        Assert.NotEmpty(await prometheus.QueryAsync("max(scale_db_reads_total{db_role=\"replica\"})"));
    }

    /// <summary>The database's state in a /readyz body, or null when the body is not the readiness JSON.</summary>
    private static string? DatabaseStatus(string body)
    {
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("database", out var database) && database.TryGetProperty("status", out var status) ? status.GetString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static async Task<(HttpStatusCode Status, string Body)> ReadyzAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync(new Uri("readyz", UriKind.Relative));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return (0, ex.Message);
        }
    }

    [GeneratedRegex(@"for: \d+[smh]")]
    private static partial Regex ForDurations();
}
