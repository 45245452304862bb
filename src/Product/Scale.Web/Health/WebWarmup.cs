using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scale.Web.Catalog;
using Scale.Web.Pages;

namespace Scale.Web.Health;

/// <summary>One warm-up request: a name for the report (the route), what to send, and whether it reads the database.</summary>
internal sealed record WarmupRequest(string Name, HttpMethod Method, string Path, bool Html, bool UsesDatabase, string? JsonBody = null);

/// <summary>How one warm-up request went over all rounds: requests sent, those that failed (5xx, or no answer: status 0), the status codes seen, the slowest of the first and of the last batch.</summary>
internal sealed record WarmupRouteReport(WarmupRequest Request, int Requests, int Failures, IReadOnlyList<int> Statuses, TimeSpan First, TimeSpan Last);

/// <summary>What the warm-up did: <see cref="Outcome"/> is "done", "timed out", "disabled", "stopped", or why it could not run.</summary>
/// <remarks><see cref="JitMethods"/>: methods the JIT compiled while the warm-up ran (all tiers); <see cref="JitQuiet"/>: whether it
/// ended with the JIT quiet (see <see cref="ScaleWebOptions.WarmupUntilJitQuiet"/>), null when that was not asked.</remarks>
internal sealed record WarmupReport(string Outcome, TimeSpan Elapsed, int Rounds, IReadOnlyList<WarmupRouteReport> Routes, long JitMethods = 0, bool? JitQuiet = null)
{
    public const string Done = "done";
    public const string TimedOut = "timed out";

    public int Requests => Routes.Sum(r => r.Requests);

    public static WarmupReport NotRun(string outcome) => new(outcome, TimeSpan.Zero, 0, []);
}

