using System.Net;
using System.Net.Sockets;
using System.Text;
using Scale.Lab.Patroni;

namespace Scale.Lab.Tests.Clients;

/// <summary>
/// Patroni's <c>GET /patroni</c> as its REST API answers it, and the client against a small real HTTP server.
/// </summary>
/// <remarks>
/// The bodies follow patroni/api.py get_postgresql_status (Patroni 3.0.2 as Debian 12 ships it: role "master" or
/// "replica", timeline, "replication" from pg_stat_replication) and the "Monitoring endpoint" example of Patroni's
/// REST API documentation for later versions (role "primary", and "replication_state" on a replica).
/// </remarks>
public sealed class PatroniClientTests
{
    /// <summary>A Patroni 3.0 primary: role "master"; two replicas, one still in catch-up.</summary>
    public const string Primary30 = """
        {"state": "running", "postmaster_start_time": "2024-12-04 21:13:02.120785+00:00", "role": "master",
         "server_version": 150010, "xlog": {"location": 67395656}, "timeline": 3,
         "replication": [
           {"usename": "replicator", "application_name": "pg-c", "client_addr": "10.105.120.13", "state": "streaming", "sync_state": "sync", "sync_priority": 1},
           {"usename": "replicator", "application_name": "pg-b", "client_addr": "10.105.120.12", "state": "catchup", "sync_state": "async", "sync_priority": 0}
         ],
         "dcs_last_seen": 1733346800, "database_system_identifier": "7444913622864375442",
         "patroni": {"version": "3.0.2", "scope": "scale-lab"}}
        """;

    /// <summary>A later Patroni's primary: role "primary"; both replicas streaming (listed out of name order).</summary>
    public const string Primary31 = """
        {"state": "running", "postmaster_start_time": "2023-08-18 11:03:37.966359+00:00", "role": "primary",
         "server_version": 150004, "xlog": {"location": 67395656}, "timeline": 1,
         "replication": [
           {"usename": "replicator", "application_name": "pg-c", "client_addr": "10.105.120.13", "state": "streaming", "sync_state": "async", "sync_priority": 0},
           {"usename": "replicator", "application_name": "pg-b", "client_addr": "10.105.120.12", "state": "streaming", "sync_state": "sync", "sync_priority": 1}
         ],
         "dcs_last_seen": 1692356718, "tags": {"clonefrom": true}, "database_system_identifier": "7268616322854375442",
         "patroni": {"version": "3.1.0", "scope": "scale-lab", "name": "pg-a"}}
        """;

    /// <summary>A replica streaming from the primary.</summary>
    public const string Replica = """
        {"state": "running", "postmaster_start_time": "2023-08-18 11:03:38.1+00:00", "role": "replica",
         "server_version": 150004,
         "xlog": {"received_location": 67419744, "replayed_location": 67419744, "replayed_timestamp": null, "paused": false},
         "sync_standby": true, "timeline": 4, "replication_state": "streaming", "dcs_last_seen": 1692356718,
         "database_system_identifier": "7268616322854375442", "patroni": {"version": "3.1.0", "scope": "scale-lab", "name": "pg-b"}}
        """;

    /// <summary>What Patroni answers when PostgreSQL is not up (api.py's fallback: only state and role).</summary>
    public const string Stopped = """{"state": "stopped", "role": "replica", "dcs_last_seen": 1692356718}""";

    [Fact]
    public void Parse_Patroni30PrimaryMaster_PrimaryWithOnlyStreamingReplicas()
    {
        var member = PatroniMember.Parse(Primary30);

        Assert.Equal("primary", member.Role);
        Assert.Equal("running", member.State);
        Assert.Equal(3, member.Timeline);
        Assert.Null(member.ReplicationState);
        Assert.Equal(["pg-c"], member.StreamingReplicas);
        Assert.True(member.IsRunningPrimary);
    }

    [Fact]
    public void Parse_LaterPatroniPrimary_PrimaryWithStreamingReplicasInNameOrder()
    {
        var member = PatroniMember.Parse(Primary31);

        Assert.Equal("primary", member.Role);
        Assert.Equal(1, member.Timeline);
        Assert.Equal(["pg-b", "pg-c"], member.StreamingReplicas);
        Assert.True(member.IsRunningPrimary);
    }

