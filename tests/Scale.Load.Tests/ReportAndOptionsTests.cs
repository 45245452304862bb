using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace Scale.Load.Tests;

/// <summary>Option checks with their messages, and the report formats (loadtest's fields first).</summary>
public sealed class ReportAndOptionsTests
{
    [Theory]
    [InlineData("ftp://example/", 10.0, 5.0, null, 10, "http:// or https://")]
    [InlineData("http://127.0.0.1/", 0.0, 5.0, null, 10, "--rps must be above 0")]
    [InlineData("http://127.0.0.1/", 10.0, null, null, 10, "-t seconds")]
    [InlineData("http://127.0.0.1/", 10.0, -1.0, null, 10, "-t must be a positive")]
    [InlineData("http://127.0.0.1/", 10.0, null, 0L, 10, "-n must be positive")]
    [InlineData("http://127.0.0.1/", 10.0, 5.0, null, 0, "-c must be between")]
    public void Validate_NamesWhatIsWrong(string url, double rps, double? seconds, long? max, int concurrency, string message)
    {
        var options = new LoadOptions
        {
            Target = new Uri(url),
            RequestsPerSecond = rps,
            Duration = seconds is { } s ? TimeSpan.FromSeconds(s) : null,
            MaxRequests = max,
            Concurrency = concurrency,
        };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reports_CarryLoadtestsFields_TheSeries_AndTheLabelsItPrints()
    {
        var clock = new FakeTimeProvider();
        var options = new LoadOptions { Target = new Uri("http://127.0.0.1:9/x"), RequestsPerSecond = 50, Duration = TimeSpan.FromSeconds(2) };
        using var generator = new LoadGenerator(options, clock, new ImmediateHandler());
        var run = generator.RunAsync();
        while (!run.IsCompleted)
        {
            await Task.Yield();
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        var report = await run;
        using var stream = new MemoryStream();
        LoadReportWriter.WriteJson(report, stream);
        using var json = JsonDocument.Parse(stream.ToArray());
        var root = json.RootElement;
        Assert.Equal(100, root.GetProperty("totalRequests").GetInt64());
        Assert.Equal(0, root.GetProperty("totalErrors").GetInt64());
        foreach (var field in new[] { "totalTimeSeconds", "rps", "meanLatencyMs", "maxLatencyMs", "percentiles", "errorCodes", "sendRate", "dropped", "late", "cpuSeconds" })
        {
            Assert.True(root.TryGetProperty(field, out _), field);
        }

        Assert.Equal(["50", "90", "95", "99", "99.9"], root.GetProperty("percentiles").EnumerateObject().Select(p => p.Name));
        Assert.Equal(2, root.GetProperty("series").GetArrayLength());
        Assert.Equal(50, root.GetProperty("series")[1].GetProperty("due").GetInt64());

        var text = new StringWriter();
        LoadReportWriter.WriteText(report, text);
        foreach (var label in new[] { "Target URL:", "Max time (s):", "Target rps:", "Concurrent clients:", "Completed requests:  100", "Total errors:        0", "Mean latency:", "Effective rps:", "Percentage of requests served within a certain time", "(longest request)" })
        {
            Assert.Contains(label, text.ToString(), StringComparison.Ordinal);
        }

        Assert.Contains("2/2 s: 50 answered of 50 due", LoadReportWriter.ProgressLine(report.Series[1], options), StringComparison.Ordinal);
    }

    private sealed class ImmediateHandler : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("ok")) });
    }
}
