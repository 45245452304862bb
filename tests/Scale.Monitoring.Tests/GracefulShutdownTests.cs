using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Npgsql;
using Scale.Monitoring.Tests.Infrastructure;
using Scale.Testing;
using Scale.Testing.Postgres;
using Xunit.Abstractions;

namespace Scale.Monitoring.Tests;

/// <summary>
/// SIGTERM to a real <c>scale serve</c> under load, with requests held in flight by a table lock in PostgreSQL: the
/// instance reports not ready at once, keeps serving through --shutdown-delay, stops listening, lets the held
/// requests finish once the lock goes, and exits 0. No request that reached the server fails.
/// </summary>
[Collection(PostgresClusterFixture.CollectionName)]
public sealed class GracefulShutdownTests(PostgresClusterFixture postgres, ITestOutputHelper output)
{
    // Each held request holds one of the instance's pooled connections while it waits on the lock: fewer than the
    // web's pool bound (16 per host, PostgresScaleReader.DefaultMaxPoolSize), so none waits for a connection instead.
    private const int HeldRequests = 12;

    [Fact]
    public async Task Sigterm_UnderLoad_ReportsNotReady_FinishesInFlightRequests_AndFailsNone()
    {
        using var work = new TempFolder("scale-shutdown-");
        await using var database = await postgres.CreateDatabaseAsync();
        var corpus = Path.Join(work.Path, "corpus");
        Assert.Equal(0, (await ScaleProcess.RunAsync(work.Path, ["synth", "--files", "300", "--out", corpus, "--seed", "9"])).ExitCode);
        var run = await ScaleProcess.RunAsync(work.Path, ["run", "--source", corpus, "--db", database.PrimaryConnectionString]);
        Assert.True(run.ExitCode == 0, run.ToString());

        // The primary only: the lock below must be on the server the web app reads from.
        var port = Tools.FreePort();
        using var serve = ScaleProcess.Start(
            work.Path,
            ["serve", "--db", database.PrimaryConnectionString, "--urls", $"http://127.0.0.1:{port}", "--shutdown-delay", "2", "--shutdown-timeout", "20"],
            defaultSignals: true);
        var web = new Uri($"http://127.0.0.1:{port}/");
        using var probe = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { BaseAddress = web, Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.WaitUntilAsync(async () => await StatusAsync(probe, "readyz") == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "ready", serve, poll: TimeSpan.FromMilliseconds(100));
        using var songs = await probe.GetFromJsonAsync<JsonDocument>(new Uri("api/songs?pageSize=5", UriKind.Relative));
        var ids = songs!.RootElement.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToArray();

        // Steady load on keep-alive connections, from before SIGTERM until after the exit, on routes the in-memory
        // catalogue answers (the lock below holds the database routes).
        var clock = Stopwatch.StartNew();
        var sigtermAt = TimeSpan.MaxValue;
        var outcomes = new ConcurrentQueue<(TimeSpan At, string Outcome)>();
        using var stopLoad = new CancellationTokenSource();
        using var load = new HttpClient { BaseAddress = web, Timeout = TimeSpan.FromSeconds(30) };
        var loops = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stopLoad.IsCancellationRequested; i++)
            {
                var path = (i % 3) switch { 0 => "api/instruments", 1 => "api/songs?pageSize=5", _ => "healthz" };
                outcomes.Enqueue((clock.Elapsed, await OutcomeAsync(load, path)));
                await Task.Delay(5);
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(1.5));

        // Requests held in flight: the songs table locked, so their queries wait.
        await using var locker = new NpgsqlConnection(database.PrimaryConnectionString);
        await locker.OpenAsync();
        var transaction = await locker.BeginTransactionAsync();
        await using (var lockSongs = new NpgsqlCommand("LOCK TABLE songs IN ACCESS EXCLUSIVE MODE;", locker, transaction))
        {
            await lockSongs.ExecuteNonQueryAsync();
        }

        using var held = new HttpClient { BaseAddress = web, Timeout = TimeSpan.FromSeconds(60) };
        var heldRequests = Enumerable.Range(0, HeldRequests).Select(i => OutcomeAsync(held, $"songs/{ids[i % ids.Length]}")).ToArray();
        await Eventually.WaitUntilAsync(async () => await WaitingOnLockAsync(database) >= HeldRequests, TimeSpan.FromSeconds(20), $"{HeldRequests} queries waiting on the lock", poll: TimeSpan.FromMilliseconds(100));
        Assert.All(heldRequests, r => Assert.False(r.IsCompleted));
        output.WriteLine($"{await WaitingOnLockAsync(database)} queries waiting on the lock; SIGTERM");

        sigtermAt = clock.Elapsed;
        await serve.SignalAsync("TERM");
        // Not ready at once, while still accepting connections during the shutdown delay.
        await Eventually.WaitUntilAsync(async () => await StatusAsync(probe, "readyz") == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(2), "/readyz 503 after SIGTERM", poll: TimeSpan.FromMilliseconds(100));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(serve.HasExited, "the server exited with requests still in flight");
        Assert.All(heldRequests, r => Assert.False(r.IsCompleted));

        // The database answers again: the held requests finish, then the process exits.
        await transaction.CommitAsync();
        var held200 = await Task.WhenAll(heldRequests);
        var exit = await serve.WaitAsync(TimeSpan.FromSeconds(30));
        var exitedAt = clock.Elapsed;
        await stopLoad.CancelAsync();
        await Task.WhenAll(loops);

        output.WriteLine($"exit {exit.ExitCode} {(exitedAt - sigtermAt).TotalSeconds:F1} s after SIGTERM");
        var byOutcome = outcomes.GroupBy(o => (o.At > sigtermAt ? "after " : "before ") + o.Outcome).Select(g => $"{g.Key}: {g.Count()}");
        output.WriteLine(string.Join(", ", byOutcome));
        Assert.Equal(0, exit.ExitCode);
        Assert.All(held200, outcome => Assert.Equal("200", outcome));
        Assert.Contains("Shutting down: not ready from now on", exit.Stdout + exit.Stderr, StringComparison.Ordinal);
        // Under load, nothing failed: every request got 200, except connections refused once the server had stopped listening.
        var failed = outcomes.Where(o => o.Outcome != "200" && !(o.Outcome == "refused" && o.At > sigtermAt)).ToArray();
        Assert.True(failed.Length == 0, "failed: " + string.Join(", ", failed.Take(20).Select(f => $"{f.At.TotalSeconds:F2} s {f.Outcome}")));
        Assert.Contains(outcomes, o => o.At > sigtermAt + TimeSpan.FromSeconds(1) && o.Outcome == "200");
        Assert.True(outcomes.Count(o => o.At < sigtermAt && o.Outcome == "200") > 100, "too little load before SIGTERM");
    }

    private static async Task<string> OutcomeAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            await response.Content.ReadAsByteArrayAsync();
            return ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
        {
            return "refused";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    private static async Task<HttpStatusCode?> StatusAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            return response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private static async Task<long> WaitingOnLockAsync(PostgresTestDatabase database)
    {
        await using var connection = new NpgsqlConnection(database.PrimaryConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock';", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

}