    [Fact]
    public void Parse_Replica_RoleTimelineAndReplicationState()
    {
        var member = PatroniMember.Parse(Replica);

        Assert.Equal("replica", member.Role);
        Assert.Equal("running", member.State);
        Assert.Equal(4, member.Timeline);
        Assert.Equal("streaming", member.ReplicationState);
        Assert.Empty(member.StreamingReplicas);
        Assert.False(member.IsRunningPrimary);
    }

    [Fact]
    public void Parse_PostgresStopped_NoTimelineNoReplicas()
    {
        var member = PatroniMember.Parse(Stopped);

        Assert.Equal("replica", member.Role);
        Assert.Equal("stopped", member.State);
        Assert.Null(member.Timeline);
        Assert.Null(member.ReplicationState);
        Assert.Empty(member.StreamingReplicas);
        Assert.False(member.IsRunningPrimary);
    }

    [Fact]
    public void Parse_PrimaryNotRunning_IsNotARunningPrimary()
    {
        var member = PatroniMember.Parse(Primary31.Replace("\"state\": \"running\"", "\"state\": \"starting\"", StringComparison.Ordinal));

        Assert.Equal("primary", member.Role);
        Assert.False(member.IsRunningPrimary);
    }

    /// <summary>
    /// A replica whose timeline Patroni could not read: api.py sets timeline from
    /// postgresql.replica_cached_timeline(), which is None when get_replica_timeline's replication connection
    /// (IDENTIFY_SYSTEM) fails, and the JSON then has "timeline": null.
    /// </summary>
    public const string ReplicaTimelineUnknown = """
        {"state": "running", "postmaster_start_time": "2024-12-04 21:13:05.5+00:00", "role": "replica",
         "server_version": 150010,
         "xlog": {"received_location": 67419744, "replayed_location": 67419744, "replayed_timestamp": null, "paused": false},
         "timeline": null, "cluster_unlocked": true, "dcs_last_seen": 1733346800}
        """;

    [Fact]
    public void Parse_TimelineNull_NoTimeline()
    {
        var member = PatroniMember.Parse(ReplicaTimelineUnknown);

        Assert.Equal("replica", member.Role);
        Assert.Null(member.Timeline);
    }

    [Fact]
    public async Task MemberAsync_TimelineNull_AReplicaNotAnException()
    {
        await using var server = await FakePatroni.StartAsync(primary: false, ReplicaTimelineUnknown);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        var member = await new PatroniClient(http).MemberAsync(server.Address, CancellationToken.None);

        Assert.Equal("replica", member.Role);
        Assert.Null(member.Timeline);
    }

    [Fact]
    public void Unreachable_NothingKnown()
    {
        var member = PatroniMember.Unreachable;

        Assert.Null(member.Role);
        Assert.Null(member.State);
        Assert.Null(member.Timeline);
        Assert.Empty(member.StreamingReplicas);
        Assert.False(member.IsRunningPrimary);
    }

    [Fact]
    public async Task MemberAsync_RealHttpServer_ParsesGetPatroni()
    {
        await using var server = await FakePatroni.StartAsync(primary: true, Primary31);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        var member = await new PatroniClient(http).MemberAsync(server.Address, CancellationToken.None);

        Assert.True(member.IsRunningPrimary);
        Assert.Equal(["pg-b", "pg-c"], member.StreamingReplicas);
        Assert.Equal(["GET /patroni"], server.Requests);
    }

    [Fact]
    public async Task HasRoleAsync_Primary_OptionsPrimary200_OptionsReplica503()
    {
        await using var server = await FakePatroni.StartAsync(primary: true, Primary31);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var client = new PatroniClient(http);

        Assert.True(await client.HasRoleAsync(server.Address, primary: true, CancellationToken.None));
        Assert.False(await client.HasRoleAsync(server.Address, primary: false, CancellationToken.None));
        Assert.Equal(["OPTIONS /primary", "OPTIONS /replica"], server.Requests);
    }

