using System.Net;
using System.Text;
using Scale.Testing;
using Scale.Testing.Network;

namespace Scale.Lab.Tests;

public sealed class LabWarmupTests
{
    [Fact]
    public async Task TheLoadProgramsReport_AsTheLabRunsIt_IsJudgedOverItsLastSeconds()
    {
        // The same command line and output capture as `scale lab up` (LabController.WarmAsync), at a small rate.
        using var server = Answering(HttpStatusCode.OK, out var url);
        var report = await ProgramRunner.RunAsync("dotnet", [ScaleProcess.DllPath, "load", url, "--rps", "40", "--maxSeconds", "3", "--keepalive", "--concurrency", "40", "--json", "--quiet"], CancellationToken.None);

        var round = WarmRound.FromLoadReport(report, lastSeconds: 2);

        Assert.Equal(2, round.Seconds);
        Assert.Equal(0, round.Errors);
        Assert.Equal(0, round.Dropped);
        Assert.True(round.WorstP99Ms > 0, round.ToString());
    }

    [Fact]
    public async Task ARoundWithFailedRequests_IsNotWarm()
    {
        using var server = Answering(HttpStatusCode.ServiceUnavailable, out var url);
        var report = await ProgramRunner.RunAsync("dotnet", [ScaleProcess.DllPath, "load", url, "--rps", "40", "--maxSeconds", "2", "--keepalive", "--json", "--quiet"], CancellationToken.None, check: false);

        var round = WarmRound.FromLoadReport(report, lastSeconds: 2);

        Assert.True(round.Errors > 0, round.ToString());
        Assert.False(round.Warm);
    }

    [Theory]
    [InlineData(new[] { 900.0, 800, 20, 30, 25, 22 }, new[] { 0, 0, 0, 0, 0, 0 }, true)] // cold start, then warm: only the last seconds count
    [InlineData(new[] { 20.0, 20, 20, 300, 20 }, new[] { 0, 0, 0, 0, 0 }, false)] // one slow second among the judged
    [InlineData(new[] { 20.0, 20, 20, 20, 20 }, new[] { 0, 0, 0, 3, 0 }, false)] // requests dropped
    [InlineData(new[] { 900.0, 20, 20, 20, 20 }, new[] { 50, 0, 0, 0, 0 }, true)] // dropped before the judged seconds
    public void Judged_OverTheLastSeconds(double[] p99, int[] dropped, bool warm)
    {
        var round = WarmRound.FromLoadReport(Report(p99, dropped), lastSeconds: 4);

        Assert.Equal(4, round.Seconds);
        Assert.Equal(warm, round.Warm);
        Assert.Equal(p99[^4..].Max(), round.WorstP99Ms);
    }

    [Fact]
    public void FewerSecondsThanAsked_AreAllJudged()
    {
        Assert.Equal(2, WarmRound.FromLoadReport(Report([10, 12], [0, 0]), lastSeconds: 5).Seconds);
    }

    [Fact]
    public void AReportWithoutASeries_IsAClearError()
    {
        var error = Assert.Throws<InvalidOperationException>(() => WarmRound.FromLoadReport("""{"totalRequests": 0}""", 5));
        Assert.Contains("per-second series", error.Message, StringComparison.Ordinal);
    }

    private static string Report(double[] p99, int[] dropped)
    {
        var seconds = p99.Select((p, i) => $$"""{"second": {{i}}, "due": 500, "sent": {{500 - dropped[i]}}, "completed": {{500 - dropped[i]}}, "dropped": {{dropped[i]}}, "errors": {}, "p50Ms": 2, "p90Ms": 5, "p99Ms": {{p.ToString(System.Globalization.CultureInfo.InvariantCulture)}}, "maxMs": {{(p + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)}}}""");
        return $$"""{"totalRequests": {{500 * p99.Length}}, "series": [{{string.Join(", ", seconds)}}]}""";
    }

    private static HttpListener Answering(HttpStatusCode status, out string url)
    {
        var body = Encoding.UTF8.GetBytes("{}");
        var (listener, port) = HttpStandIn.Start(async context =>
        {
            context.Response.StatusCode = (int)status;
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        });
        url = $"http://127.0.0.1:{port}/test_db";
        return listener;
    }
}
