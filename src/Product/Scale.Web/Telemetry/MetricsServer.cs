using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Scale.Web.Telemetry;

/// <summary>
/// /metrics (and /healthz) for a process that is not the web app — the batch job — on its own small Kestrel
/// server, so Prometheus scrapes it the same way while it runs. Signals stay with the caller (the command line
/// cancels the job); disposing stops the server.
/// </summary>
public sealed class MetricsServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MetricsServer(WebApplication app, IReadOnlyList<string> addresses)
    {
        _app = app;
        Addresses = addresses;
    }

    /// <summary>Where it listens (ports resolved, e.g. when given :0).</summary>
    public IReadOnlyList<string> Addresses { get; }

    /// <summary>Starts listening on <paramref name="urls"/> (";"-separated) and exports <paramref name="meters"/> besides the common ones.</summary>
    public static async Task<MetricsServer> StartAsync(string urls, string role, IEnumerable<string> meters, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(urls);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], EnvironmentName = "Production" });
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
        builder.Services.AddScaleMetrics(role, meters);
        var app = builder.Build();
        app.MapScaleMetrics();
        app.MapGet("/healthz", () => "ok");
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
        return new MetricsServer(app, addresses);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>No console signal handling: Ctrl+C and SIGTERM belong to the job, which stops this server when it ends.</summary>
    private sealed class CallerOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
