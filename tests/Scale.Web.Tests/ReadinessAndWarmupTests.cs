using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Scale.Store;
using Scale.Web.Catalog;
using Scale.Web.Health;
using Scale.Web.Tests.Infrastructure;
using static Scale.Web.Tests.HealthAndMetricsTests;

namespace Scale.Web.Tests;

/// <summary>
/// Readiness = not stopping, catalogue loaded, warmed up: /readyz is 503 "warming up" until the warm-up has sent every
/// main route through the pipeline, then 200; a warm-up that runs out of time or meets a database outage never leaves
/// the instance unready; warm-up requests stay out of the request metrics and the request log. Each test hosts its
/// own app (in the test server) over the shared fixture's store; no timing is asserted.
/// </summary>
[Collection(SharedSite.Name)]
public sealed class ReadinessAndWarmupTests(SiteFixture site)
{
    private static readonly Uri Readyz = new("/readyz", UriKind.Relative);
    private static readonly Uri Metrics = new("/metrics", UriKind.Relative);

    [Fact]
    public async Task WarmingUp_Readyz503_ThenEveryMainRouteRequested_ThenReady_WarmupLeftOutOfMetricsAndRequestLog()
    {
        using var gate = new WarmupGate();
        var logs = new CapturedLogs();
        var app = ScaleWebApp.Build(TestApps.Options(site.Store.DbPath, gate, LogLevel.Information, logs) with
        {
            WarmupRounds = 3,
            // Rounds are counted here: a fixed number of them.
            WarmupUntilJitQuiet = false,
            WarmupConcurrency = 2,
            RequestLog = Logging.RequestLogMode.All,
        });
        await using (app)
        {
            await app.StartAsync();
            using var client = app.GetTestClient();
            await gate.FirstRequest.WaitAsync(TimeSpan.FromSeconds(30));

            // Listening, catalogue loaded, warm-up under way: not ready yet, and the balancer is told when to ask again.
            using (var cold = await client.GetAsync(Readyz))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, cold.StatusCode);
                Assert.Equal("5", cold.Headers.RetryAfter?.ToString());
            }

            var (_, body) = await ReadyzAsync(client);
            Assert.Equal("warming up", body.GetProperty("status").GetString());
            Assert.Equal("ok", body.GetProperty("database").GetProperty("status").GetString());
            // (What scale_web_ready reads; not scraped here: the exporter caches a scrape for 200 ms, the warm-up is faster.)
            Assert.False(app.Services.GetRequiredService<Readiness>().Evaluate().Ready);

            gate.Open();
            var report = await TestApps.WarmupOf(app).Completion.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(WarmupReport.Done, report.Outcome);
            Assert.Equal(3, report.Rounds);

            // Every request of the plan went out rounds x concurrency times, marked, and none failed.
            var plan = WebWarmup.Plan(app.Services.GetRequiredService<CatalogProvider>().Latest);
            var sent = gate.Requests.ToArray();
            Assert.All(sent, r => Assert.Equal([WarmupRequests.Token], r.Marks));
            foreach (var request in plan)
            {
                Assert.Equal(6, sent.Count(r => r.Method == request.Method.Method && r.PathAndQuery == request.Path));
                var route = Assert.Single(report.Routes, r => r.Request == request);
                Assert.Equal(6, route.Requests);
                Assert.Equal(0, route.Failures);
                Assert.Equal([request.Path.Contains("00000000000000000000000000000000", StringComparison.Ordinal) ? 404 : 200], route.Statuses);
            }

            // The main routes, the song's routes and the original app's are all in the plan.
            var song = plan.Single(r => r.Name == "/api/songs/{id}").Path["/api/songs/".Length..];
            Assert.True(site.Store.Similar.ContainsKey(song), "the warm-up song should have similar songs");
            string[] expected =
            [
                "GET /", "GET /instruments", "GET /runs", "GET /api/instruments", $"GET /api/songs/{song}", $"GET /api/songs/{song}/similar",
                $"GET /songs/{song}", $"GET /show_similar_songs/{song}", "GET /test_db", "GET /load_index", "POST /get_songs_for_instruments",
                $"GET /get_similar_songs?filename={song}", "GET /openapi/v1.json",
            ];
            Assert.All(expected, e => Assert.Contains(plan, r => $"{r.Method.Method} {r.Path}" == e));
            Assert.Contains(plan, r => r.Path.StartsWith("/api/songs?instrument=", StringComparison.Ordinal));
            Assert.Contains(plan, r => r.Path.StartsWith("/?instrument=", StringComparison.Ordinal));

