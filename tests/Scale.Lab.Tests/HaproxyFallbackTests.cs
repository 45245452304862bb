using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Scale.Lab.Haproxy;
using Scale.Testing;

namespace Scale.Lab.Tests;

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
        await using var lab = await RunningBackend.StartAsync(_work.Path, haproxyPath);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var stats = new HaproxyStats(http, lab.Layout.StatsPort);
        var web = lab.Layout.Web.Select(w => w.Name).ToList();

        // Every instance up twice: as an active server and as its backup.
        await WaitForAsync(stats, s => s.Count(x => x.Status == "UP") == 2 * web.Count, "all twelve servers UP");
        var servers = WebServers(await stats.ServersAsync(CancellationToken.None));
        Assert.Equal(web.Order(StringComparer.Ordinal), servers.Where(s => !s.Backup).Select(s => s.Name).Order(StringComparer.Ordinal));
        Assert.Equal(web.Select(w => w + LabLayout.FallbackSuffix).Order(StringComparer.Ordinal), servers.Where(s => s.Backup).Select(s => s.Name).Order(StringComparer.Ordinal));

        // Every active server out of rotation at once, as the health analysis marks them down on connection errors
        // (in maintenance here: a server forced down would be back on its next two passing checks, mid-test).
        foreach (var name in web)
        {
            await lab.AdminAsync($"set server scale-web/{name} state maint");
        }

        await WaitForAsync(stats, s => s.Where(x => !x.Backup).All(x => x.Status.Contains("MAINT", StringComparison.Ordinal)), "every active server out of rotation");
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
        await WaitForAsync(stats, s => s.Single(x => x.Name == web[0] + LabLayout.FallbackSuffix).Status.StartsWith("DOWN", StringComparison.Ordinal), "the dead instance's backup DOWN");
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

        await WaitForAsync(stats, s => s.Count(x => !x.Backup && x.Status == "UP") >= web.Count - 1, "the live active servers UP");
        var backupsBefore = WebServers(await stats.ServersAsync(CancellationToken.None)).Where(s => s.Backup).Sum(s => s.TotalSessions);
        for (var i = 0; i < 20; i++)
        {
            using var response = await http.GetAsync(lab.Url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(backupsBefore, WebServers(await stats.ServersAsync(CancellationToken.None)).Where(s => s.Backup).Sum(s => s.TotalSessions));
    }

    private static List<HaproxyServer> WebServers(IReadOnlyList<HaproxyServer> servers) => [.. servers.Where(s => s.Backend == "scale-web")];

    private static async Task WaitForAsync(HaproxyStats stats, Func<IReadOnlyList<HaproxyServer>, bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        List<HaproxyServer> last = [];
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                last = WebServers(await stats.ServersAsync(CancellationToken.None));
                if (last.Count > 0 && condition(last))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // HAProxy not listening yet.
            }

            await Task.Delay(100);
        }

        Assert.Fail($"{what}: not after 30 s; last seen: {string.Join(", ", last.Select(s => $"{s.Name} {s.Status}"))}");
    }

    /// <summary>
    /// HAProxy with the lab's generated configuration, the web instances' zone addresses (and the PostgreSQL role
    /// ports' bridge address) replaced by 127.0.0.1, and one small HTTP server per web instance answering its name.
    /// </summary>
    private sealed class RunningBackend : IAsyncDisposable
    {
        private readonly Process _haproxy;
        private readonly Dictionary<string, HttpListener> _instances;

        private RunningBackend(LabLayout layout, Process haproxy, Dictionary<string, HttpListener> instances)
        {
            Layout = layout;
            _haproxy = haproxy;
            _instances = instances;
        }

        public LabLayout Layout { get; }

        public Uri Url => new($"http://127.0.0.1:{Layout.WebPort}/");

        public static async Task<RunningBackend> StartAsync(string folder, string haproxyPath)
        {
            // A base port whose public and stats ports are free (the lab's other ports are not bound here but the
            // PostgreSQL role ports, on 127.0.0.1 instead of the bridge).
            LabLayout layout;
            var attempt = 0;
            do
            {
                layout = new LabLayout(new LabOptions { Directory = folder, ScaleProgram = "/opt/scale/scale.dll", WebPerZone = 2, BasePort = 41000 + (Random.Shared.Next(150) * 100) });
            }
            while (!new[] { layout.WebPort, layout.StatsPort, layout.PrimaryPort, layout.ReplicasPort }.All(Tools.PortIsFree) && ++attempt < 20);

            var programs = new LabPrograms("/usr/bin/dotnet", "/opt/scale/scale.dll", "/usr/bin/etcd", "/usr/bin/patroni", "/usr/lib/postgresql/15/bin",
                "/usr/bin/prometheus-postgres-exporter", haproxyPath, "/usr/bin/prometheus", "/usr/bin/prometheus-alertmanager");
            new LabFiles(layout, new LabSecrets(Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N")), programs, null).WriteAll();

            var instances = new Dictionary<string, HttpListener>(StringComparer.Ordinal);
            var config = await File.ReadAllTextAsync(layout.PathOf("haproxy.cfg"));
            config = config.Replace($"bind {layout.Network.HostAddress}:", "bind 127.0.0.1:", StringComparison.Ordinal);
            foreach (var web in layout.Web)
            {
                var (listener, port) = Listen(web.Name);
                instances[web.Name] = listener;
                Assert.Contains($" {web.Address} ", config, StringComparison.Ordinal);
                config = config.Replace($" {web.Address} ", $" 127.0.0.1:{port} ", StringComparison.Ordinal);
            }

            var path = Path.Join(folder, "haproxy-test.cfg");
            await File.WriteAllTextAsync(path, config);
            var start = new ProcessStartInfo(haproxyPath) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { "-db", "-f", path })
            {
                start.ArgumentList.Add(argument);
            }

            var haproxy = Process.Start(start)!;
            _ = haproxy.StandardOutput.ReadToEndAsync();
            _ = haproxy.StandardError.ReadToEndAsync();
            return new RunningBackend(layout, haproxy, instances);
        }

        /// <summary>Sends a command to HAProxy's admin socket and returns its answer.</summary>
        public async Task<string> AdminAsync(string command)
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(Layout.PathOf("haproxy.sock")));
            await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"));
            var answer = new StringBuilder();
            var buffer = new byte[4096];
            int read;
            while ((read = await socket.ReceiveAsync(buffer)) > 0)
            {
                answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            Assert.True(answer.ToString().Trim().Length == 0, $"{command}: {answer}");
            return answer.ToString();
        }

        public void StopInstance(string name) => _instances[name].Close();

        public async ValueTask DisposeAsync()
        {
            if (!_haproxy.HasExited)
            {
                _haproxy.Kill(entireProcessTree: true);
                await _haproxy.WaitForExitAsync();
            }

            _haproxy.Dispose();
            foreach (var listener in _instances.Values)
            {
                listener.Close();
            }
        }

        /// <summary>An HTTP server on a free 127.0.0.1 port that answers every request 200 with <paramref name="name"/>.</summary>
        private static (HttpListener Listener, int Port) Listen(string name)
        {
            for (var attempt = 0; ; attempt++)
            {
                var port = Tools.FreePort();
                var listener = new HttpListener();
                listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                try
                {
                    listener.Start();
                }
                catch (HttpListenerException) when (attempt < 5)
                {
                    listener.Close();
                    continue;
                }

                _ = Task.Run(async () =>
                {
                    var body = Encoding.UTF8.GetBytes(name);
                    while (listener.IsListening)
                    {
                        HttpListenerContext context;
                        try
                        {
                            context = await listener.GetContextAsync();
                        }
                        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                        {
                            return;
                        }

                        context.Response.StatusCode = 200;
                        context.Response.ContentType = "text/plain";
                        await context.Response.OutputStream.WriteAsync(body);
                        context.Response.Close();
                    }
                });
                return (listener, port);
            }
        }
    }
}
