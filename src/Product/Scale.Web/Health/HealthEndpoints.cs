using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Scale.Web.Api;
using Scale.Web.Catalog;

namespace Scale.Web.Health;

/// <summary>
/// Liveness and readiness, for Kubernetes probes and load balancers. Both are cheap and never cached by clients.
/// </summary>
internal static class HealthEndpoints
{
    public static void MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        // Liveness: the process answers. It does not look at the database: a database outage must not make
        // Kubernetes restart every web pod (which would also drop the in-memory catalogue).
        app.MapGet("/healthz", (HttpContext context, CatalogProvider catalog) =>
        {
            NoStore(context);
            var songs = catalog.Current.Songs;
            return TypedResults.Ok(new HealthResponse("ok", songs.Count, songs.DataVersion));
        }).WithTags("Health").WithSummary("Liveness: 200 while the process serves; the catalogue's size and data version.");

        // Readiness: not shutting down, catalogue loaded, warmed up. The database is reported, and decides only with
        // ReadinessRequiresDatabase: every instance shares it, so following it would empty the load balancer.
        app.MapGet("/readyz", async Task<Results<Ok<ReadinessResponse>, JsonHttpResult<ReadinessResponse>>> (HttpContext context, Readiness readiness, CancellationToken ct) =>
        {
            NoStore(context);
            var report = await readiness.CheckAsync(ct).ConfigureAwait(false);
            var database = report.Database;
            var body = new ReadinessResponse(
                report.Status,
                report.Detail,
                new DatabaseStatusResponse(database.Status, database.Detail, database.Endpoint?.Server, database.Endpoint?.Role, database.CheckedAt));
            if (report.Ready)
            {
                return TypedResults.Ok(body);
            }

            context.Response.Headers.RetryAfter = "5";
            return TypedResults.Json(body, ScaleJsonContext.Default.ReadinessResponse, statusCode: StatusCodes.Status503ServiceUnavailable);
        }).WithTags("Health").WithSummary(
            "Readiness: 200 when not shutting down, the catalogue is loaded and the warm-up is done; 503 with the reason otherwise. " +
            "The database's state is in the body; it makes /readyz 503 only when the server runs with --ready-requires-database.");
    }

    private static void NoStore(HttpContext context) => context.Response.Headers.CacheControl = "no-store";
}
