using System.Net.Sockets;
using System.Text;
using Scale.Lab.Packages;
using Scale.Lab.Supervision;

namespace Scale.Lab.Tests.Clients;

/// <summary>supervisord's XML-RPC status over its Unix socket: recorded answers parsed, and a real socket round trip.</summary>
public sealed class SupervisorRpcTests : IDisposable
{
    /// <summary>
    /// <c>supervisor.getAllProcessInfo</c> as supervisord 4.2.5 (Debian 12) answered on a running lab's zone a, cut to two
    /// of its five programs; web-a2 edited to how a stopped program is reported (statename STOPPED, pid 0).
    /// </summary>
    public const string RecordedAllProcessInfo = """
        <?xml version='1.0'?>
        <methodResponse>
        <params>
        <param>
        <value><array><data>
        <value><struct>
        <member>
        <name>name</name>
        <value><string>etcd-a</string></value>
        </member>
        <member>
        <name>group</name>
        <value><string>etcd-a</string></value>
        </member>
        <member>
        <name>start</name>
        <value><int>1796519138</int></value>
        </member>
        <member>
        <name>stop</name>
        <value><int>0</int></value>
        </member>
        <member>
        <name>now</name>
        <value><int>1796519236</int></value>
        </member>
        <member>
        <name>state</name>
        <value><int>20</int></value>
        </member>
        <member>
        <name>statename</name>
        <value><string>RUNNING</string></value>
        </member>
        <member>
        <name>spawnerr</name>
        <value><string></string></value>
        </member>
        <member>
        <name>exitstatus</name>
        <value><int>0</int></value>
        </member>
        <member>
        <name>logfile</name>
        <value><string>/tmp/scale-lab-root/logs/a/etcd-a-stdout---supervisor-3m1v0sb8.log</string></value>
        </member>
        <member>
        <name>stdout_logfile</name>
        <value><string>/tmp/scale-lab-root/logs/a/etcd-a-stdout---supervisor-3m1v0sb8.log</string></value>
        </member>
        <member>
        <name>stderr_logfile</name>
        <value><string></string></value>
        </member>
        <member>
        <name>pid</name>
        <value><int>7341</int></value>
        </member>
        <member>
        <name>description</name>
        <value><string>pid 7341, uptime 0:01:38</string></value>
        </member>
        </struct></value>
        <value><struct>
        <member>
        <name>name</name>
        <value><string>web-a2</string></value>
        </member>
        <member>
        <name>group</name>
        <value><string>web-a2</string></value>
        </member>
        <member>
        <name>start</name>
        <value><int>1796519143</int></value>
        </member>
        <member>
        <name>stop</name>
        <value><int>0</int></value>
        </member>
        <member>
        <name>now</name>
        <value><int>1796519236</int></value>
        </member>
        <member>
        <name>state</name>
        <value><int>0</int></value>
        </member>
        <member>
        <name>statename</name>
        <value><string>STOPPED</string></value>
        </member>
        <member>
        <name>spawnerr</name>
        <value><string></string></value>
        </member>
        <member>
        <name>exitstatus</name>
        <value><int>0</int></value>
        </member>
        <member>
        <name>logfile</name>
        <value><string>/tmp/scale-lab-root/logs/a/web-a2-stdout---supervisor-i2c_5tyk.log</string></value>
        </member>
        <member>
        <name>stdout_logfile</name>
        <value><string>/tmp/scale-lab-root/logs/a/web-a2-stdout---supervisor-i2c_5tyk.log</string></value>
        </member>
        <member>
        <name>stderr_logfile</name>
        <value><string></string></value>
        </member>
        <member>
        <name>pid</name>
        <value><int>0</int></value>
        </member>
        <member>
        <name>description</name>
        <value><string>Dec 06 01:07 AM</string></value>
        </member>
        </struct></value>
        </data></array></value>
        </param>
        </params>
        </methodResponse>

        """;

