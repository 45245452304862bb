using System.Net;
using System.Text.Json;
using Scale.Cli.Tests.Infrastructure;
using Scale.Testing;

namespace Scale.Cli.Tests;

/// <summary><c>scale load</c> as users run it: loadtest's flags, JSON on stdout, clear errors for bad options.</summary>
public sealed class LoadCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly HttpListener _listener = new();
    private readonly Task _serving;
    private int _requests;

    public LoadCommandTests()
    {
        Url = $"http://127.0.0.1:{Tools.FreePort()}/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _serving = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                try
                {
                    var context = await _listener.GetContextAsync();
                    Interlocked.Increment(ref _requests);
                    // Every tenth request is a server error, so errors show in the report.
                    context.Response.StatusCode = _requests % 10 == 0 ? 500 : 200;
                    context.Response.Close();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
            }
        });
    }

    private string Url { get; }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
        _dir.Dispose();
    }

    [Fact]
    public async Task Load_WithLoadtestsFlags_WritesLoadtestsJsonFields()
    {
        var run = await ScaleProcess.RunAsync(_dir.Path, ["load", Url, "-n", "100", "--rps", "200", "-c", "5", "-k", "--json"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.Equal(100, root.GetProperty("totalRequests").GetInt64());
        Assert.Equal(10, root.GetProperty("totalErrors").GetInt64());
        Assert.Equal(10, root.GetProperty("errorCodes").GetProperty("500").GetInt64());
        Assert.Equal(200, root.GetProperty("targetRps").GetDouble());
        Assert.Equal(100, _requests);
        // Progress went to stderr, leaving stdout to the JSON.
        Assert.Contains("scale load: GET", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "load", "not a url", "-t", "1" }, "is not an absolute URL")]
    [InlineData(new[] { "load", "http://127.0.0.1:9/", "--rps", "10" }, "give a duration (-t seconds) or a number of requests (-n)")]
    [InlineData(new[] { "load", "http://127.0.0.1:9/", "-t", "1", "--rps", "-5" }, "--rps must be above 0")]
    public async Task Load_BadOptions_ExitTwoWithAClearMessage(string[] arguments, string message)
    {
        var run = await ScaleProcess.RunAsync(_dir.Path, arguments);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
        Assert.False(run.HasStackTrace, run.ToString());
    }
}
