using Scale.Testing;
using Scale.Cli.Tests.Infrastructure;

namespace Scale.Cli.Tests;

/// <summary><c>scale demo</c>: synth once, run into SQLite, summary; a second demo reuses the corpus.</summary>
public sealed class DemoCommandTests : IDisposable
{
    private const int Files = 200;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Demo_SmallCorpus_ExitCode0AndDatabaseHoldsTheCorpusSongs()
    {
        var demo = _dir.Combine("demo");

        var run = await DemoAsync(demo);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.False(run.HasStackTrace, run.ToString());
        var truth = SynthTruth.Load(Path.Join(demo, "corpus"));
        Assert.Equal(Files, truth.Rows.Count);
        using var db = ScaleDb.Open(Path.Join(demo, "scale.db"));
        Assert.True(truth.Songs.Count > 0);
        MapAssert.EqualInstruments(truth.Songs, db.SongInstruments());
        MapAssert.Equal(truth.ExpectedNames, db.SongNames());
        MapAssert.Equal(truth.ErrorCounts, db.InvalidByReason());
        var runRow = Assert.Single(db.Runs());
        Assert.Equal("completed", runRow.Status);
    }

    [Fact]
    public async Task Demo_Twice_SecondReusesTheCorpusAndAddsNothing()
    {
        var demo = _dir.Combine("demo");
        var first = await DemoAsync(demo);
        Assert.True(first.ExitCode == 0, first.ToString());
        var corpusBefore = CorpusFiles(demo);
        IReadOnlyList<string> before;
        using (var db = ScaleDb.Open(Path.Join(demo, "scale.db")))
        {
            before = db.ResultSnapshot();
        }

        var second = await DemoAsync(demo);

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.False(second.HasStackTrace, second.ToString());
        Assert.Contains("reusing", second.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(corpusBefore, CorpusFiles(demo));
        using var after = ScaleDb.Open(Path.Join(demo, "scale.db"));
        Assert.Equal(before, after.ResultSnapshot());
        var runs = after.Runs();
        Assert.Equal(2, runs.Count);
        Assert.Equal("completed", runs[1].Status);
        Assert.Equal(Files, runs[1].FilesSkipped);
        Assert.Equal(0, runs[1].FilesValid + runs[1].FilesInvalid);
    }

    [Fact]
    public async Task Demo_ByDefault_EndsServingTheWebAppOverItsDataUntilStopped()
    {
        var demo = _dir.Combine("demo");
        var url = $"http://127.0.0.1:{FreePort()}";
        using var process = ScaleProcess.Start(_dir.Path, ["demo", "--dir", demo, "--files", "150", "--urls", url], defaultSignals: true);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };

        var deadline = DateTime.UtcNow.AddSeconds(90);
        string? songs = null;
        while (songs is null && DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                songs = await http.GetStringAsync("/api/songs?pageSize=5");
            }
            catch (HttpRequestException)
            {
                await Task.Delay(250);
            }
        }

        if (process.HasExited)
        {
            Assert.Fail("scale demo exited instead of serving:\n" + await process.WaitAsync(TimeSpan.FromSeconds(5)));
        }

        Assert.NotNull(songs);
        using (var db = ScaleDb.Open(Path.Join(demo, "scale.db")))
        {
            using var json = System.Text.Json.JsonDocument.Parse(songs);
            Assert.Equal(db.Count("songs"), json.RootElement.GetProperty("total").GetInt64());
        }

        await process.SignalAsync("TERM");
        var run = await process.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains(url, run.Stdout, StringComparison.Ordinal);
        Assert.False(run.HasStackTrace, run.ToString());
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Task<ScaleRun> DemoAsync(string demo) =>
        ScaleProcess.RunAsync(_dir.Path, ["demo", "--dir", demo, "--files", Files.ToString(System.Globalization.CultureInfo.InvariantCulture), "--no-serve"]);

    /// <summary>Every corpus file with its size and last write time: rewriting any of them changes the list.</summary>
    private static List<string> CorpusFiles(string demo) =>
    [
        .. new DirectoryInfo(Path.Join(demo, "corpus")).EnumerateFiles("*", SearchOption.AllDirectories)
            .Select(f => $"{Path.GetRelativePath(demo, f.FullName)} {f.Length} {f.LastWriteTimeUtc.Ticks}")
            .Order(StringComparer.Ordinal),
    ];
}
