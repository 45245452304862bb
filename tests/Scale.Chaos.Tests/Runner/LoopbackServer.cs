using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Scale.Testing;

namespace Scale.Chaos.Tests.Runner;

/// <summary>A real Kestrel server on a free loopback port, with the routes a test maps, for the runner's probes to reach.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackServer(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public string Url { get; }

    public static async Task<LoopbackServer> StartAsync(Action<WebApplication> mapRoutes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var url = $"http://127.0.0.1:{Tools.FreePort()}/";
        builder.WebHost.UseUrls(url);
        var app = builder.Build();
        mapRoutes(app);
        await app.StartAsync();
        return new LoopbackServer(app, url);
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
