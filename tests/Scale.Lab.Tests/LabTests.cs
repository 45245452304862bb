using System.Text.Json;
using Scale.Testing;

namespace Scale.Lab.Tests;

/// <summary>
/// `scale lab up`, a short steady load through its HAProxy with `scale load`, `scale lab status`, `scale lab down`:
/// real processes on 127.0.0.1, bounded in time, and nothing left running afterwards.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LabTests : IDisposable
{
    private readonly TempFolder _work = new("scale-lab-test");
    private readonly string _lab;
    private readonly string[] _where;

    public LabTests()
    {
        // Under /tmp (world-traversable) so PostgreSQL, run as the postgres user when the tests run as root, reaches it.
        // Below the ephemeral port range, so no other test's free port collides with the lab's fixed offsets.
        File.SetUnixFileMode(_work.Path, (UnixFileMode)0b111_101_101);
        _lab = Path.Join(_work.Path, "lab");
        _where = ["--dir", _lab, "--base-port", "31000"];
    }

    public void Dispose()
    {
        // Whatever happened, leave nothing running.
        ScaleProcess.RunAsync(_work.Path, ["lab", "down", .. _where], timeout: TimeSpan.FromMinutes(2)).GetAwaiter().GetResult();
        _work.Dispose();
    }

    [Fact]
    public async Task Up_Load_Status_Down_EveryComponentHealthy_EveryRequestSucceeds_NothingLeftRunning()
    {
        var up = await ScaleProcess.RunAsync(_work.Path, ["lab", "up", .. _where, "--files", "300", "--web-per-zone", "1", "--warm-rps", "50"], timeout: TimeSpan.FromMinutes(8));
        Assert.True(up.ExitCode == 0, up.ToString());
        var url = up.StdoutLines[^1];
        Assert.StartsWith("http://127.0.0.1:", url, StringComparison.Ordinal);
        // Its last step: the steady load through HAProxy until served warm (50 requests/s here), each round reported.
        Assert.Contains("warm-up: http://127.0.0.1:", up.Stderr, StringComparison.Ordinal);
        Assert.Contains("round 1: p99 at most", up.Stderr, StringComparison.Ordinal);

        // Starting twice is harmless.
        var again = await ScaleProcess.RunAsync(_work.Path, ["lab", "up", .. _where, "--files", "300", "--web-per-zone", "1", "--warm-rps", "50"], timeout: TimeSpan.FromMinutes(4));
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("already running", again.Stderr, StringComparison.Ordinal);

        var status = await ScaleProcess.RunAsync(_work.Path, ["lab", "status", .. _where, "--json"]);
        Assert.True(status.ExitCode == 0, status.ToString());
        using (var json = JsonDocument.Parse(status.Stdout))
        {
            var components = json.RootElement.GetProperty("components").EnumerateArray().ToList();
            Assert.Equal(15, components.Count);
            Assert.All(components, c => Assert.True(c.GetProperty("healthy").GetBoolean(), c.ToString()));
            var roles = components.Where(c => c.GetProperty("kind").GetString() == "patroni").Select(c => c.GetProperty("role").GetString()).Order(StringComparer.Ordinal);
            Assert.Equal(["primary", "replica", "replica"], roles);
            Assert.Equal(["a", "b", "c"], components.Where(c => c.GetProperty("kind").GetString() == "web").Select(c => c.GetProperty("zone").GetString()));
        }

        var text = await ScaleProcess.RunAsync(_work.Path, ["lab", "status", .. _where]);
        Assert.Contains("zone a", text.Stdout, StringComparison.Ordinal);

        // Steady load through HAProxy to a database page: every request answered, none failed.
        var load = await ScaleProcess.RunAsync(_work.Path, ["load", $"{url}api/instruments", "-t", "10", "--rps", "100", "-c", "20", "-k", "--json", "--quiet"], timeout: TimeSpan.FromMinutes(1));
        Assert.True(load.ExitCode == 0, load.ToString());
        using (var report = JsonDocument.Parse(load.Stdout))
        {
            Assert.Equal(1000, report.RootElement.GetProperty("totalRequests").GetInt64());
            Assert.Equal(0, report.RootElement.GetProperty("totalErrors").GetInt64());
        }

        var down = await ScaleProcess.RunAsync(_work.Path, ["lab", "down", .. _where], timeout: TimeSpan.FromMinutes(2));
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.False(Directory.Exists(_lab));
        Assert.Empty(ProcessesMentioning(_lab));
        Assert.Empty(await NetworkLeftAsync());
        var after = await ScaleProcess.RunAsync(_work.Path, ["lab", "status", .. _where]);
        Assert.Equal(3, after.ExitCode);
    }

    [Fact]
    public async Task Up_SigkilledMidway_DownTwice_LeavesNoProcessNamespaceOrLink()
    {
        using var up = ScaleProcess.Start(_work.Path, ["lab", "up", .. _where, "--files", "300", "--web-per-zone", "1", "--warm-rps", "50"]);
        // Wait until the zones exist and something runs inside them, then kill `up` itself with no chance to clean up.
        var deadline = DateTime.UtcNow.AddMinutes(4);
        while (DateTime.UtcNow < deadline && !up.HasExited && !(await Tools.RunAsync("ip", ["netns", "pids", "scl31000-a"], TimeSpan.FromSeconds(10))).Output.Trim().Any(char.IsAsciiDigit))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(300));
        }

        Assert.False(up.HasExited, "`scale lab up` ended before its zones had processes");
        Assert.NotEmpty(await NetworkLeftAsync());
        await up.SignalAsync("KILL");

        for (var round = 0; round < 2; round++)
        {
            var down = await ScaleProcess.RunAsync(_work.Path, ["lab", "down", .. _where], timeout: TimeSpan.FromMinutes(2));
            Assert.True(down.ExitCode == 0, down.ToString());
            Assert.False(Directory.Exists(_lab));
            Assert.Empty(ProcessesMentioning(_lab));
            Assert.Empty(await NetworkLeftAsync());
        }
    }

    // Namespaces and links whose names start with the lab's prefix (scl + base port).
    private static async Task<List<string>> NetworkLeftAsync()
    {
        var namespaces = await Tools.RunAsync("ip", ["netns", "list"], TimeSpan.FromSeconds(10));
        var links = await Tools.RunAsync("ip", ["-o", "link", "show"], TimeSpan.FromSeconds(10));
        return namespaces.Output.Split('\n').Concat(links.Output.Split('\n'))
            .Where(l => l.Contains("scl31000-", StringComparison.Ordinal))
            .ToList();
    }

    private static List<string> ProcessesMentioning(string text) =>
        Directory.GetDirectories("/proc")
            .Where(d => int.TryParse(Path.GetFileName(d), out _))
            .Select(d => { try { return File.ReadAllText(Path.Join(d, "cmdline")).Replace('\0', ' '); } catch (IOException) { return ""; } catch (UnauthorizedAccessException) { return ""; } })
            .Where(c => c.Contains(text, StringComparison.Ordinal))
            .ToList();
}