    [Fact]
    public async Task HasRoleAsync_Replica_OptionsPrimary503_OptionsReplica200()
    {
        await using var server = await FakePatroni.StartAsync(primary: false, Replica);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var client = new PatroniClient(http);

        Assert.False(await client.HasRoleAsync(server.Address, primary: true, CancellationToken.None));
        Assert.True(await client.HasRoleAsync(server.Address, primary: false, CancellationToken.None));
        Assert.Equal("replica", (await client.MemberAsync(server.Address, CancellationToken.None)).Role);
    }

    [Fact]
    public async Task MemberAsync_NotJson_Unreachable()
    {
        await using var server = await FakePatroni.StartAsync(primary: false, "<html>502 Bad Gateway</html>");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        Assert.Same(PatroniMember.Unreachable, await new PatroniClient(http).MemberAsync(server.Address, CancellationToken.None));
    }

    [Fact]
    public async Task MemberAndHasRoleAsync_NothingListening_UnreachableAndFalse()
    {
        var address = $"127.0.0.1:{FreePort()}";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var client = new PatroniClient(http);

        Assert.Same(PatroniMember.Unreachable, await client.MemberAsync(address, CancellationToken.None));
        Assert.False(await client.HasRoleAsync(address, primary: true, CancellationToken.None));
        Assert.False(await client.HasRoleAsync(address, primary: false, CancellationToken.None));
    }

    [Fact]
    public async Task MemberAndHasRoleAsync_NoAnswerWithinTheTimeout_UnreachableAndFalse()
    {
        // A listener that accepts connections and never answers: the HttpClient's timeout ends the wait.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var address = $"127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";
        using var http = new HttpClient { Timeout = TimeSpan.FromMilliseconds(300) };
        var client = new PatroniClient(http);

        Assert.Same(PatroniMember.Unreachable, await client.MemberAsync(address, CancellationToken.None));
        Assert.False(await client.HasRoleAsync(address, primary: true, CancellationToken.None));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// A Patroni REST API stand-in on 127.0.0.1 (HttpListener, a free port): <c>GET /patroni</c> answers the given
    /// body, <c>OPTIONS /primary</c> and <c>OPTIONS /replica</c> 200 or 503 by the member's role, as Patroni does.
    /// </summary>
    private sealed class FakePatroni : IAsyncDisposable
    {
        private readonly HttpListener _listener;
        private readonly Task _loop;
        private readonly List<string> _requests = [];
        private readonly bool _primary;
        private readonly string _body;

        private FakePatroni(HttpListener listener, string address, bool primary, string body)
        {
            _listener = listener;
            Address = address;
            _primary = primary;
            _body = body;
            _loop = Task.Run(ServeAsync);
        }

        public string Address { get; }

        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        public static Task<FakePatroni> StartAsync(bool primary, string body)
        {
            // A free port can be taken between the probe and the listener's start: try a few.
            for (var attempt = 0; ; attempt++)
            {
                var port = FreePort();
                var listener = new HttpListener();
                listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                try
                {
                    listener.Start();
                    return Task.FromResult(new FakePatroni(listener, $"127.0.0.1:{port}", primary, body));
                }
                catch (HttpListenerException) when (attempt < 5)
                {
                    listener.Close();
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            try
            {
                await _loop;
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                // Stopped while waiting for a request.
            }
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                var context = await _listener.GetContextAsync();
                var request = context.Request;
                var path = request.Url?.AbsolutePath ?? "/";
                lock (_requests)
                {
                    _requests.Add($"{request.HttpMethod} {path}");
                }

                var response = context.Response;
                switch (request.HttpMethod, path)
                {
                    case ("GET", "/patroni"):
                        var bytes = Encoding.UTF8.GetBytes(_body);
                        response.StatusCode = 200;
                        response.ContentType = "application/json";
                        response.ContentLength64 = bytes.Length;
                        await response.OutputStream.WriteAsync(bytes);
                        break;
                    case ("OPTIONS", "/primary"):
                        response.StatusCode = _primary ? 200 : 503;
                        break;
                    case ("OPTIONS", "/replica"):
                        response.StatusCode = _primary ? 503 : 200;
                        break;
                    default:
                        response.StatusCode = 404;
                        break;
                }

                response.Close();
            }
        }
    }
}
