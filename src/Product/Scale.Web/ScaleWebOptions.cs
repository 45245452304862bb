using Microsoft.AspNetCore.Builder;
using Scale.Store;

namespace Scale.Web;

/// <summary>Settings of the web app (<see cref="ScaleWebApp.Build"/>).</summary>
public sealed record ScaleWebOptions
{
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>The store: a SQLite file path or connection string (see <see cref="ScaleStoreFactory.CreateReader"/>).</summary>
    public string Database { get; init; } = "scale.db";

    /// <summary>Where Kestrel listens, ";"-separated; null leaves it to configuration (ASPNETCORE_URLS).</summary>
    public string? Urls { get; init; } = DefaultUrls;

    /// <summary>How often the store's data version is polled; a new version reloads the catalogue in the background.</summary>
    public TimeSpan CatalogRefreshInterval { get; init; } = TimeSpan.FromSeconds(10);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Makes the reader; null means <see cref="ScaleStoreFactory.CreateReader"/> on <see cref="Database"/>.</summary>
    public Func<IScaleReader>? ReaderFactory { get; init; }

    /// <summary>Last word on the builder before it builds (tests swap Kestrel for the in-memory test server here).</summary>
    public Action<WebApplicationBuilder>? ConfigureBuilder { get; init; }

    /// <summary>Production unless told otherwise: error responses never carry exception details.</summary>
    public string EnvironmentName { get; init; } = "Production";

    /// <summary>
    /// After SIGTERM, how long the app keeps serving while /readyz already says not ready, so load balancers stop
    /// sending it requests before it stops listening. 0 by default; behind a balancer that probes /readyz, set it to
    /// a few probe intervals (on Kubernetes a preStop sleep does the same job).
    /// </summary>
    public TimeSpan ShutdownDelay { get; init; } = TimeSpan.Zero;

    /// <summary>After <see cref="ShutdownDelay"/>, how long in-flight requests get to finish before their connections are closed.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a database check (a ping) may take before it counts as unavailable. With
    /// <see cref="ReadinessRequiresDatabase"/>, /readyz waits for it; otherwise /readyz waits at most a quarter of a
    /// second and reports the last known state, so a hung database never makes a load balancer's probe time out.
    /// </summary>
    public TimeSpan ReadinessTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// False (the default): /readyz reports the database's state in its body and metrics but stays 200 while it is
    /// down, because every instance shares the database: following it would take all of them out of the load balancer
    /// at once during a failover, although the catalogue pages still answer from memory. True restores the old
    /// behaviour (503 "database unavailable"), for deployments that would rather fail over to another site.
    /// </summary>
    public bool ReadinessRequiresDatabase { get; init; }

    /// <summary>
    /// The longest the warm-up may take (see <see cref="WarmupRounds"/>); when it runs out the instance reports ready
    /// anyway and logs a warning: a slow start must never keep an instance out of service. Zero disables the warm-up.
    /// </summary>
    public TimeSpan WarmupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many times the warm-up requests every main route through the HTTP pipeline before /readyz says ready (each
    /// time <see cref="WarmupConcurrency"/> requests at once). Zero disables the warm-up.
    /// </summary>
    public int WarmupRounds { get; init; } = 10;

    /// <summary>
    /// After <see cref="WarmupRounds"/>, keep sending rounds (within <see cref="WarmupTimeout"/>) until the JIT is
    /// quiet: two rounds in a row, each followed by a pause for background tier-up, compiled fewer than
    /// <see cref="Health.WebWarmup.QuietJitMethods"/> methods. Why: a fixed number of rounds leaves the hot methods
    /// half-way up the tiers (tier 0, then instrumented, then optimised, each after 30 calls), and the last
    /// compilations then happen under the first real load, in every instance at once. Measured on the 2-core lab with
    /// 10 fixed rounds: each of the 6 instances compiled 2,000-3,500 more methods in its first 30 s of load, and the
    /// load saw p99 240-540 ms for 7 s (steady state: under 10 ms).
    /// </summary>
    public bool WarmupUntilJitQuiet { get; init; } = true;

    /// <summary>
    /// Warm-up requests sent at once per route: as many connections are opened in the database pool (and to Kestrel),
    /// so the first real requests do not each pay a connection handshake (SCRAM authentication with PostgreSQL).
    /// </summary>
    public int WarmupConcurrency { get; init; } = 4;

    /// <summary>
    /// How warm-up requests reach the server; null means plain HTTP to the first http:// address Kestrel listens on
    /// (wildcards become 127.0.0.1). Tests hosted in the in-memory test server pass its handler here.
    /// </summary>
    public Func<IServiceProvider, HttpMessageHandler>? WarmupHandler { get; init; }

    /// <summary>Readiness probes within this time of the last check share its answer (one query per period however many probe).</summary>
    public TimeSpan ReadinessCacheDuration { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the batch runs recorded in the store are read for the scale_batch_* gauges.</summary>
    public TimeSpan RunStatusInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Console log format: text on a terminal, JSON lines otherwise, unless told.</summary>
    public Logging.LogFormat LogFormat { get; init; } = Logging.LogFormat.Auto;

    /// <summary>Which completed requests are logged.</summary>
    public Logging.RequestLogMode RequestLog { get; init; } = Logging.RequestLogMode.Errors;

    /// <summary>Requests slower than this are logged as warnings (unless <see cref="RequestLog"/> is none).</summary>
    public TimeSpan SlowRequestThreshold { get; init; } = TimeSpan.FromSeconds(1);
}