            (var status, body) = await ReadyzAsync(client);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("ready", body.GetProperty("status").GetString());

            // Hundreds of warm-up requests, yet the request histogram holds only this test's own /readyz and /metrics;
            // the store's reads (the warm-up's included) are counted.
            var metrics = (await client.GetStringAsync(Metrics)).Split('\n');
            var routes = metrics.Where(l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)).ToArray();
            Assert.NotEmpty(routes);
            Assert.All(routes, l => Assert.True(l.Contains("http_route=\"/readyz\"", StringComparison.Ordinal) || l.Contains("http_route=\"/metrics\"", StringComparison.Ordinal), l));
            Assert.Contains(metrics, l => l.StartsWith("scale_db_query_duration_seconds_count{", StringComparison.Ordinal) && l.Contains("db_operation_name=\"similar\"", StringComparison.Ordinal));
            Assert.Contains(metrics, l => l.StartsWith("scale_web_ready{", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
            Assert.Contains(metrics, l => l.StartsWith("scale_web_warmup_duration_seconds{", StringComparison.Ordinal));
            Assert.Contains(metrics, l => l.StartsWith("scale_web_database_up{", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));

            // The request log (all requests, here) has this test's requests and none of the warm-up's.
            var requestLines = logs.Entries.Where(e => e.Category == "Scale.Web.Requests").Select(e => e.Message).ToArray();
            Assert.NotEmpty(requestLines);
            Assert.All(requestLines, m => Assert.True(m.Contains("/readyz", StringComparison.Ordinal) || m.Contains("/metrics", StringComparison.Ordinal), m));
            Assert.Contains(logs.Entries, e => e.Category == typeof(WebWarmup).FullName && e.Message.StartsWith("Warm-up done", StringComparison.Ordinal));

            // /readyz's 503 while warming up is its answer, not an error: logged (all requests, here), but not as one.
            Assert.Contains(logs.Entries, e => e.Category == "Scale.Web.Requests" && e.Message.StartsWith("GET /readyz 503", StringComparison.Ordinal) && e.Level == LogLevel.Information);
            Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task WarmupRunsOutOfTime_ReadyAnyway_WithAWarning()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var gate = new WarmupGate(); // never opened: the first warm-up request hangs
        var logs = new CapturedLogs();
        var app = ScaleWebApp.Build(TestApps.Options(site.Store.DbPath, gate, LogLevel.Information, logs) with
        {
            TimeProvider = time,
            WarmupTimeout = TimeSpan.FromSeconds(30),
        });
        await using (app)
        {
            await app.StartAsync();
            using var client = app.GetTestClient();
            await gate.FirstRequest.WaitAsync(TimeSpan.FromSeconds(30));
            var (status, body) = await ReadyzAsync(client);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Equal("warming up", body.GetProperty("status").GetString());

            time.Advance(TimeSpan.FromSeconds(29));
            Assert.False(TestApps.WarmupOf(app).Completion.IsCompleted);
            time.Advance(TimeSpan.FromSeconds(2));
            var report = await TestApps.WarmupOf(app).Completion.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(WarmupReport.TimedOut, report.Outcome);
            Assert.Equal(0, report.Rounds);

            (status, body) = await ReadyzAsync(client);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("ready", body.GetProperty("status").GetString());
            Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Warm-up ran out of its 30 s", StringComparison.Ordinal));
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task WarmupUntilJitQuiet_MoreRoundsAfterTheFixedOnes_UntilTheJitCompilesAlmostNothing_ThenReady()
    {
        var logs = new CapturedLogs();
        var app = ScaleWebApp.Build(TestApps.Options(site.Store.DbPath, logs: logs, minimumLevel: LogLevel.Information) with
        {
            WarmupRounds = 1,
            WarmupConcurrency = 2,
            WarmupTimeout = TimeSpan.FromSeconds(60),
        });
        await using (app)
        {
            await app.StartAsync();
            using var client = app.GetTestClient();
            var report = await TestApps.WarmupOf(app).Completion.WaitAsync(TimeSpan.FromSeconds(90));

            Assert.Equal(WarmupReport.Done, report.Outcome);
            Assert.True(report.JitQuiet);
            // The fixed round, then at least the two quiet ones that end it.
            Assert.True(report.Rounds >= 3, $"{report.Rounds} rounds");
            Assert.True(report.JitMethods > 0, $"{report.JitMethods} methods compiled");
            Assert.Contains(logs.Entries, e => e.Message.Contains("JIT quiet; ready", StringComparison.Ordinal));
            var (status, body) = await ReadyzAsync(client);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("ready", body.GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task DatabaseDownDuringWarmup_ItsRoutesSkippedAfterTheFirstFailure_ReadyAnyway_UserRequestsStill503()
    {
        using var gate = new WarmupGate();
        var logs = new CapturedLogs();
        var reader = new SwitchableReader(ScaleStoreFactory.CreateReader(site.Store.DbPath));
        var app = ScaleWebApp.Build(TestApps.Options(site.Store.DbPath, gate, LogLevel.Information, logs) with
        {
            ReaderFactory = () => reader,
            WarmupRounds = 3,
            // Rounds are counted here: a fixed number of them.
            WarmupUntilJitQuiet = false,
            WarmupConcurrency = 2,
        });
        await using (app)
        {
            await app.StartAsync();
            using var client = app.GetTestClient();
            await gate.FirstRequest.WaitAsync(TimeSpan.FromSeconds(30));
            reader.Down = true; // the catalogue is loaded; the database goes away before the warm-up's first request
            gate.Open();
            var report = await TestApps.WarmupOf(app).Completion.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(WarmupReport.Done, report.Outcome);
            Assert.Equal(3, report.Rounds);

            var database = report.Routes.Where(r => r.Request.UsesDatabase).ToArray();
            Assert.True(database.Length >= 5);
            var failed = database[0];
            Assert.Equal(2, failed.Requests);
            Assert.Equal(2, failed.Failures);
            Assert.Equal([503], failed.Statuses);
            Assert.All(database.Skip(1), r => Assert.Equal(0, r.Requests));
            Assert.All(report.Routes.Where(r => !r.Request.UsesDatabase), r =>
            {
                Assert.Equal(6, r.Requests);
                Assert.Equal(0, r.Failures);
            });
            Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("the database does not answer", StringComparison.Ordinal));

            // The warm-up's 503s are not logged as errors by the exception handler; a user's is.
            Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
            var (status, body) = await ReadyzUntilAsync(client, b => b.GetProperty("database").GetProperty("status").GetString() == "unavailable");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("ready", body.GetProperty("status").GetString());
            Assert.Contains("switched off by the test", body.GetProperty("database").GetProperty("detail").GetString(), StringComparison.Ordinal);

            using var song = await client.GetAsync(new Uri($"/api/songs/{site.Store.Songs[0].Id}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, song.StatusCode);
            Assert.Equal("5", song.Headers.RetryAfter?.ToString());
            Assert.Equal("application/problem+json", song.Content.Headers.ContentType?.MediaType);
            Assert.Contains(logs.Entries, e => e.Level >= LogLevel.Error);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/api/songs?pageSize=3", UriKind.Relative))).StatusCode);
            reader.Down = false;
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task DatabaseHangsDuringWarmup_ItsBatchAbandoned_TheRestWarmsUp_ReadyWithinTheBudget()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logs = new CapturedLogs();
        var reader = new SwitchableReader(ScaleStoreFactory.CreateReader(site.Store.DbPath)) { HangQueries = true };
        var app = ScaleWebApp.Build(TestApps.Options(site.Store.DbPath, logs: logs, minimumLevel: LogLevel.Information) with
        {
            TimeProvider = time,
            ReaderFactory = () => reader,
            WarmupRounds = 3,
            // Rounds are counted here: a fixed number of them.
            WarmupUntilJitQuiet = false,
            WarmupConcurrency = 2,
        });
        await using (app)
        {
            await app.StartAsync();
            using var client = app.GetTestClient();

            // The routes served from memory come first; then the first database-backed one hangs until the warm-up gives up on it.
            await reader.QueryHung.WaitAsync(TimeSpan.FromSeconds(30));
            var warmup = TestApps.WarmupOf(app).Completion;
            Assert.False(warmup.IsCompleted);

            // A second at a time (the batch's clock may start a little after the first hung query, which can be the
            // metrics' own poll of the runs), well inside the 30 s budget.
            for (var advanced = 0; !warmup.IsCompleted && advanced < 25; advanced++)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await Task.WhenAny(warmup, Task.Delay(100));
            }

            var report = await warmup.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(WarmupReport.Done, report.Outcome);
            Assert.Equal(3, report.Rounds);

            var database = report.Routes.Where(r => r.Request.UsesDatabase).ToArray();
            Assert.Equal([WebWarmup.NoAnswer], database[0].Statuses);
            Assert.Equal(2, database[0].Failures);
            Assert.All(database.Skip(1), r => Assert.Equal(0, r.Requests));
            Assert.All(report.Routes.Where(r => !r.Request.UsesDatabase), r => Assert.Equal(6, r.Requests));
            Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("nothing within 10 s", StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.OK, (await ReadyzAsync(client)).Status);
            reader.HangQueries = false;
            await app.StopAsync();
        }
    }

    /// <summary>Npgsql facing a frozen server may ignore a ping's cancellation for minutes: readiness must not wait for it, nor stack pings behind it.</summary>
    [Fact]
    public async Task PingThatNeverAnswers_DatabaseUnavailableAfterTheTimeout_ReadyzStill200_NoPingsPileUp()
    {
        var reader = new SwitchableReader(ScaleStoreFactory.CreateReader(site.Store.DbPath));
        var app = ScaleWebApp.Build(TestApps.Options(site.Store.DbPath, minimumLevel: LogLevel.Critical) with
        {
            ReaderFactory = () => reader,
            ReadinessTimeout = TimeSpan.FromMilliseconds(200),
            ReadinessCacheDuration = TimeSpan.Zero,
            WarmupRounds = 0,
        });
        await using (app)
        {
            await app.StartAsync();
            using var client = app.GetTestClient();
            Assert.Equal("ok", (await ReadyzAsync(client)).Body.GetProperty("database").GetProperty("status").GetString());

            reader.HangPings = true;
            var before = reader.PingCalls;
            var (status, body) = await ReadyzUntilAsync(client, b => b.GetProperty("database").GetProperty("status").GetString() == "unavailable");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("unavailable", body.GetProperty("database").GetProperty("status").GetString());
            Assert.Contains("within 0.2 s", body.GetProperty("database").GetProperty("detail").GetString(), StringComparison.Ordinal);
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await ReadyzAsync(client)).Status);
            }

            Assert.Equal(before + 1, reader.PingCalls);

            // The frozen server thaws: the pending ping returns, and the next check finds the database.
            reader.HangPings = false;
            reader.ReleasePings();
            (status, _) = await ReadyzUntilAsync(client, b => b.GetProperty("database").GetProperty("status").GetString() == "ok");
            Assert.Equal(HttpStatusCode.OK, status);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Stopping_Readyz503_ForTheWholeShutdownDelay()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var app = ScaleWebApp.Build(TestApps.Options(site.Store.DbPath) with { TimeProvider = time, ShutdownDelay = TimeSpan.FromSeconds(5), WarmupRounds = 1 });
        await using (app)
        {
            await app.StartAsync();
            await TestApps.WarmupOf(app).Completion.WaitAsync(TimeSpan.FromSeconds(60));
            using var client = app.GetTestClient();
            Assert.Equal(HttpStatusCode.OK, (await ReadyzAsync(client)).Status);

            var stopping = app.StopAsync();
            var (status, body) = await ReadyzUntilAsync(client, b => b.GetProperty("status").GetString() == "stopping");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Equal("stopping", body.GetProperty("status").GetString());
            Assert.False(stopping.IsCompleted);

            // Still serving (and still not ready) during the delay; then the host stops.
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/api/instruments", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await ReadyzAsync(client)).Status);
            time.Advance(TimeSpan.FromSeconds(6));
            await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task WarmupDisabled_ReadyOnceTheCatalogueIsLoaded()
    {
        var app = ScaleWebApp.Build(TestApps.Options(site.Store.DbPath) with { WarmupRounds = 0 });
        await using (app)
        {
            await app.StartAsync();
            Assert.True(TestApps.WarmupOf(app).Completion.IsCompleted);
            Assert.Equal("disabled", (await TestApps.WarmupOf(app).Completion).Outcome);
            using var client = app.GetTestClient();
            Assert.Equal(HttpStatusCode.OK, (await ReadyzAsync(client)).Status);
            await app.StopAsync();
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://[::]:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://+:80", "http://127.0.0.1/")]
    [InlineData("http://*:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://localhost:5000", "http://localhost:5000/")]
    [InlineData("http://[::1]:5000", "http://[::1]:5000/")]
    [InlineData("https://127.0.0.1:8443", null)]
    [InlineData("http://unix:/tmp/scale.sock", null)]
    [InlineData("not an address", null)]
    public void WarmupReachesTheServerOnLoopback(string address, string? expected) =>
        Assert.Equal(expected, WebWarmup.LoopbackUri(address)?.ToString());
}
