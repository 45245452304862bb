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
        var database = body.RootElement.GetProperty("database");
        Assert.Equal("ok", database.GetProperty("status").GetString());
        Assert.Equal("primary", database.GetProperty("role").GetString());
        Assert.Equal(site.Store.DbPath, database.GetProperty("server").GetString());
        Assert.True(database.GetProperty("checkedAt").TryGetDateTimeOffset(out _));
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

    /// <summary>
    /// The database is shared by every instance: by default readiness reports it but does not follow it (or a failover
    /// would empty the load balancer); with the opt-in it does, as before. Either way the requests that need it answer
    /// 503 with Retry-After, and the catalogue pages keep answering.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DatabaseGone_PagesThatNeedIt503WithRetryAfter_ReadyzReportsIt_AndFollowsItOnlyWhenAskedTo(bool readinessRequiresDatabase)
    {
        using var copy = TestApps.CopyStore(site.Store);
        var db = copy.DbPath;
        var app = ScaleWebApp.Build(TestApps.Options(db, minimumLevel: LogLevel.Critical) with
        {
            ReadinessCacheDuration = TimeSpan.Zero,
            ReadinessRequiresDatabase = readinessRequiresDatabase,
            WarmupRounds = 1,
        });
        await using (app)
        {
            await app.StartAsync();
            await TestApps.WarmupOf(app).Completion;
            using var client = app.GetTestClient();
            var (status, body) = await ReadyzAsync(client);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("ok", body.GetProperty("database").GetProperty("status").GetString());

            // The file goes away, and with it the pooled connections that still had it open.
            File.Move(db, db + ".moved");
            SqliteConnection.ClearAllPools();

            using var song = await client.GetAsync(new Uri($"/api/songs/{site.Store.Songs[0].Id}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, song.StatusCode);
            Assert.Equal("5", song.Headers.RetryAfter?.ToString());
            Assert.Equal("application/problem+json", song.Content.Headers.ContentType?.MediaType);
            var problem = await song.Content.ReadAsStringAsync();
            Assert.Contains("database is not reachable", problem, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", problem, StringComparison.Ordinal);

            // /readyz waits for a database check only briefly (it must answer a probe fast even when the database
            // hangs), so the check that sees the outage may land on a later probe.
            (status, body) = await ReadyzUntilAsync(client, b => b.GetProperty("database").GetProperty("status").GetString() == "unavailable");
            Assert.False(string.IsNullOrEmpty(body.GetProperty("database").GetProperty("detail").GetString()));
            if (readinessRequiresDatabase)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
                Assert.Equal("database unavailable", body.GetProperty("status").GetString());
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.Equal("ready", body.GetProperty("status").GetString());
            }

            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/api/songs?pageSize=3", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/", UriKind.Relative))).StatusCode);

            var metrics = (await client.GetStringAsync(new Uri("/metrics", UriKind.Relative))).Split('\n');
            Assert.Contains(metrics, l => l.StartsWith("scale_db_errors_total{", StringComparison.Ordinal)
                && l.Contains("error_type=\"unavailable\"", StringComparison.Ordinal) && l.Contains("db_operation_name=\"song\"", StringComparison.Ordinal));
            Assert.Contains(metrics, l => l.StartsWith("scale_web_ready{", StringComparison.Ordinal) && l.EndsWith(readinessRequiresDatabase ? " 0" : " 1", StringComparison.Ordinal));
            Assert.Contains(metrics, l => l.StartsWith("scale_web_database_up{", StringComparison.Ordinal) && l.EndsWith(" 0", StringComparison.Ordinal));

            // It comes back: ready, database ok.
            File.Move(db + ".moved", db);
            (status, _) = await ReadyzUntilAsync(client, b => b.GetProperty("database").GetProperty("status").GetString() == "ok");
            Assert.Equal(HttpStatusCode.OK, status);
            await app.StopAsync();
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

    internal static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyzAsync(HttpClient client)
    {
        using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.Clone());
    }

    /// <summary>/readyz until its body satisfies <paramref name="until"/> (10 s at most, then the last answer).</summary>
    internal static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyzUntilAsync(HttpClient client, Func<JsonElement, bool> until)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var answer = await ReadyzAsync(client);
            if (until(answer.Body) || DateTime.UtcNow > deadline)
            {
                return answer;
            }

            await Task.Delay(50);
        }
    }
}
