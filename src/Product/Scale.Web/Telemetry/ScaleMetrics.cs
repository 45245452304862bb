using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Scale.Store.Telemetry;

namespace Scale.Web.Telemetry;

/// <summary>
/// Metrics for every Scale process, exported at /metrics in Prometheus text format by the OpenTelemetry SDK. Names
/// follow OpenTelemetry's semantic conventions as the exporter renders them (http.server.request.duration becomes
/// http_server_request_duration_seconds with http_route, http_request_method, http_response_status_code), so
/// stock ASP.NET Core dashboards work; Scale's own start with scale_. See docs/observability.md for the list.
/// </summary>
public static class ScaleMetrics
{
    public const string EndpointPath = "/metrics";

    /// <summary>Meters every Scale process exports: .NET's own (runtime, Npgsql's pool and commands) and the store's.</summary>
    private static readonly string[] CommonMeters = ["System.Runtime", "Npgsql", StoreMetrics.MeterName, ScaleProcessMetrics.MeterName];

    /// <summary>The web tier's meters: ASP.NET Core's request metrics, Kestrel's connections, and Scale.Web's.</summary>
    public static readonly IReadOnlyList<string> WebMeters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics", WebMetrics.MeterName];

    /// <summary>
    /// ASP.NET Core's default buckets start at 5 ms; these pages answer in 0.2-3 ms, so finer buckets below 5 ms
    /// make p50/p99 from histogram_quantile mean something. The upper ones stay ASP.NET Core's.
    /// </summary>
    private static readonly double[] RequestBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>Registers the OpenTelemetry meter provider with <paramref name="meters"/> besides the common ones, and the Prometheus exporter.</summary>
    public static IServiceCollection AddScaleMetrics(this IServiceCollection services, string role, IEnumerable<string> meters)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(meters);
        services.AddSingleton<ScaleProcessMetrics>();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("scale", serviceVersion: BuildInfo.Version)
                .AddAttributes([new KeyValuePair<string, object>("scale.role", role)]))
            .WithMetrics(metrics => metrics
                .AddMeter([.. CommonMeters, .. meters])
                .AddView("http.server.request.duration", new ExplicitBucketHistogramConfiguration { Boundaries = RequestBuckets })
                .AddPrometheusExporter(prometheus =>
                {
                    // Prometheus scrapes every 15-30 s; a short cache only spares work when several scrape at once.
                    prometheus.ScrapeResponseCacheDurationMilliseconds = 200;
                    prometheus.ScrapeEndpointPath = EndpointPath;
                }));
        return services;
    }

    /// <summary>Maps GET /metrics (and starts the process gauges).</summary>
    public static IEndpointConventionBuilder MapScaleMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Services.GetRequiredService<ScaleProcessMetrics>();
        return app.MapPrometheusScrapingEndpoint(EndpointPath);
    }
}

/// <summary>scale_build_info{version, commit, runtime} = 1, and the process start time: what every Scale process reports.</summary>
public sealed class ScaleProcessMetrics
{
    public const string MeterName = "Scale.Process";

    public ScaleProcessMetrics(IMeterFactory meterFactory, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var started = (timeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge(
            "scale.build.info",
            () => new Measurement<int>(1, new("version", BuildInfo.Version), new("commit", BuildInfo.Commit), new("runtime", BuildInfo.Runtime)),
            description: "Always 1; the labels say which build runs.");
        meter.CreateObservableGauge(
            "scale.process.start_time",
            () => started,
            unit: "s",
            description: "When this process started, in seconds since the Unix epoch.");
    }
}
