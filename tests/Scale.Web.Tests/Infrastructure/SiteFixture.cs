using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;

namespace Scale.Web.Tests.Infrastructure;

/// <summary>The web app in process (ASP.NET Core's test server) over the <see cref="StoreFixture"/> store, shared by a test collection.</summary>
public sealed class SiteFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public StoreFixture Store { get; } = new();

    public WebApplication App => _app ?? throw new InvalidOperationException("Not started.");

    /// <summary>A client with no Accept preference (as API clients and load tools send).</summary>
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Store.InitializeAsync();
        _app = ScaleWebApp.Build(TestApps.Options(Store.DbPath));
        await _app.StartAsync();
        // Ready, as a load balancer would wait for: the warm-up went through the test server first.
        await TestApps.WarmupOf(_app).Completion;
        Client = _app.GetTestClient();
    }

    /// <summary>A client that asks for HTML, as browsers do.</summary>
    public HttpClient BrowserClient()
    {
        var client = App.GetTestClient();
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        return client;
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        await Store.DisposeAsync();
    }
}
