using System.Net.Sockets;
using System.Text;
using Scale.Testing;
using static Scale.Lab.Tests.Haproxy.RunningHaproxy;

namespace Scale.Lab.Tests.Haproxy;

/// <summary>
/// The lab's PostgreSQL role ports as HAProxy runs them (the generated configuration, each zone's Patroni and
/// PostgreSQL replaced by stand-ins on 127.0.0.1): which open sessions are cut when Patroni's roles change.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HaproxyPostgresRolesTests : IDisposable
{
    private readonly TempFolder _work = new("scale-haproxy-roles");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task AServerThatLeavesItsRoleLosesItsSessions_TheOthersKeepTheirs()
    {
        var haproxyPath = await Tools.RequireAsync("haproxy", "haproxy");
        await using var lab = await RunningHaproxy.StartAsync(_work.Path, haproxyPath);
        await lab.WaitForAsync("pg-replicas", s => s.Where(x => x.Name != "pg-a").All(x => x.Status == "UP") && s.Single(x => x.Name == "pg-a").Status != "UP", "pg-b and pg-c UP as replicas, pg-a not");
        await lab.WaitForAsync("pg-primary", s => s.Single(x => x.Name == "pg-a").Status == "UP" && s.Where(x => x.Name != "pg-a").All(x => x.Status.StartsWith("DOWN", StringComparison.Ordinal)), "pg-a UP as the primary, only it");

        using var write = await Session.OpenAsync(lab.Layout.PrimaryPort);
        Assert.Equal("pg-a", write.Member);
        var reads = new List<Session>();
        for (var i = 0; i < 6; i++)
        {
            reads.Add(await Session.OpenAsync(lab.Layout.ReplicasPort));
        }

        Assert.Equal(["pg-b", "pg-c"], reads.Select(r => r.Member).Distinct().Order(StringComparer.Ordinal));

        // A failover: pg-c promoted, pg-a's PostgreSQL stopped (Patroni demoted it).
        lab.Members["pg-c"].Role = DatabaseRole.Primary;
        lab.Members["pg-a"].Role = DatabaseRole.Stopped;
        await lab.WaitForAsync("pg-primary", s => s.Single(x => x.Name == "pg-c").Status == "UP" && s.Single(x => x.Name == "pg-a").Status.StartsWith("DOWN", StringComparison.Ordinal), "pg-c the primary, pg-a down");
        await lab.WaitForAsync("pg-replicas", s => s.Single(x => x.Name == "pg-c").Status.StartsWith("DOWN", StringComparison.Ordinal), "pg-c out of the replicas");

        // The demoted primary's session is cut, and so are the promoted replica's read sessions (the replicas' address
        // must hold replicas only: LabFiles.Haproxy says why); pg-b's go on, and new ones go to pg-b alone.
        Assert.False(await write.AliveAsync(), "the session to the demoted primary was not cut");
        foreach (var read in reads)
        {
            Assert.Equal(read.Member == "pg-b", await read.AliveAsync());
        }

        for (var i = 0; i < 4; i++)
        {
            using var more = await Session.OpenAsync(lab.Layout.ReplicasPort);
            Assert.Equal("pg-b", more.Member);
        }

        // A replica that stops answering its checks is down, and its sessions are cut.
        using var last = await Session.OpenAsync(lab.Layout.ReplicasPort);
        lab.Members["pg-b"].StopPatroni();
        await lab.WaitForAsync("pg-replicas", s => s.Single(x => x.Name == "pg-b").Status.StartsWith("DOWN", StringComparison.Ordinal), "pg-b down");
        Assert.False(await last.AliveAsync(), "the session to the dead replica was not cut");
        foreach (var read in reads)
        {
            read.Dispose();
        }
    }

    /// <summary>A TCP session through HAProxy to a member stand-in: it names its member, then echoes.</summary>
    private sealed class Session : IDisposable
    {
        private readonly TcpClient _client;
        private readonly NetworkStream _stream;

        private Session(TcpClient client, string member)
        {
            _client = client;
            _stream = client.GetStream();
            Member = member;
        }

        public string Member { get; }

        public static async Task<Session> OpenAsync(int port)
        {
            var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
            var line = await ReadLineAsync(client.GetStream());
            Assert.NotNull(line);
            return new Session(client, line);
        }

        /// <summary>True when the member still echoes on this session within 5 s; false when HAProxy has closed it.</summary>
        public async Task<bool> AliveAsync()
        {
            try
            {
                await _stream.WriteAsync("ping\n"u8.ToArray());
                return await ReadLineAsync(_stream) == "ping";
            }
            catch (IOException)
            {
                return false;
            }
        }

        public void Dispose() => _client.Dispose();

        private static async Task<string?> ReadLineAsync(NetworkStream stream)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var line = new StringBuilder();
            var one = new byte[1];
            while (true)
            {
                if (await stream.ReadAsync(one, timeout.Token) == 0)
                {
                    return null;
                }

                if (one[0] == '\n')
                {
                    return line.ToString();
                }

                line.Append((char)one[0]);
            }
        }
    }
}