    /// <summary>supervisord's answer to a method it does not have (recorded).</summary>
    public const string RecordedFault = """
        <?xml version='1.0'?>
        <methodResponse>
        <fault>
        <value><struct>
        <member>
        <name>faultCode</name>
        <value><int>1</int></value>
        </member>
        <member>
        <name>faultString</name>
        <value><string>UNKNOWN_METHOD</string></value>
        </member>
        </struct></value>
        </fault>
        </methodResponse>

        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("scale-rpc-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ParseAllProcessInfo_Recorded_NameStateAndPidOfEach()
    {
        var states = SupervisorRpc.ParseAllProcessInfo(RecordedAllProcessInfo);

        Assert.Equal(2, states.Count);
        Assert.Equal(new ProgramState("etcd-a", "RUNNING", 7341), states["etcd-a"]);
        Assert.Equal(new ProgramState("web-a2", "STOPPED", null), states["web-a2"]);
    }

    [Theory]
    [InlineData(RecordedFault, "fault: UNKNOWN_METHOD")]
    [InlineData("<html>not RPC</html>", "no array of processes")]
    [InlineData("supervisor.sock is not a server", "something else than XML-RPC")]
    public void ParseAllProcessInfo_NotAnAnswer_SaysWhat(string xml, string expected)
    {
        var error = Assert.Throws<SupervisorRpcException>(() => SupervisorRpc.ParseAllProcessInfo(xml));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusAsync_OverTheUnixSocket_AsksGetAllProcessInfoAndStartsNoProgram()
    {
        var socketPath = Path.Join(_folder, "supervisor.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen();
        var served = ServeOnceAsync(listener, RecordedAllProcessInfo);
        var pidFile = Path.Join(_folder, "a.pid");
        // The pid file names a live process (this one), so the daemon counts as running.
        await File.WriteAllTextAsync(pidFile, $"{Environment.ProcessId}\n");
        var commands = new RecordingCommandRunner();
        using var supervisor = new Supervisor("a", "/lab/a.conf", pidFile, "scl27000-a", commands, socket: socketPath);

        var states = await supervisor.StatusAsync(CancellationToken.None);

        var request = await served;
        Assert.StartsWith("POST /RPC2 HTTP/1.1", request, StringComparison.Ordinal);
        Assert.Contains("<methodName>supervisor.getAllProcessInfo</methodName>", request, StringComparison.Ordinal);
        Assert.Equal(7341, states["etcd-a"].Pid);
        Assert.Equal("STOPPED", states["web-a2"].State);
        Assert.Empty(commands.Lines);
    }

    [Fact]
    public async Task StatusAsync_NobodyOnTheSocket_Empty()
    {
        var pidFile = Path.Join(_folder, "b.pid");
        await File.WriteAllTextAsync(pidFile, $"{Environment.ProcessId}\n");
        using var supervisor = new Supervisor("b", "/lab/b.conf", pidFile, "scl27000-b", new RecordingCommandRunner(), socket: Path.Join(_folder, "none.sock"));

        Assert.Empty(await supervisor.StatusAsync(CancellationToken.None));
    }

    [Fact]
    public async Task StartProcessAsync_ARealSupervisord_ForksAtOnceWithoutWaiting_AndAgainIsNoError()
    {
        // supervisord as the lab installs it (the lab's tests would install it too).
        await new DebianPackages(new SystemCommandRunner(), TextWriter.Null).EnsureAsync(Environment.UserName == "root", CancellationToken.None);
        var socketPath = Path.Join(_folder, "s.sock");
        var pidFile = Path.Join(_folder, "s.pid");
        var config = Path.Join(_folder, "s.conf");
        // startsecs 30: a start that waited for it would take 30 s.
        await File.WriteAllTextAsync(config, $"""
            [unix_http_server]
            file={socketPath}
            [supervisord]
            pidfile={pidFile}
            logfile={Path.Join(_folder, "s.log")}
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
            [supervisorctl]
            serverurl=unix://{socketPath}
            [program:sleeper]
            command=sleep 600
            autostart=false
            startsecs=30
            """);
        using var supervisor = new Supervisor("t", config, pidFile, null, new SystemCommandRunner(), socket: socketPath);
        await supervisor.StartDaemonAsync(CancellationToken.None);
        try
        {
            using var rpc = new SupervisorRpc(socketPath);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Assert.True(await rpc.StartProcessAsync("sleeper", waitForStartSeconds: false, CancellationToken.None));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the start waited {clock.Elapsed}");
            var state = (await rpc.AllProcessInfoAsync(CancellationToken.None))["sleeper"];
            Assert.Equal("STARTING", state.State);
            Assert.NotNull(state.Pid);
            Assert.False(await rpc.StartProcessAsync("sleeper", waitForStartSeconds: false, CancellationToken.None));
            var missing = await Assert.ThrowsAsync<SupervisorRpcException>(() => rpc.StartProcessAsync("nobody", waitForStartSeconds: false, CancellationToken.None));
            Assert.Contains("could not start nobody: BAD_NAME", missing.Message, StringComparison.Ordinal);
        }
        finally
        {
            await supervisor.ShutdownAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        }
    }

    [Theory]
    [InlineData("<?xml version='1.0'?><methodResponse><params><param><value><boolean>1</boolean></value></param></params></methodResponse>", true)]
    [InlineData("<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>60</int></value></member><member><name>faultString</name><value><string>ALREADY_STARTED: web-a1</string></value></member></struct></value></fault></methodResponse>", false)]
    public void ParseStartProcess_StartedOrAlreadyStarted(string xml, bool started) =>
        Assert.Equal(started, SupervisorRpc.ParseStartProcess(xml, "web-a1"));

    [Theory]
    [InlineData("<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>50</int></value></member><member><name>faultString</name><value><string>SPAWN_ERROR: web-a1</string></value></member></struct></value></fault></methodResponse>", "could not start web-a1: SPAWN_ERROR: web-a1")]
    [InlineData("<html>not RPC</html>", "neither a result nor a fault")]
    [InlineData("not XML", "something else than XML-RPC")]
    public void ParseStartProcess_Otherwise_SaysWhat(string xml, string expected)
    {
        var error = Assert.Throws<SupervisorRpcException>(() => SupervisorRpc.ParseStartProcess(xml, "web-a1"));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    /// <summary>Accepts one connection, reads one HTTP request (headers and its Content-Length body), answers it.</summary>
    private static async Task<string> ServeOnceAsync(Socket listener, string body)
    {
        using var connection = await listener.AcceptAsync();
        await using var stream = new NetworkStream(connection, ownsSocket: false);
        var received = new StringBuilder();
        var buffer = new byte[8192];
        while (true)
        {
            var read = await stream.ReadAsync(buffer);
            Assert.NotEqual(0, read);
            received.Append(Encoding.UTF8.GetString(buffer, 0, read));
            var text = received.ToString();
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }

            var length = text[..end].Split("\r\n").Where(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                .Select(h => int.Parse(h["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)).Single();
            if (Encoding.UTF8.GetByteCount(text[(end + 4)..]) >= length)
            {
                break;
            }
        }

        var payload = Encoding.UTF8.GetBytes(body);
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nServer: Medusa/1.12\r\nContent-Type: text/xml\r\nContent-Length: {payload.Length}\r\n\r\n");
        await stream.WriteAsync(head);
        await stream.WriteAsync(payload);
        return received.ToString();
    }
}
