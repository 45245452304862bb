using System.Net;
using Scale.Lab.Haproxy;
using Scale.Testing;

namespace Scale.Lab.Tests.Haproxy;

/// <summary>
/// The lab's web backend as HAProxy runs it: the generated configuration, with each web instance's zone address
/// pointed at a small HTTP server on 127.0.0.1, in a real HAProxy.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HaproxyFallbackTests : IDisposable
{
    private readonly TempFolder _work = new("scale-haproxy-fallback");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task EveryActiveInstanceOut_BackupsWhoseChecksPassServe_AndADeadInstanceLeavesBoth()
    {
        var haproxyPath = await Tools.RequireAsync("haproxy", "haproxy");
        await using var lab = await RunningHaproxy.StartAsync(_work.Path, haproxyPath);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var stats = lab.Stats;
        var web = lab.Layout.Web.Select(w => w.Name).ToList();

        // Every instance up twice: as an active server and as its backup.
        await lab.WaitForAsync("scale-web", s => s.Count(x => x.Status == "UP") == 2 * web.Count, "all twelve servers UP");
        var servers = WebServers(await stats.ServersAsync(CancellationToken.None));
        Assert.Equal(web.Order(StringComparer.Ordinal), servers.Where(s => !s.Backup).Select(s => s.Name).Order(StringComparer.Ordinal));
        Assert.Equal(web.Select(w => w + LabLayout.FallbackSuffix).Order(StringComparer.Ordinal), servers.Where(s => s.Backup).Select(s => s.Name).Order(StringComparer.Ordinal));

        // Every active server out of rotation at once, as the health analysis marks them down on connection errors
        // (in maintenance here: a server forced down would be back on its next two passing checks, mid-test).
        foreach (var name in web)
        {
            await lab.AdminAsync($"set server scale-web/{name} state maint");
        }

        await lab.WaitForAsync("scale-web", s => s.Where(x => !x.Backup).All(x => x.Status.Contains("MAINT", StringComparison.Ordinal)), "every active server out of rotation");
        var before = WebServers(await stats.ServersAsync(CancellationToken.None)).Where(s => s.Backup).ToDictionary(s => s.Name, s => s.TotalSessions);
        var answeredBy = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 60; i++)
        {
            using var response = await http.GetAsync(lab.Url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answeredBy.Add(await response.Content.ReadAsStringAsync());
        }

        // Served by the backups, spread over all of them (allbackups), none by an active server.
        var after = WebServers(await stats.ServersAsync(CancellationToken.None));
        Assert.Equal(60, after.Where(s => s.Backup).Sum(s => s.TotalSessions - before[s.Name]));
        Assert.True(answeredBy.Count >= 3, $"answered by {string.Join(", ", answeredBy)}");

        // A dead instance: its health checks fail, so its backup goes down too, and the others keep serving.
        lab.StopInstance(web[0]);
        await lab.WaitForAsync("scale-web", s => s.Single(x => x.Name == web[0] + LabLayout.FallbackSuffix).Status.StartsWith("DOWN", StringComparison.Ordinal), "the dead instance's backup DOWN");
        for (var i = 0; i < 30; i++)
        {
            using var response = await http.GetAsync(lab.Url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.NotEqual(web[0], await response.Content.ReadAsStringAsync());
        }

        // The active servers come back, and take the traffic again.
        foreach (var name in web)
        {
            await lab.AdminAsync($"set server scale-web/{name} state ready");
        }

        await lab.WaitForAsync("scale-web", s => s.Count(x => !x.Backup && x.Status == "UP") >= web.Count - 1, "the live active servers UP");
        var backupsBefore = WebServers(await stats.ServersAsync(CancellationToken.None)).Where(s => s.Backup).Sum(s => s.TotalSessions);
        for (var i = 0; i < 20; i++)
        {
            using var response = await http.GetAsync(lab.Url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(backupsBefore, WebServers(await stats.ServersAsync(CancellationToken.None)).Where(s => s.Backup).Sum(s => s.TotalSessions));
    }

    private static List<HaproxyServer> WebServers(IReadOnlyList<HaproxyServer> servers) => [.. servers.Where(s => s.Backend == "scale-web")];
}
