using Scale.Testing;
using Scale.Cli.Tests.Infrastructure;

namespace Scale.Cli.Tests;

/// <summary><c>scale run</c> on a folder corpus from <c>scale synth</c>, checked against the synth manifest.</summary>
public sealed class RunCommandTests : IDisposable
{
    private const int Files = 300;
    private const long Seed = 5;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(null)]
    [InlineData("0.25")] // 75 damaged files: every kind of damage, every reason code, twice over
    public async Task Run_SynthFolderWithNames_StoresWhatTheManifestSays(string? damagedShare)
    {
        var (corpus, db) = await SynthAsync(damagedShare is null ? [] : ["--damaged-share", damagedShare]);
        var truth = SynthTruth.Load(corpus);

        var run = await RunAsync(corpus, db);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.False(run.HasStackTrace, run.ToString());
        using var store = ScaleDb.Open(db);
        Assert.Equal(truth.Songs.Count, store.Count("songs"));
        Assert.Equal(truth.ErrorRows.Count, store.Count("invalid_files"));
        MapAssert.Equal(truth.ErrorCounts, store.InvalidByReason());
        Assert.Equal(
            truth.ErrorRows.Select(r => r.Path).Order(StringComparer.Ordinal),
            store.Rows("SELECT key FROM invalid_files ORDER BY key;").Order(StringComparer.Ordinal));
        Assert.Equal(truth.Rows.Select(r => r.Path).Order(StringComparer.Ordinal), store.LedgerKeys().Order(StringComparer.Ordinal));
        MapAssert.Equal(truth.ExpectedNames, store.SongNames());
        MapAssert.EqualInstruments(truth.Songs, store.SongInstruments());

        var songRows = truth.Rows.Count(r => r.IsSong);
        var runRow = Assert.Single(store.Runs());
        Assert.Equal("completed", runRow.Status);
        Assert.True(runRow.Finished);
        Assert.Null(runRow.Error);
        Assert.Contains(corpus, runRow.Source, StringComparison.Ordinal);
        Assert.Equal(Files, runRow.FilesSeen);
        Assert.Equal(0, runRow.FilesSkipped);
        Assert.Equal(songRows, runRow.FilesValid);
        Assert.Equal(truth.ErrorRows.Count, runRow.FilesInvalid);
        Assert.Equal(songRows - truth.Songs.Count, runRow.FilesDuplicate);
    }

    [Fact]
    public async Task Run_SecondTimeOnSameSource_ProcessesNothingAndLeavesTablesUnchanged()
    {
        var (corpus, db) = await SynthAsync();
        var first = await RunAsync(corpus, db);
        Assert.True(first.ExitCode == 0, first.ToString());
        IReadOnlyList<string> before;
        using (var store = ScaleDb.Open(db))
        {
            before = store.ResultSnapshot();
        }

        var second = await RunAsync(corpus, db);

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.False(second.HasStackTrace, second.ToString());
        Assert.Contains("already done", second.Stdout, StringComparison.Ordinal);
        using var after = ScaleDb.Open(db);
        Assert.Equal(before, after.ResultSnapshot());
        var runs = after.Runs();
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.Equal("completed", r.Status));
        Assert.Equal(runs[0].Source, runs[1].Source);
        Assert.Equal(Files, runs[1].FilesSeen);
        Assert.Equal(Files, runs[1].FilesSkipped);
        Assert.Equal(0, runs[1].FilesValid);
        Assert.Equal(0, runs[1].FilesInvalid);
    }

    private async Task<(string Corpus, string Db)> SynthAsync(params string[] extra)
    {
        var corpus = _dir.Combine("corpus");
        await Arrange.SynthAsync(_dir.Path, corpus, Files, Seed, extra);
        return (corpus, _dir.Combine("scale.db"));
    }

    private Task<ScaleRun> RunAsync(string corpus, string db) =>
        ScaleProcess.RunAsync(_dir.Path, ["run", "--source", corpus, "--names", Path.Join(corpus, "md5_to_paths.json"), "--db", db]);

    [Fact]
    public async Task Run_SameFolderSpelledRelativeWithTrailingSlash_SecondRunProcessesNothing()
    {
        var (corpus, db) = await SynthAsync();
        var first = await RunAsync(corpus, db);
        Assert.True(first.ExitCode == 0, first.ToString());
        var elsewhere = Directory.CreateDirectory(_dir.Combine("elsewhere")).FullName;

        var second = await ScaleProcess.RunAsync(elsewhere, ["run", "--source", "../corpus/", "--db", db]);

        Assert.True(second.ExitCode == 0, second.ToString());
        using var store = ScaleDb.Open(db);
        var runs = store.Runs();
        Assert.Equal(runs[0].Source, runs[1].Source);
        Assert.Equal(Files, runs[1].FilesSkipped);
        Assert.Equal(Files, store.Count("source_files"));
    }

    [Fact]
    public async Task Run_SameSongUnderTwoKeys_StoredOnceAndCountedAsDuplicate()
    {
        var (corpus, db) = await SynthAsync();
        var truth = SynthTruth.Load(corpus);
        var song = truth.Rows.First(r => r.IsSong);
        var copyKey = "z/copy-of-first-song.mid";
        _dir.Write("corpus/" + copyKey, await File.ReadAllBytesAsync(Path.Join(corpus, song.Path)));

        var run = await RunAsync(corpus, db);

        Assert.True(run.ExitCode == 0, run.ToString());
        using var store = ScaleDb.Open(db);
        Assert.Equal(truth.Songs.Count, store.Count("songs"));
        Assert.Equal(Files + 1, store.Count("source_files"));
        Assert.Equal([song.Md5, song.Md5], store.Rows($"SELECT song_id FROM source_files WHERE key IN ('{song.Path}', '{copyKey}');"));
        var runRow = Assert.Single(store.Runs());
        Assert.Equal(truth.Rows.Count(r => r.IsSong) + 1, runRow.FilesValid);
        Assert.Equal(truth.Rows.Count(r => r.IsSong) + 1 - truth.Songs.Count, runRow.FilesDuplicate);
        Assert.Equal(truth.ExpectedNames[song.Md5], store.SongNames()[song.Md5]);
    }

    [Fact]
    public async Task Run_SettingsFromEnvironment_SameAsFlags()
    {
        var (corpus, db) = await SynthAsync();
        var truth = SynthTruth.Load(corpus);

        var run = await ScaleProcess.RunAsync(_dir.Path, ["run"], new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["SCALE_SOURCE"] = corpus,
            ["SCALE_NAMES"] = Path.Join(corpus, "md5_to_paths.json"),
            ["SCALE_DB"] = db,
        });

        Assert.True(run.ExitCode == 0, run.ToString());
        using var store = ScaleDb.Open(db);
        MapAssert.Equal(truth.ExpectedNames, store.SongNames());
        MapAssert.Equal(truth.ErrorCounts, store.InvalidByReason());
    }

    [Fact]
    public async Task Run_MaxFileBytes_LargerFilesRecordedTooLargeWithoutMd5()
    {
        const long limit = 20_000;
        var (corpus, db) = await SynthAsync();
        var truth = SynthTruth.Load(corpus);
        // Preconditions: the manifest's sizes are the files', and no file is gzip (whose unpacked size would count too).
        Assert.All(truth.Rows, r => Assert.Equal(r.Bytes, new FileInfo(Path.Join(corpus, r.Path)).Length));
        Assert.DoesNotContain(truth.Rows, r => r.Kind.StartsWith("gzip", StringComparison.Ordinal));
        var large = truth.Rows.Where(r => r.Bytes > limit).ToList();
        var small = truth.Rows.Where(r => r.Bytes <= limit).ToList();
        Assert.NotEmpty(large);
        Assert.NotEmpty(small);

        var run = await ScaleProcess.RunAsync(_dir.Path,
            ["run", "--source", corpus, "--db", db, "--max-file-bytes", limit.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.True(run.ExitCode == 0, run.ToString());
        using var store = ScaleDb.Open(db);
        Assert.Equal(
            large.Select(r => r.Path).Order(StringComparer.Ordinal),
            store.Rows("SELECT key FROM invalid_files WHERE reason_code = 'too-large' AND md5 IS NULL ORDER BY key;"));
        var expectedErrors = small.Where(r => !r.IsSong).GroupBy(r => r.Error!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
        expectedErrors["too-large"] = large.Count;
        MapAssert.Equal(expectedErrors, store.InvalidByReason());
        var expectedSongs = small.Where(r => r.IsSong).GroupBy(r => r.Md5, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Instruments, StringComparer.Ordinal);
        MapAssert.EqualInstruments(expectedSongs, store.SongInstruments());
    }
}
