using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Scale.Web.Logging;
using Scale.Web.Tests.Infrastructure;

namespace Scale.Web.Tests;

/// <summary>/healthz, /readyz, /metrics in process over a real store; the real Prometheus and SIGTERM tests are in Scale.Monitoring.Tests.</summary>
[Collection(SharedSite.Name)]
public sealed class HealthAndMetricsTests(SiteFixture site)
{
    [Fact]
    public async Task Readyz_IsReady_NamingTheServerAndItsRole_AndIsNeverCached()
    {
        using var response = await site.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("primary", body.RootElement.GetProperty("role").GetString());
        Assert.Equal(site.Store.DbPath, body.RootElement.GetProperty("server").GetString());
    }

    [Fact]
    public async Task Metrics_CountRequestsByRouteTemplate_AndTimeStoreReadsByName()
    {
        var song = site.Store.Songs[0].Id;
        (await site.Client.GetAsync(new Uri($"/api/songs/{song}", UriKind.Relative))).Dispose();
        (await site.Client.GetAsync(new Uri("/api/songs/not-a-song-id", UriKind.Relative))).Dispose();
        var text = await site.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var lines = text.Split('\n');

        // The route template, not the path: one series per route whatever the ids.
        Assert.Contains(lines, l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
            && l.Contains("http_route=\"/api/songs/{id}\"", StringComparison.Ordinal) && l.Contains("http_response_status_code=\"200\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
            && l.Contains("http_route=\"/api/songs/{id}\"", StringComparison.Ordinal) && l.Contains("http_response_status_code=\"400\"", StringComparison.Ordinal));
        Assert.DoesNotContain(song, text, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("scale_db_query_duration_seconds_count{", StringComparison.Ordinal) && l.Contains("db_operation_name=\"song\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("scale_db_reads_total{", StringComparison.Ordinal) && l.Contains("db_role=\"primary\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("scale_build_info{", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("scale_catalog_songs{", StringComparison.Ordinal) && l.EndsWith(" " + site.Store.Songs.Count, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("http_server_active_requests{", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("dotnet_gc_collections_total", StringComparison.Ordinal) || l.StartsWith("dotnet_process_cpu_time_seconds_total", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DatabaseGone_PagesThatNeedIt503WithRetryAfter_ReadyzFails_HealthzAndTheCatalogueStillAnswer()
    {
        var folder = Path.Combine(Path.GetTempPath(), "scale-web-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var db = Path.Combine(folder, "scale.db");
        File.Copy(site.Store.DbPath, db);
        var app = ScaleWebApp.Build(new ScaleWebOptions
        {
            Database = db,
            Urls = null,
            ReadinessCacheDuration = TimeSpan.Zero,
            ConfigureBuilder = builder =>
            {
                builder.WebHost.UseTestServer();
                builder.Logging.SetMinimumLevel(LogLevel.Critical);
            },
        });
        try
        {
            await using (app)
            {
                await app.StartAsync();
                using var client = app.GetTestClient();
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);

                // The file goes away, and with it the pooled connections that still had it open.
                File.Move(db, db + ".moved");
                SqliteConnection.ClearAllPools();

                using var song = await client.GetAsync(new Uri($"/api/songs/{site.Store.Songs[0].Id}", UriKind.Relative));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, song.StatusCode);
                Assert.Equal("5", song.Headers.RetryAfter?.ToString());
                var problem = await song.Content.ReadAsStringAsync();
                Assert.Contains("database is not reachable", problem, StringComparison.Ordinal);
                Assert.DoesNotContain("   at ", problem, StringComparison.Ordinal);

                using var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                Assert.Contains("database unavailable", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/api/songs?pageSize=3", UriKind.Relative))).StatusCode);

                var metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
                Assert.Contains(metrics.Split('\n'), l => l.StartsWith("scale_db_errors_total{", StringComparison.Ordinal)
                    && l.Contains("error_type=\"unavailable\"", StringComparison.Ordinal) && l.Contains("db_operation_name=\"song\"", StringComparison.Ordinal));
                Assert.Contains(metrics.Split('\n'), l => l.StartsWith("scale_web_ready{", StringComparison.Ordinal) && l.EndsWith(" 0", StringComparison.Ordinal));

                // It comes back: ready again.
                File.Move(db + ".moved", db);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
                await app.StopAsync();
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void JsonLines_AreFlatObjects_WithSnakeCaseProperties_TraceIds_AndExceptions()
    {
        var formatter = new JsonLineFormatter();
        var state = new List<KeyValuePair<string, object?>>
        {
            new("Route", "/songs/{id}"),
            new("StatusCode", 503),
            new("DurationMs", 12.34567),
            new("{OriginalFormat}", "{Route} {StatusCode} in {DurationMs} ms"),
        };
        using var activity = new System.Diagnostics.Activity("request").Start();
        using var writer = new StringWriter();
        formatter.Write(
            new LogEntry<List<KeyValuePair<string, object?>>>(LogLevel.Error, "Scale.Web.Requests", new EventId(1), state, new InvalidOperationException("boom"), (_, _) => "/songs/{id} 503 in 12.3 ms"),
            null,
            writer);
        var line = writer.ToString();
        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        Assert.Single(line.Trim().Split('\n'));
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        Assert.Equal("error", root.GetProperty("level").GetString());
        Assert.Equal("Scale.Web.Requests", root.GetProperty("category").GetString());
        Assert.Equal("/songs/{id} 503 in 12.3 ms", root.GetProperty("message").GetString());
        Assert.Equal("/songs/{id}", root.GetProperty("route").GetString());
        Assert.Equal(503, root.GetProperty("status_code").GetInt32());
        Assert.Equal(12.346, root.GetProperty("duration_ms").GetDouble());
        Assert.Equal(activity.TraceId.ToHexString(), root.GetProperty("trace_id").GetString());
        Assert.Equal("System.InvalidOperationException", root.GetProperty("exception_type").GetString());
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("timestamp").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        Assert.False(root.TryGetProperty("{OriginalFormat}", out _));
    }

    [Theory]
    [InlineData("StatusCode", "status_code")]
    [InlineData("DurationMs", "duration_ms")]
    [InlineData("route", "route")]
    [InlineData("HTTPRoute", "http_route")]
    [InlineData("TraceId", "trace_id")]
    public void SnakeCase(string name, string expected) => Assert.Equal(expected, JsonLineFormatter.SnakeCase(name));
}
