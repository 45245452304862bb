using System.Diagnostics;
using Scale.Lab.Supervision;
using Scale.Testing;

namespace Scale.Lab.Tests.Clients;

/// <summary>supervisorctl's status as supervisord 4.2.5 (Debian 12) prints it, and the commands the client issues.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SupervisorTests : IDisposable
{
    /// <summary>
    /// `supervisorctl -c s.conf status`, recorded from a throwaway supervisord (programs named like the lab's): sleep
    /// programs (one stopped by hand, one with startsecs=100 so still STARTING, one autostart=false), /bin/false with
    /// startretries=1 (FATAL) and 100 (BACKOFF). Exit code 3 (not all RUNNING).
    /// </summary>
    private const string RecordedStatus = """
        etcd-a                           RUNNING   pid 24993, uptime 0:00:02
        pg-a                             STOPPED   Dec 04 09:13 PM
        pg-b                             STARTING  
        pg-exporter-a                    FATAL     Exited too quickly (process log may have details)
        web-a1                           STOPPED   Not started
        web-a2                           BACKOFF   Exited too quickly (process log may have details)

        """;

    private readonly TempFolder _work = new("scale-supervisor-test");

    public void Dispose() => _work.Dispose();

    [Fact]
    public void ParseStatus_RecordedOutput_EveryProgramWithStateAndPid()
    {
        var status = Supervisor.ParseStatus(RecordedStatus);

        Assert.Equal(6, status.Count);
        Assert.Equal(new ProgramState("etcd-a", "RUNNING", 24993), status["etcd-a"]);
        Assert.Equal(new ProgramState("pg-a", "STOPPED", null), status["pg-a"]);
        Assert.Equal(new ProgramState("pg-b", "STARTING", null), status["pg-b"]);
        Assert.Equal(new ProgramState("pg-exporter-a", "FATAL", null), status["pg-exporter-a"]);
        Assert.Equal(new ProgramState("web-a1", "STOPPED", null), status["web-a1"]);
        Assert.Equal(new ProgramState("web-a2", "BACKOFF", null), status["web-a2"]);
    }

    [Fact]
    public void ParseStatus_UptimeInDays_PidStillRead()
    {
        var status = Supervisor.ParseStatus("haproxy                          RUNNING   pid 7, uptime 3 days, 4:05:06\n");

        Assert.Equal(new ProgramState("haproxy", "RUNNING", 7), status["haproxy"]);
    }

    [Fact]
    public void ParseStatus_BlankAndGarbageLines_Ignored()
    {
        // What supervisorctl prints when the daemon is gone (recorded), a Python error, a line of one word, blank and
        // whitespace-only lines.
        const string Output = """

            unix:///tmp/rec-sup-yann/s.sock no such file
            error: <class 'ConnectionRefusedError'>, [Errno 111] Connection refused: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 560
               
            web-b1                           RUNNING   pid 31337, uptime 1:02:03
            lonely
            """;

        var status = Supervisor.ParseStatus(Output);

        Assert.Equal(["web-b1"], status.Keys);
        Assert.Equal(31337, status["web-b1"].Pid);
    }

    [Fact]
    public void ParseStatus_Empty_Empty()
    {
        Assert.Empty(Supervisor.ParseStatus(""));
        Assert.Empty(Supervisor.ParseStatus("\n\n"));
    }

    [Fact]
    public async Task StartAndStopAsync_IssueSupervisorctlWithItsConfig()
    {
        var commands = new RecordingCommandRunner();
        var supervisor = new Supervisor("a", "/lab/supervisor-a.conf", Path.Join(_work.Path, "a.pid"), "scl27000-a", commands);

        await supervisor.StartAsync(["etcd-a", "pg-a"], CancellationToken.None);
        await supervisor.StopAsync(["web-a1"], CancellationToken.None);

        Assert.Equal(
            ["supervisorctl -c /lab/supervisor-a.conf start etcd-a pg-a", "supervisorctl -c /lab/supervisor-a.conf stop web-a1"],
            commands.Lines);
    }

    [Fact]
    public async Task StatusAsync_DaemonRunning_ParsesSupervisorctlStatus()
    {
        // The pid file names a live process (this one), so the daemon counts as running.
        var pidFile = Path.Join(_work.Path, "host.pid");
        await File.WriteAllTextAsync(pidFile, $"{Environment.ProcessId}\n");
        var commands = new RecordingCommandRunner().Answer("supervisorctl -c /lab/supervisor-host.conf status", new ProgramResult(3, RecordedStatus));
        var supervisor = new Supervisor("host", "/lab/supervisor-host.conf", pidFile, null, commands);

        var status = await supervisor.StatusAsync(CancellationToken.None);

        Assert.True(supervisor.IsRunning);
        Assert.Equal(6, status.Count);
        Assert.Equal("FATAL", status["pg-exporter-a"].State);
        Assert.Equal(["supervisorctl -c /lab/supervisor-host.conf status"], commands.Lines);
    }

    [Fact]
    public async Task StatusAsync_NoPidFileOrStalePid_EmptyWithoutAsking()
    {
        var commands = new RecordingCommandRunner();
        var missing = new Supervisor("b", "/lab/b.conf", Path.Join(_work.Path, "none.pid"), "scl27000-b", commands);
        var garbage = Path.Join(_work.Path, "garbage.pid");
        await File.WriteAllTextAsync(garbage, "not a pid\n");
        var unreadable = new Supervisor("c", "/lab/c.conf", garbage, "scl27000-c", commands);

        Assert.Null(missing.Pid);
        Assert.Empty(await missing.StatusAsync(CancellationToken.None));
        Assert.Null(unreadable.Pid);
        Assert.Empty(await unreadable.StatusAsync(CancellationToken.None));
        Assert.Empty(commands.Lines);
    }

    [Fact]
    public async Task Pid_ProcessExited_Null()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await process.WaitForExitAsync();
        var pidFile = Path.Join(_work.Path, "exited.pid");
        await File.WriteAllTextAsync(pidFile, $"{process.Id}\n");

        Assert.Null(new Supervisor("a", "/lab/a.conf", pidFile, null, new RecordingCommandRunner()).Pid);
    }

    [Fact]
    public async Task StartDaemonAsync_InANamespace_RunsItThroughIpNetnsExec_ThenWaitsForItsSocket()
    {
        var pidFile = Path.Join(_work.Path, "a.pid");
        // A leftover pid file naming a dead process: removed before the start.
        await File.WriteAllTextAsync(pidFile, "2147483646\n");
        var commands = new RecordingCommandRunner()
            .Answer("supervisorctl -c /lab/a.conf pid",
                new ProgramResult(7, "unix:///lab/a.sock no such file\n"),
                new ProgramResult(0, "31337\n"));
        var supervisor = new Supervisor("a", "/lab/a.conf", pidFile, "scl27000-a", commands);

        await supervisor.StartDaemonAsync(CancellationToken.None);

        var lines = commands.Lines;
        Assert.Equal(3, lines.Count);
        Assert.StartsWith("ip netns exec scl27000-a ", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("supervisord -c /lab/a.conf", lines[0], StringComparison.Ordinal);
        Assert.Equal(["supervisorctl -c /lab/a.conf pid", "supervisorctl -c /lab/a.conf pid"], lines.Skip(1));
        Assert.False(File.Exists(pidFile));
    }

    [Fact]
    public async Task StartDaemonAsync_OnTheHost_RunsSupervisordDirectly()
    {
        var commands = new RecordingCommandRunner();
        var supervisor = new Supervisor("host", "/lab/host.conf", Path.Join(_work.Path, "host.pid"), null, commands);

        await supervisor.StartDaemonAsync(CancellationToken.None);

        Assert.Equal(["supervisord -c /lab/host.conf", "supervisorctl -c /lab/host.conf pid"], commands.Lines);
    }

    [Fact]
    public async Task StartDaemonAsync_SupervisordFails_ThrowsWithItsOutput()
    {
        var commands = new RecordingCommandRunner().Fail("supervisord", 2, "Error: could not find config file /lab/host.conf\n");
        var supervisor = new Supervisor("host", "/lab/host.conf", Path.Join(_work.Path, "host.pid"), null, commands);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => supervisor.StartDaemonAsync(CancellationToken.None));

        Assert.Contains("could not find config file", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(commands.Lines, l => l.StartsWith("supervisorctl", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ShutdownAsync_DaemonIgnoresShutdown_KilledAfterTheWait()
    {
        // A stand-in daemon (sleep) that supervisorctl shutdown cannot reach: it is killed when the wait is over.
        using var daemon = Process.Start(new ProcessStartInfo("sleep", ["60"]) { UseShellExecute = false })!;
        try
        {
            var pidFile = Path.Join(_work.Path, "stubborn.pid");
            await File.WriteAllTextAsync(pidFile, $"{daemon.Id}\n");
            var commands = new RecordingCommandRunner();
            var supervisor = new Supervisor("b", "/lab/b.conf", pidFile, "scl27000-b", commands);

            await supervisor.ShutdownAsync(TimeSpan.FromMilliseconds(400), CancellationToken.None);

            Assert.Equal(["supervisorctl -c /lab/b.conf shutdown"], commands.Lines);
            Assert.True(daemon.WaitForExit(TimeSpan.FromSeconds(10)), "the daemon was not killed");
        }
        finally
        {
            if (!daemon.HasExited)
            {
                daemon.Kill();
            }
        }
    }
}
