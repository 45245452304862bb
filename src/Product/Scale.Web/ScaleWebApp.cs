using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scale.Store;
using Scale.Web.Api;
using Scale.Web.Catalog;
using Scale.Web.Health;
using Scale.Web.Http;
using Scale.Web.Legacy;
using Scale.Web.Logging;
using Scale.Web.Pages;
using Scale.Web.Telemetry;

namespace Scale.Web;

/// <summary>
/// Builds the web app: pages, the JSON API (+ OpenAPI document), the original app's routes, /healthz, /readyz and
/// /metrics, over one <see cref="IScaleReader"/> and the in-memory <see cref="SongCatalog"/>. The caller starts it (scale serve) or
/// hosts it in a test server.
/// </summary>
public static class ScaleWebApp
{
    /// <summary>Request bodies are tiny here (the original's {"instruments": "73"}); anything large is refused early.</summary>
    private const long MaxRequestBodyBytes = 64 * 1024;

    private const string OpenApiCachePolicy = "openapi";

    public static WebApplication Build(ScaleWebOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            EnvironmentName = options.EnvironmentName,
            ApplicationName = typeof(ScaleWebApp).Assembly.GetName().Name,
        });
        if (options.Urls is not null)
        {
            builder.WebHost.UseUrls(options.Urls);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
        });

        // A line per request would cost more than the request at 500 requests/s; warnings and errors still show,
        // and Scale.Web.Requests logs what matters (RequestLogging).
        builder.Logging.AddScaleConsole(options.LogFormat);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownDelay + options.ShutdownTimeout);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(_ => options.ReaderFactory?.Invoke() ?? ScaleStoreFactory.CreateReader(options.Database));
        services.AddSingleton<CatalogProvider>();
        services.AddHostedService(provider => provider.GetRequiredService<CatalogProvider>());
        services.AddSingleton<Readiness>();
        services.AddHostedService<GracefulShutdown>();
        services.AddSingleton<WebWarmup>();
        services.AddHostedService(provider => provider.GetRequiredService<WebWarmup>());
        services.AddScaleMetrics("web", ScaleMetrics.WebMeters);
        services.AddSingleton<WebMetrics>();
        services.AddHostedService(provider => provider.GetRequiredService<WebMetrics>());
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ScaleJsonContext.Default));
        services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Scale";
            document.Info.Description =
                "Songs of the Lakh MIDI dataset by the General MIDI instruments they play, and their similar songs " +
                "(Jaccard index of instrument sets). Errors are RFC 7807 problem details.";
            return Task.CompletedTask;
        }));
        // The OpenAPI document depends only on the code, and building it costs milliseconds: build it once.
        services.AddOutputCache(cache => cache.AddPolicy(OpenApiCachePolicy, policy => policy.Expire(TimeSpan.FromDays(365))));
        options.ConfigureBuilder?.Invoke(builder);

        var app = builder.Build();
        // First: the warm-up's own requests are marked before anything measures or logs them.
        app.UseWarmupMarker();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = ErrorResponses.WriteExceptionAsync,
            StatusCodeSelector = ErrorResponses.StatusCodeOf,
            // A warm-up request that meets a database outage is expected, and the warm-up reports it once.
            SuppressDiagnosticsCallback = context => WarmupRequests.IsWarmup(context.HttpContext),
        });
        app.UseScaleRequestLogging(options);
        app.Use(AnswerHeadAsGetAsync);
        // Explicit, so routing sees HEAD already turned into GET.
        app.UseRouting();
        app.UseScaleSecurityHeaders();
        app.UseStatusCodePages(ErrorResponses.WriteStatusPageAsync);
        app.UseOutputCache();

        app.MapOpenApi().CacheOutput(OpenApiCachePolicy);
        app.MapHealthEndpoints();
        app.MapScaleMetrics().ExcludeFromDescription();
        app.MapStaticAssets();
        app.MapScalePages();
        app.MapScaleApi();
        app.MapLegacyRoutes();
        return app;
    }

    /// <summary>
    /// HEAD gets GET's status and headers without the body (monitors and link checkers use it; Flask answered it
    /// too), for every GET route, without mapping each twice.
    /// </summary>
    private static async Task AnswerHeadAsGetAsync(HttpContext context, RequestDelegate next)
    {
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        context.Request.Method = HttpMethods.Get;
        var body = context.Response.Body;
        context.Response.Body = Stream.Null;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            context.Response.Body = body;
            context.Request.Method = HttpMethods.Head;
        }
    }
}
