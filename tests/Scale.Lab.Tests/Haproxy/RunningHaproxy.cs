using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Scale.Lab.Haproxy;
using Scale.Testing;
using Scale.Testing.Network;

namespace Scale.Lab.Tests.Haproxy;

/// <summary>
/// HAProxy with the lab's generated configuration, every zone address replaced by 127.0.0.1: one small HTTP server per
/// web instance answering its name, and per zone a stand-in for its database member (a Patroni REST API that answers
/// /primary and /replica by the role the test gives it, and a PostgreSQL port that writes the member's name on each
/// new session and then echoes what it reads).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class RunningHaproxy : IAsyncDisposable
{
    private readonly Process _haproxy;
    private readonly Dictionary<string, HttpListener> _instances;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private RunningHaproxy(LabLayout layout, Process haproxy, Dictionary<string, HttpListener> instances, Dictionary<string, DatabaseMember> members)
    {
        Layout = layout;
        _haproxy = haproxy;
        _instances = instances;
        Members = members;
        Stats = new HaproxyStats(_http, layout.StatsPort);
    }

    public HaproxyStats Stats { get; }

    public LabLayout Layout { get; }

    public Uri Url => new($"http://127.0.0.1:{Layout.WebPort}/");

    /// <summary>The database members by name (pg-a, pg-b, pg-c); pg-a starts as the primary.</summary>
    public IReadOnlyDictionary<string, DatabaseMember> Members { get; }

    public static async Task<RunningHaproxy> StartAsync(string folder, string haproxyPath)
    {
        // A base port whose public, stats and PostgreSQL role ports are free (the lab's other ports are not bound here).
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

        var config = await File.ReadAllTextAsync(layout.PathOf("haproxy.cfg"));
        config = config.Replace($"bind {layout.Network.HostAddress}:", "bind 127.0.0.1:", StringComparison.Ordinal);
        var instances = new Dictionary<string, HttpListener>(StringComparer.Ordinal);
        foreach (var web in layout.Web)
        {
            var (listener, port) = HttpStandIn.Start(context => Answer(context, 200, web.Name));
            instances[web.Name] = listener;
            Assert.Contains($" {web.Address} ", config, StringComparison.Ordinal);
            config = config.Replace($" {web.Address} ", $" 127.0.0.1:{port} ", StringComparison.Ordinal);
        }

        var members = new Dictionary<string, DatabaseMember>(StringComparer.Ordinal);
        for (var z = 0; z < LabLayout.Zones.Count; z++)
        {
            var member = DatabaseMember.Start($"pg-{LabLayout.Zones[z]}", z == 0 ? DatabaseRole.Primary : DatabaseRole.Replica);
            members[member.Name] = member;
            var generated = $" {layout.Network.ZoneAddress(z)}:{layout.PostgresPort(z)} check port {layout.PatroniPort(z)}";
            Assert.Contains(generated, config, StringComparison.Ordinal);
            config = config.Replace(generated, $" 127.0.0.1:{member.PostgresPort} check port {member.PatroniPort}", StringComparison.Ordinal);
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
        return new RunningHaproxy(layout, haproxy, instances, members);
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

    /// <summary>Waits up to 30 s for the servers of <paramref name="backend"/> to meet <paramref name="condition"/>.</summary>
    public async Task WaitForAsync(string backend, Func<IReadOnlyList<HaproxyServer>, bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        List<HaproxyServer> last = [];
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                last = [.. (await Stats.ServersAsync(CancellationToken.None)).Where(s => s.Backend == backend)];
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

    public async ValueTask DisposeAsync()
    {
        if (!_haproxy.HasExited)
        {
            _haproxy.Kill(entireProcessTree: true);
            await _haproxy.WaitForExitAsync();
        }

        _haproxy.Dispose();
        _http.Dispose();
        foreach (var listener in _instances.Values)
        {
            listener.Close();
        }

        foreach (var member in Members.Values)
        {
            member.Dispose();
        }
    }

    private static async Task Answer(HttpListenerContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain";
        await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(body));
        context.Response.Close();
    }

    internal enum DatabaseRole
    {
        Primary,
        Replica,

        /// <summary>Patroni up, PostgreSQL not running (restarting, rewinding): neither /primary nor /replica is 200.</summary>
        Stopped,
    }

    /// <summary>A stand-in for one zone's Patroni and PostgreSQL, as HAProxy sees them.</summary>
    internal sealed class DatabaseMember : IDisposable
    {
        private readonly HttpListener _patroni;
        private readonly TcpListener _postgres;
        private readonly ConcurrentBag<TcpClient> _sessions = [];
        private volatile DatabaseRole _role;

        private DatabaseMember(string name, DatabaseRole role, HttpListener patroni, int patroniPort, TcpListener postgres)
        {
            Name = name;
            _role = role;
            _patroni = patroni;
            PatroniPort = patroniPort;
            _postgres = postgres;
        }

        public string Name { get; }

        public int PatroniPort { get; }

        public int PostgresPort => ((IPEndPoint)_postgres.LocalEndpoint).Port;

        public DatabaseRole Role
        {
            get => _role;
            set => _role = value;
        }

        public static DatabaseMember Start(string name, DatabaseRole role)
        {
            DatabaseMember? member = null;
            var (patroni, patroniPort) = HttpStandIn.Start(context =>
            {
                // Patroni's answers: 200 on /primary for the primary, on /replica for a running replica, 503 otherwise.
                var path = context.Request.Url!.AbsolutePath;
                var inRole = (path, member!.Role) is ("/primary", DatabaseRole.Primary) or ("/replica", DatabaseRole.Replica);
                return Answer(context, inRole ? 200 : 503, member.Role.ToString());
            });
            var postgres = new TcpListener(IPAddress.Loopback, 0);
            postgres.Start();
            member = new DatabaseMember(name, role, patroni, patroniPort, postgres);
            _ = Task.Run(member.AcceptAsync);
            return member;
        }

        /// <summary>Patroni stops answering (its process gone): HAProxy's checks get connection refused.</summary>
        public void StopPatroni() => _patroni.Close();

        public void Dispose()
        {
            _patroni.Close();
            _postgres.Stop();
            foreach (var session in _sessions)
            {
                session.Dispose();
            }
        }

        private async Task AcceptAsync()
        {
            while (true)
            {
                TcpClient session;
                try
                {
                    session = await _postgres.AcceptTcpClientAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                _sessions.Add(session);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        var stream = session.GetStream();
                        await stream.WriteAsync(Encoding.ASCII.GetBytes(Name + "\n"));
                        var buffer = new byte[256];
                        int read;
                        while ((read = await stream.ReadAsync(buffer)) > 0)
                        {
                            await stream.WriteAsync(buffer.AsMemory(0, read));
                        }
                    }
                    catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException)
                    {
                        // The session was cut.
                    }
                    finally
                    {
                        session.Dispose();
                    }
                });
            }
        }
    }
}
