using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Scale.Testing;

namespace Scale.Monitoring.Tests.Infrastructure;

/// <summary>One scrape job of the test Prometheus: its name and its 127.0.0.1 targets.</summary>
public sealed record ScrapeJob(string Name, IReadOnlyList<string> Targets);

/// <summary>
/// Debian's Prometheus on 127.0.0.1 with a fresh TSDB in a temporary folder, scraping and evaluating every second,
/// and a client for its HTTP API (instant and range queries, targets, alerts).
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly ServerProcess _process;
    private readonly string _folder;

    private PrometheusServer(ServerProcess process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        Url = new Uri($"http://127.0.0.1:{port}/");
        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Url { get; }

    public HttpClient Http { get; }

    public string Output => _process.Output;

    /// <summary>Writes the configuration (checked with promtool first), starts Prometheus and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyList<ScrapeJob> jobs, IReadOnlyList<string> ruleFiles)
    {
        var prometheus = await Tools.RequireAsync("prometheus", "prometheus");
        var promtool = await Tools.RequireAsync("promtool", "prometheus");
        var folder = Directory.CreateTempSubdirectory("scale-prometheus-").FullName;
        var config = Path.Join(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, Config(jobs, ruleFiles));
        var check = await Tools.RunAsync(promtool, ["check", "config", config], TimeSpan.FromSeconds(60));
        Assert.True(check.ExitCode == 0, $"promtool check config failed: {check}");

        var port = Tools.FreePort();
        var process = ServerProcess.Start("prometheus", prometheus,
        [
            $"--config.file={config}",
            $"--storage.tsdb.path={Path.Join(folder, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=warn",
        ]);
        var server = new PrometheusServer(process, folder, port);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var response = await server.Http.GetAsync(new Uri("-/ready", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"Prometheus did not become ready:\n{process.Output}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>An instant query; throws with Prometheus' message when it is not valid PromQL.</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryAsync(string expression)
    {
        var result = await GetDataAsync($"api/v1/query?query={Uri.EscapeDataString(expression)}");
        return result.GetProperty("result").EnumerateArray().ToArray();
    }

    /// <summary>A range query over [start, end] every <paramref name="step"/>: the series it returns (each with its values).</summary>
    public async Task<QueryOutcome> QueryRangeAsync(string expression, DateTimeOffset start, DateTimeOffset end, TimeSpan step)
    {
        var query = string.Create(
            CultureInfo.InvariantCulture,
            $"api/v1/query_range?query={Uri.EscapeDataString(expression)}&start={start.ToUnixTimeMilliseconds() / 1000.0}&end={end.ToUnixTimeMilliseconds() / 1000.0}&step={step.TotalSeconds}");
        using var response = await Http.GetAsync(new Uri(query, UriKind.Relative));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (body.GetProperty("status").GetString() != "success")
        {
            return new QueryOutcome(false, body.TryGetProperty("error", out var error) ? error.GetString() : body.ToString(), 0);
        }

        var series = body.GetProperty("data").GetProperty("result").EnumerateArray().Count(s => s.GetProperty("values").GetArrayLength() > 0);
        return new QueryOutcome(true, null, series);
    }

    /// <summary>Alerts now pending or firing: name → state.</summary>
    public async Task<IReadOnlyDictionary<string, string>> AlertsAsync()
    {
        var data = await GetDataAsync("api/v1/alerts");
        var alerts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var alert in data.GetProperty("alerts").EnumerateArray())
        {
            var name = alert.GetProperty("labels").GetProperty("alertname").GetString()!;
            var state = alert.GetProperty("state").GetString()!;
            // Several series of one alert: firing wins.
            if (!alerts.TryGetValue(name, out var known) || known != "firing")
            {
                alerts[name] = state;
            }
        }

        return alerts;
    }

    /// <summary>Health of every target by job: "up", "down" or "unknown".</summary>
    public async Task<IReadOnlyList<(string Job, string Instance, string Health, string Error)>> TargetsAsync()
    {
        var data = await GetDataAsync("api/v1/targets?state=active");
        return data.GetProperty("activeTargets").EnumerateArray()
            .Select(t => (
                t.GetProperty("labels").GetProperty("job").GetString()!,
                t.GetProperty("labels").GetProperty("instance").GetString()!,
                t.GetProperty("health").GetString()!,
                t.GetProperty("lastError").GetString() ?? string.Empty))
            .ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        _process.Dispose();
        await Task.Yield();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string Config(IReadOnlyList<ScrapeJob> jobs, IReadOnlyList<string> ruleFiles)
    {
        var lines = new List<string>
        {
            "global:",
            "  scrape_interval: 1s",
            "  scrape_timeout: 1s",
            "  evaluation_interval: 1s",
            "rule_files:",
        };
        lines.AddRange(ruleFiles.Select(file => $"  - '{file}'"));
        lines.Add("scrape_configs:");
        foreach (var job in jobs)
        {
            lines.Add($"  - job_name: '{job.Name}'");
            lines.Add("    static_configs:");
            lines.Add("      - targets: [" + string.Join(", ", job.Targets.Select(t => $"'{t}'")) + "]");
        }

        return string.Join('\n', lines) + "\n";
    }

    private async Task<JsonElement> GetDataAsync(string path)
    {
        using var response = await Http.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (body.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Prometheus refused {path}: {body}");
        }

        return body.GetProperty("data");
    }
}

/// <summary>A range query's outcome: valid PromQL or not (with Prometheus' error), and how many series had samples.</summary>
public sealed record QueryOutcome(bool Valid, string? Error, int SeriesWithData);