/// <summary>
/// Warms the instance up before it reports ready. A fresh process answers its first requests in tens to thousands of
/// milliseconds instead of a fraction of one: the JIT compiles routing, model binding, serialisation, the page
/// writers and the store's readers on first use, and each first database read opens a pooled connection (with
/// PostgreSQL a TCP connection plus SCRAM authentication). Behind a balancer sending hundreds of requests a second,
/// that backlog is what made latency explode after every start. So once the server listens, this sends every main
/// route (pages, API, the original app's routes, static assets) through the real HTTP pipeline,
/// <see cref="ScaleWebOptions.WarmupRounds"/> times, <see cref="ScaleWebOptions.WarmupConcurrency"/> at once (which
/// also opens that many database connections), then marks <see cref="Readiness"/> warmed up. Whatever happens (a
/// database that does not answer, <see cref="ScaleWebOptions.WarmupTimeout"/> running out, an error) the instance
/// becomes ready anyway: the warm-up may make it faster, never unavailable.
/// </summary>
internal sealed partial class WebWarmup(
    Readiness readiness,
    CatalogProvider catalog,
    IServer server,
    IHostApplicationLifetime lifetime,
    IServiceProvider services,
    ScaleWebOptions options,
    ILogger<WebWarmup> logger) : BackgroundService
{
    /// <summary>A song id no song has (ids are MD5s): the 404 path, which crawlers and stale links exercise.</summary>
    private const string UnknownSongId = "00000000000000000000000000000000";

    /// <summary>
    /// A database-backed batch still unanswered after this is waiting on a database that does not answer (a frozen
    /// server, a black-holed network: the store's own timeouts then take minutes), not warming anything: it is
    /// abandoned and the routes that need the database are skipped, so the rest still warms up within the budget.
    /// A cold start's first reads (connections, SCRAM, the JIT) take well under a second.
    /// </summary>
    private static readonly TimeSpan DatabaseBatchLimit = TimeSpan.FromSeconds(10);

    /// <summary>A round (and its tier-up pause) that compiled fewer methods than this leaves the JIT quiet: what is left
    /// is background work (timers, metrics collection), not the request paths.</summary>
    internal const int QuietJitMethods = 25;

    /// <summary>Quiet rounds in a row that end the warm-up.</summary>
    private const int QuietRoundsNeeded = 2;

    /// <summary>
    /// The least pause after a round before the JIT is counted: the runtime promotes a method that reached its call
    /// count after 100 ms without new tier-0 compilations (TC_CallCountingDelayMs), then compiles it on a background
    /// thread.
    /// </summary>
    private static readonly TimeSpan TierUpPause = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// After <see cref="TierUpPause"/>, the pause goes on while the JIT still compiles (checked every
    /// <see cref="TierUpPoll"/>), up to this long. Why: on a machine with little CPU to spare the background compiler
    /// lags, and a round sent before it caught up runs unoptimised code and counts calls that tier up nothing new;
    /// that is what made warm-ups of a zone's instances booting in the lab's idle group take 35-47 rounds instead of
    /// 25-27, and run out of time.
    /// </summary>
    private static readonly TimeSpan TierUpPauseLimit = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan TierUpPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>Waits <see cref="TierUpPause"/>, then while the JIT still compiles, up to <see cref="TierUpPauseLimit"/>.</summary>
    private static async Task WaitForTierUpAsync(CancellationToken cancellationToken)
    {
        // Real time, whatever clock the options inject: the runtime's tiering runs on it.
        var started = Stopwatch.GetTimestamp();
        await Task.Delay(TierUpPause, cancellationToken).ConfigureAwait(false);
        var compiled = JitInfo.GetCompiledMethodCount();
        while (Stopwatch.GetElapsedTime(started) < TierUpPauseLimit)
        {
            await Task.Delay(TierUpPoll, cancellationToken).ConfigureAwait(false);
            var now = JitInfo.GetCompiledMethodCount();
            if (now == compiled)
            {
                return;
            }

            compiled = now;
        }
    }

    private const string BrowserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    private readonly TaskCompletionSource<WarmupReport> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the warm-up is over (readiness no longer waits for it), with what it did.</summary>
    public Task<WarmupReport> Completion => _done.Task;

    /// <summary>The requests one round sends, from the catalogue in memory (a song with similar songs, its instruments).</summary>
    internal static IReadOnlyList<WarmupRequest> Plan(CatalogSnapshot? snapshot)
    {
        var plan = new List<WarmupRequest>
        {
            Page("/", "/"),
            Page("/instruments", "/instruments"),
            Page("/runs", "/runs", usesDatabase: true),
            Asset("/static/site.css", StaticAssets.CssPath),
            Asset("/static/site.js", StaticAssets.ScriptPath),
            Api("/api/instruments", "/api/instruments"),
            Api("/api/songs", "/api/songs"),
            Api("/load_index", "/load_index"),
            Api("/test_db", "/test_db", usesDatabase: true),
            Api("/openapi/v1.json", "/openapi/v1.json"),
        };
        var songs = snapshot?.Songs;
        if (songs is null || songs.Count == 0)
        {
            return [.. plan.OrderBy(r => r.UsesDatabase)];
        }

        // A song with similar songs, so the similar-list decoding and rendering run too.
        var index = 0;
        for (var i = 0; i < songs.Count; i++)
        {
            if (songs.SimilarCountAt(i) > 0)
            {
                index = i;
                break;
            }
        }

        var id = songs.IdAt(index);
        var codes = songs.InstrumentsAt(index).ToArray();
        var first = codes.Length > 0 ? codes[0] : 0;
        var last = codes.Length > 0 ? codes[^1] : 0;
        var name = songs.NameAt(index);
        var word = Uri.EscapeDataString(name.Length > 4 ? name[..4] : name);
        plan.AddRange(
        [
            Page("/ (instruments, sorted)", Invariant($"/?instrument={first}&instrument={last}&sort=name")),
            Page("/songs/{id}", $"/songs/{id}", usesDatabase: true),
            Page("/show_similar_songs/{id}", $"/show_similar_songs/{id}", usesDatabase: true),
            Api("/api/instruments/{code}", Invariant($"/api/instruments/{first}")),
            Api("/api/songs?instrument=", Invariant($"/api/songs?instrument={first}&instrument={last}")),
            Api("/api/songs?q=&sort=", $"/api/songs?q={word}&sort=name"),
            Api("/api/songs/{id}", $"/api/songs/{id}", usesDatabase: true),
            Api("/api/songs/{id}/similar", $"/api/songs/{id}/similar", usesDatabase: true),
            Api("/api/songs/{id} (unknown: 404)", $"/api/songs/{UnknownSongId}", usesDatabase: true),
            Api("/get_songs_for_instruments (GET)", Invariant($"/get_songs_for_instruments?instruments={first}")),
            new WarmupRequest("/get_songs_for_instruments (POST)", HttpMethod.Post, "/get_songs_for_instruments", Html: false, UsesDatabase: false,
                JsonBody: Invariant($"{{\"instruments\": \"{first}\"}}")),
            Api("/get_similar_songs", $"/get_similar_songs?filename={id}", usesDatabase: true),
        ]);

        // The routes served from memory first in each round: whatever the database does, they are warm early.
        return [.. plan.OrderBy(r => r.UsesDatabase)];
    }

    /// <summary>The server's address as the warm-up reaches it: http only, wildcards as 127.0.0.1; null when it cannot.</summary>
    internal static Uri? LoopbackUri(string address)
    {
        BindingAddress binding;
        try
        {
            binding = BindingAddress.Parse(address);
        }
        catch (FormatException)
        {
            return null;
        }

        if (binding.IsUnixPipe || binding.IsNamedPipe || !string.Equals(binding.Scheme, "http", StringComparison.OrdinalIgnoreCase) || binding.Port <= 0)
        {
            return null;
        }

        // Kestrel binds the wildcards dual-stack, so IPv4 loopback reaches them.
        var host = binding.Host is "*" or "+" or "0.0.0.0" or "[::]" or "::" ? "127.0.0.1" : binding.Host;
        return new Uri(Invariant($"http://{host}:{binding.Port}/"));
    }

    private bool Disabled => options.WarmupRounds <= 0 || options.WarmupTimeout <= TimeSpan.Zero;

    /// <summary>Disabled: ready before the server listens (ExecuteAsync runs on the thread pool, possibly later).</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (Disabled)
        {
            LogDisabled();
            readiness.MarkWarmedUp(null);
            _done.TrySetResult(WarmupReport.NotRun("disabled"));
            return Task.CompletedTask;
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var report = WarmupReport.NotRun("stopped");
        try
        {
            // After the server listens: the requests go through Kestrel (or the test server) like user traffic.
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stopping.Token).ConfigureAwait(false);
            }

            report = await WarmUpAsync(stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Shutting down: readiness says "stopping" whatever the warm-up did.
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A failed warm-up must not stop the host (a background service's exception would): ready without it.
            report = WarmupReport.NotRun("failed: " + ex.Message);
            LogFailed(ex.Message);
        }
        finally
        {
            readiness.MarkWarmedUp(report.Rounds > 0 ? report.Elapsed : null);
            _done.TrySetResult(report);
        }
    }

    private async Task<WarmupReport> WarmUpAsync(CancellationToken stoppingToken)
    {
        var time = options.TimeProvider;
        var started = time.GetTimestamp();
        using var client = CreateClient(out var target);
        if (client is null)
        {
            LogNoAddress(target);
            return WarmupReport.NotRun("skipped: " + target);
        }

        var plan = Plan(catalog.Latest);
        var tallies = plan.Select(r => new Tally(r)).ToArray();
        var concurrency = Math.Max(1, options.WarmupConcurrency);
        using var budget = new CancellationTokenSource(options.WarmupTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, budget.Token);
        var outcome = WarmupReport.Done;
        var rounds = 0;
        var databaseFailed = false;
        var jitAtStart = JitInfo.GetCompiledMethodCount();
        bool? jitQuiet = options.WarmupUntilJitQuiet ? false : null;
        try
        {
            for (; rounds < options.WarmupRounds; rounds++)
            {
                databaseFailed = await RoundAsync(client, tallies, concurrency, databaseFailed, linked.Token).ConfigureAwait(false);
            }

            if (options.WarmupUntilJitQuiet)
            {
                // More rounds until the JIT has caught up: bounded by the budget, which cancels the loop.
                for (var quiet = 0; quiet < QuietRoundsNeeded; rounds++)
                {
                    var before = JitInfo.GetCompiledMethodCount();
                    databaseFailed = await RoundAsync(client, tallies, concurrency, databaseFailed, linked.Token).ConfigureAwait(false);
                    await WaitForTierUpAsync(linked.Token).ConfigureAwait(false);
                    quiet = JitInfo.GetCompiledMethodCount() - before < QuietJitMethods ? quiet + 1 : 0;
                }

                jitQuiet = true;
            }
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
        {
            outcome = WarmupReport.TimedOut;
        }

        var report = new WarmupReport(outcome, time.GetElapsedTime(started), rounds, [.. tallies.Select(t => t.Report())],
            JitInfo.GetCompiledMethodCount() - jitAtStart, jitQuiet);
        var slowest = report.Routes.Where(r => r.Requests > 0).MaxBy(r => r.First);
        if (outcome == WarmupReport.TimedOut)
        {
            LogTimedOut(options.WarmupTimeout.TotalSeconds, rounds, report.Requests, report.JitMethods);
        }
        else
        {
            var routes = report.Routes.Count(r => r.Requests > 0);
            LogDone(report.Elapsed.TotalMilliseconds, report.Requests, routes, rounds, target,
                slowest?.Request.Name ?? "-", slowest?.First.TotalMilliseconds ?? 0, slowest?.Last.TotalMilliseconds ?? 0,
                report.JitMethods, jitQuiet switch { true => "quiet", false => "still compiling", null => "not waited for" });
        }

        return report;
    }

    /// <summary>One round: every request of the plan, <paramref name="concurrency"/> at once; returns whether the database has failed.</summary>
    private async Task<bool> RoundAsync(HttpClient client, Tally[] tallies, int concurrency, bool databaseFailed, CancellationToken cancellationToken)
    {
        foreach (var tally in tallies)
        {
            // A database that does not answer costs each request its retries (seconds): once one route shows
            // it, the others that need it are skipped; what does not need it still warms up.
            if (tally.Request.UsesDatabase && databaseFailed)
            {
                continue;
            }

            var batch = tally.Request.UsesDatabase
                ? await SendDatabaseBatchAsync(client, tally.Request, concurrency, cancellationToken).ConfigureAwait(false)
                : await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => SendAsync(client, tally.Request, cancellationToken))).ConfigureAwait(false);
            tally.Add(batch);
            var failed = Array.FindIndex(batch, r => r.Status is >= 500 or NoAnswer);
            if (tally.Request.UsesDatabase && failed >= 0)
            {
                databaseFailed = true;
                var status = batch[failed].Status;
                LogDatabaseRoutesFailed(tally.Request.Path, status == NoAnswer ? Invariant($"nothing within {DatabaseBatchLimit.TotalSeconds:0} s") : Invariant($"{status}"));
            }
        }

        return databaseFailed;
    }

    /// <summary>A database-backed batch, abandoned after <see cref="DatabaseBatchLimit"/> (its requests then count as <see cref="NoAnswer"/>).</summary>
    private async Task<(int Status, TimeSpan Elapsed)[]> SendDatabaseBatchAsync(HttpClient client, WarmupRequest request, int concurrency, CancellationToken cancellationToken)
    {
        using var limit = new CancellationTokenSource(DatabaseBatchLimit, options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);
        try
        {
            return await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => SendAsync(client, request, linked.Token))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return [.. Enumerable.Repeat((NoAnswer, DatabaseBatchLimit), concurrency)];
        }
    }

    private HttpClient? CreateClient(out string target)
    {
        if (options.WarmupHandler is { } handler)
        {
            target = "the in-process server";
            return new HttpClient(handler(services), disposeHandler: true) { BaseAddress = new Uri("http://localhost/"), Timeout = Timeout.InfiniteTimeSpan };
        }

        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.Select(LoopbackUri).FirstOrDefault(uri => uri is not null);
        if (address is null)
        {
            target = addresses.Count == 0 ? "the server reports no address" : "no http:// address among " + string.Join(", ", addresses);
            return null;
        }

        target = address.ToString();
        // No proxy (HTTP_PROXY must not send loopback traffic elsewhere), no cookies, no redirects: plain requests.
        var sockets = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = Math.Max(1, options.WarmupConcurrency),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        return new HttpClient(sockets, disposeHandler: true) { BaseAddress = address, Timeout = Timeout.InfiniteTimeSpan };
    }

    private async Task<(int Status, TimeSpan Elapsed)> SendAsync(HttpClient client, WarmupRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(request.Method, new Uri(request.Path, UriKind.Relative));
        message.Headers.TryAddWithoutValidation(WarmupRequests.HeaderName, WarmupRequests.Token);
        message.Headers.Accept.ParseAdd(request.Html ? BrowserAccept : "application/json");
        if (request.JsonBody is { } body)
        {
            message.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        var started = options.TimeProvider.GetTimestamp();
        // The whole body is read, so serialisation and rendering run to the end, as for a real client.
        using var response = await client.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return ((int)response.StatusCode, options.TimeProvider.GetElapsedTime(started));
    }

    /// <summary>The status recorded for a request abandoned without an answer.</summary>
    internal const int NoAnswer = 0;

    private static WarmupRequest Page(string name, string path, bool usesDatabase = false) => new(name, HttpMethod.Get, path, Html: true, usesDatabase);

    private static WarmupRequest Api(string name, string path, bool usesDatabase = false) => new(name, HttpMethod.Get, path, Html: false, usesDatabase);

    private static WarmupRequest Asset(string name, string path) => new(name, HttpMethod.Get, path, Html: true, UsesDatabase: false);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warm-up done in {ElapsedMs:F0} ms: {Requests} requests to {Routes} routes, {Rounds} rounds, via {Target}; slowest first request {Route} {FirstMs:F1} ms, last {LastMs:F1} ms; {JitMethods} methods compiled, JIT {Jit}; ready")]
    private partial void LogDone(double elapsedMs, int requests, int routes, int rounds, string target, string route, double firstMs, double lastMs, long jitMethods, string jit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm-up ran out of its {TimeoutSeconds} s after {Rounds} full rounds ({Requests} requests, {JitMethods} methods compiled); ready anyway, the first requests may be slow")]
    private partial void LogTimedOut(double timeoutSeconds, int rounds, int requests, long jitMethods);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm-up: {Path} answered {Status}: the database does not answer, so the routes that need it are skipped; ready anyway (they answer 503 until it is back)")]
    private partial void LogDatabaseRoutesFailed(string path, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm-up skipped: {Reason}; ready without it, the first requests may be slow")]
    private partial void LogNoAddress(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm-up failed: {Reason}; ready without it, the first requests may be slow")]
    private partial void LogFailed(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warm-up disabled: ready as soon as the catalogue is loaded")]
    private partial void LogDisabled();

    /// <summary>Counts for one request of the plan, filled round after round.</summary>
    private sealed class Tally(WarmupRequest request)
    {
        private readonly SortedSet<int> _statuses = [];
        private TimeSpan? _first;
        private TimeSpan _last;
        private int _requests;
        private int _failures;

        public WarmupRequest Request { get; } = request;

        public void Add((int Status, TimeSpan Elapsed)[] batch)
        {
            var slowest = batch.Max(r => r.Elapsed);
            _first ??= slowest;
            _last = slowest;
            _requests += batch.Length;
            foreach (var (status, _) in batch)
            {
                _statuses.Add(status);
                _failures += status is >= 500 or NoAnswer ? 1 : 0;
            }
        }

        public WarmupRouteReport Report() => new(Request, _requests, _failures, [.. _statuses], _first ?? TimeSpan.Zero, _last);
    }
}
