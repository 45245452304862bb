using Scale.Testing;
using Scale.Cli.Tests.Infrastructure;

namespace Scale.Cli.Tests;

/// <summary><c>scale similar</c>, and similarity as the last step of <c>scale run</c>.</summary>
public sealed class SimilarCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Run_Default_EveryEligibleSongGetsAListOfAtMost100()
    {
        var (corpus, db) = await SynthAsync();

        var run = await ScaleProcess.RunAsync(_dir.Path, ["run", "--source", corpus, "--db", db]);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Similarity run 1: completed", run.Stdout, StringComparison.Ordinal);
        using var store = ScaleDb.Open(db);
        Assert.Equal(store.Scalar("SELECT count(*) FROM songs WHERE instrument_count >= 3"), store.Count("similar_lists"));
        Assert.Equal(0, store.Scalar("SELECT count(*) FROM similar_lists WHERE stored > 100 OR stored > total OR length(entries) <> stored * 13"));
        Assert.True(store.Scalar("SELECT sum(stored) FROM similar_lists") > 0);
        Assert.Equal(["completed jaccard 0.5 100 3"], store.Rows("SELECT status || ' ' || measure || ' ' || threshold || ' ' || top_k || ' ' || min_instruments FROM similarity_runs;"));
    }

    [Fact]
    public async Task Similar_AfterRunWithoutIt_UsesTheGivenSettings()
    {
        var (corpus, db) = await SynthAsync();
        var run = await ScaleProcess.RunAsync(_dir.Path, ["run", "--source", corpus, "--db", db, "--no-similar"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        using (var before = ScaleDb.Open(db))
        {
            Assert.Equal(0, before.Count("similar_lists"));
        }

        var similar = await ScaleProcess.RunAsync(_dir.Path, ["similar", "--db", db, "--measure", "weighted", "--threshold", "0.6", "--top-k", "5", "--min-instruments", "4"]);

        Assert.True(similar.ExitCode == 0, similar.ToString());
        using var store = ScaleDb.Open(db);
        Assert.Equal(store.Scalar("SELECT count(*) FROM songs WHERE instrument_count >= 4"), store.Count("similar_lists"));
        Assert.Equal(0, store.Scalar("SELECT count(*) FROM similar_lists WHERE stored > 5"));
        Assert.Equal(["completed weighted 0.6 5 4"], store.Rows("SELECT status || ' ' || measure || ' ' || threshold || ' ' || top_k || ' ' || min_instruments FROM similarity_runs;"));
    }

    [Theory]
    [InlineData("--threshold", "1.5")]
    [InlineData("--threshold", "0")]
    [InlineData("--top-k", "0")]
    [InlineData("--measure", "cosine")]
    public async Task Similar_BadSetting_ExitCode2AndNamesTheOption(string option, string value)
    {
        var run = await ScaleProcess.RunAsync(_dir.Path, ["similar", "--db", _dir.Combine("x.db"), option, value]);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.False(run.HasStackTrace, run.ToString());
        Assert.Contains(option, Assert.Single(run.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Similar_NoDatabase_ExitCode2AndSaysToRunFirst()
    {
        var run = await ScaleProcess.RunAsync(_dir.Path, ["similar", "--db", _dir.Combine("missing.db")]);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("scale run", Assert.Single(run.StderrLines), StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.Combine("missing.db")));
    }

    private async Task<(string Corpus, string Db)> SynthAsync()
    {
        var corpus = _dir.Combine("corpus");
        await Arrange.SynthAsync(_dir.Path, corpus, 250, 4, []);
        return (corpus, _dir.Combine("scale.db"));
    }
}
