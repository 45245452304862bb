using System.Globalization;
using Scale.Testing;
using Scale.Cli.Tests.Infrastructure;

namespace Scale.Cli.Tests;

/// <summary>
/// <c>scale extract</c>: shards run side by side, shards killed with SIGKILL at random moments and run again, and
/// <c>scale similar</c> refusing until every shard is complete. The reference is one plain <c>scale run</c> of the
/// same corpus: whatever happens, the store must end with the same contents.
/// </summary>
public sealed class ShardedExtractTests(LargeCorpusFixture corpus) : IClassFixture<LargeCorpusFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Extract_FourShardsAtOnce_SimilarWaitsForTheLastThenSameStoreAsOneRun()
    {
        var db = _dir.Combine("sharded.db");
        var reference = await ReferenceAsync();

        // Three shards at once (three processes writing one SQLite file), the fourth later.
        var runs = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => ExtractAsync(db, $"{i}/4")));
        Assert.All(runs, r => Assert.True(r.ExitCode == 0, r.ToString()));

        var refused = await ScaleProcess.RunAsync(_dir.Path, ["similar", "--db", db]);
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains("3/4", refused.Stderr, StringComparison.Ordinal);

        var last = await ScaleProcess.RunAsync(_dir.Path, ["extract", "--source", corpus.Corpus, "--names", Path.Join(corpus.Corpus, "md5_to_paths.json"), "--shards", "4", "--db", db], new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["JOB_COMPLETION_INDEX"] = "3",
        });
        Assert.True(last.ExitCode == 0, last.ToString());
        var similar = await ScaleProcess.RunAsync(_dir.Path, ["similar", "--db", db]);
        Assert.True(similar.ExitCode == 0, similar.ToString());

        using var store = ScaleDb.Open(db);
        Assert.Equal(reference, Contents(store));
        Assert.Equal(["0/4", "1/4", "2/4", "3/4"], store.Rows("SELECT shard_index || '/' || shard_count FROM shards ORDER BY shard_index;"));
        Assert.Equal(store.Scalar("SELECT count(*) FROM songs WHERE instrument_count >= 3"), store.Count("similar_lists"));
    }

    [Fact]
    public async Task Extract_KilledAtRandomMomentsThenRerun_SameStoreAsOneRun()
    {
        const int Trials = 6;
        var reference = await ReferenceAsync();
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var log = new List<string> { string.Create(CultureInfo.InvariantCulture, $"seed {seed}") };

        for (var trial = 0; trial < Trials; trial++)
        {
            var db = _dir.Combine($"trial{trial}.db");
            var shard = $"{trial % 2}/2";
            var other = $"{1 - (trial % 2)}/2";
            // Kill the shard 1-4 times at random moments (small batches: many commits, so some kills land in one).
            var kills = random.Next(1, 5);
            for (var k = 0; k < kills; k++)
            {
                var delay = random.Next(150, 1_500);
                using var process = ScaleProcess.Start(_dir.Path, ExtractArguments(db, shard, batch: 40));
                await Task.Delay(delay);
                process.Kill();
                var killed = await process.WaitAsync(TimeSpan.FromSeconds(30));
                log.Add(string.Create(CultureInfo.InvariantCulture, $"trial {trial}: killed {shard} after {delay} ms (exit {killed.ExitCode})"));
            }

            var rerun = await ExtractAsync(db, shard);
            Assert.True(rerun.ExitCode == 0, string.Join('\n', log) + "\n" + rerun);
            var rest = await ExtractAsync(db, other);
            Assert.True(rest.ExitCode == 0, string.Join('\n', log) + "\n" + rest);

            using var store = ScaleDb.Open(db);
            var contents = Contents(store);
            Assert.True(reference.SequenceEqual(contents), $"{string.Join('\n', log)}\ncontents differ from a clean run's (first difference: {reference.Except(contents).Concat(contents.Except(reference)).FirstOrDefault()})");
            Assert.Equal(2, store.Count("shards"));
        }
    }

    [Theory]
    [InlineData(new[] { "--shard", "4/4" }, null, "--shard")]
    [InlineData(new[] { "--shard", "x" }, null, "--shard")]
    [InlineData(new string[0], null, "--shard i/N")]
    [InlineData(new[] { "--shards", "4" }, "7", "JOB_COMPLETION_INDEX")]
    public async Task Extract_BadShard_ExitCode2AndSaysWhy(string[] arguments, string? completionIndex, string mentioned)
    {
        var environment = completionIndex is null ? null : new Dictionary<string, string>(StringComparer.Ordinal) { ["JOB_COMPLETION_INDEX"] = completionIndex };

        var run = await ScaleProcess.RunAsync(_dir.Path, ["extract", "--source", corpus.Corpus, "--db", _dir.Combine("x.db"), .. arguments], environment);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(mentioned, Assert.Single(run.StderrLines), StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.Combine("x.db")));
    }

    private string[] ExtractArguments(string db, string shard, int batch = 500) =>
        ["extract", "--source", corpus.Corpus, "--names", Path.Join(corpus.Corpus, "md5_to_paths.json"), "--db", db, "--shard", shard, "--batch", batch.ToString(CultureInfo.InvariantCulture)];

    private Task<ScaleRun> ExtractAsync(string db, string shard) => ScaleProcess.RunAsync(_dir.Path, ExtractArguments(db, shard));

    private async Task<IReadOnlyList<string>> ReferenceAsync()
    {
        var db = _dir.Combine("reference.db");
        var run = await ScaleProcess.RunAsync(_dir.Path, ["run", "--source", corpus.Corpus, "--names", Path.Join(corpus.Corpus, "md5_to_paths.json"), "--db", db, "--no-similar"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        using var store = ScaleDb.Open(db);
        return Contents(store);
    }

    /// <summary>Everything a run stores that does not depend on which run (or process) stored it.</summary>
    private static IReadOnlyList<string> Contents(ScaleDb store) =>
    [
        .. Arrange.SongSnapshot(store),
        .. store.Rows("SELECT source, key, song_id, bytes FROM source_files ORDER BY source, key;"),
        .. store.Rows("SELECT source, key, md5, reason_code, message, bytes FROM invalid_files ORDER BY source, key;"),
    ];
}
