using System.Globalization;
using Microsoft.Data.Sqlite;
using Scale.Testing;
using Scale.Cli.Tests.Infrastructure;

namespace Scale.Cli.Tests;

/// <summary>
/// <c>scale run</c> stopped after its first committed batch, hard (SIGKILL) or with Ctrl+C (SIGINT), then run
/// again: the second run finishes exactly what the first did not, and the store ends as if the job ran once.
/// </summary>
public sealed class InterruptTests(LargeCorpusFixture corpus) : IClassFixture<LargeCorpusFixture>, IDisposable
{
    private const int Batch = 200;

    /// <summary>Safety bound on waiting for the first batch; the job commits one within a second or two.</summary>
    private static readonly TimeSpan FirstBatchBound = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Db => _dir.Combine("scale.db");

    private string[] Arguments =>
    [
        "run", "--source", corpus.Corpus, "--names", Path.Join(corpus.Corpus, "md5_to_paths.json"), "--db", Db,
        "--batch", Batch.ToString(CultureInfo.InvariantCulture),
    ];

    [Fact]
    public async Task Run_KilledAfterFirstBatchThenRunAgain_EveryKeyOnceAndKilledRunMarkedInterrupted()
    {
        using (var first = ScaleProcess.Start(_dir.Path, Arguments))
        {
            var exitedEarly = await WaitForFirstBatchAsync(first);
            first.Kill();
            var killed = await first.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(exitedEarly, $"The run ended before it could be killed; the test proves nothing.\n{killed}");
        }

        long committedAtKill;
        using (var store = ScaleDb.Open(Db))
        {
            committedAtKill = store.Count("source_files");
            Assert.InRange(committedAtKill, 1, LargeCorpusFixture.Files - 1);
            // Killed mid-run: nothing got to mark the run.
            Assert.Equal("running", Assert.Single(store.Runs()).Status);
        }

        var second = await ScaleProcess.RunAsync(_dir.Path, Arguments);

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.False(second.HasStackTrace, second.ToString());
        using var final = ScaleDb.Open(Db);
        AssertWholeCorpusOnce(final);
        var runs = final.Runs();
        Assert.Equal(2, runs.Count);
        Assert.Equal("interrupted", runs[0].Status);
        Assert.Equal("completed", runs[1].Status);
        Assert.Equal(committedAtKill, runs[1].FilesSkipped);
        Assert.Equal(LargeCorpusFixture.Files - committedAtKill, runs[1].FilesValid + runs[1].FilesInvalid);
    }

    /// <summary>docs/operations.md: "Ctrl+C stops promptly, keeps what was committed, and exits with code 130."</summary>
    [Fact]
    public async Task Run_CtrlCAfterFirstBatch_ExitCode130RunRecordedInterruptedAndRerunFinishes()
    {
        ScaleRun interrupted;
        using (var first = ScaleProcess.Start(_dir.Path, Arguments, defaultSignals: true))
        {
            var exitedEarly = await WaitForFirstBatchAsync(first);
            Assert.False(exitedEarly, "The run ended before it could be interrupted; the test proves nothing.");
            await first.SignalAsync("INT");
            interrupted = await first.WaitAsync(TimeSpan.FromSeconds(60));
        }

        using (var store = ScaleDb.Open(Db))
        {
            var run = Assert.Single(store.Runs());
            // The program itself records the interruption; no later run is needed for that.
            Assert.True(run.Status == "interrupted", $"run row status '{run.Status}' after Ctrl+C\n{interrupted}");
            Assert.True(run.Finished, "the interrupted run has no finish time");
            Assert.Equal(store.Count("source_files"), run.FilesValid + run.FilesInvalid);
        }

        Assert.True(interrupted.ExitCode == 130, interrupted.ToString());
        Assert.Contains("interrupted", interrupted.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.False(interrupted.HasStackTrace, interrupted.ToString());

        var second = await ScaleProcess.RunAsync(_dir.Path, Arguments);

        Assert.True(second.ExitCode == 0, second.ToString());
        using var final = ScaleDb.Open(Db);
        AssertWholeCorpusOnce(final);
        var runs = final.Runs();
        Assert.Equal(["interrupted", "completed"], runs.Select(r => r.Status));
    }

    private void AssertWholeCorpusOnce(ScaleDb db)
    {
        var truth = corpus.Truth;
        var keys = db.LedgerKeys();
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(truth.Rows.Select(r => r.Path).Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
        Assert.Equal(truth.Songs.Count, db.Count("songs"));
        Assert.Equal(0, db.Scalar("SELECT count(*) FROM songs WHERE id NOT IN (SELECT song_id FROM source_files WHERE song_id IS NOT NULL);"));
        MapAssert.EqualInstruments(truth.Songs, db.SongInstruments());
        MapAssert.Equal(truth.ExpectedNames, db.SongNames());
        MapAssert.Equal(truth.ErrorCounts, db.InvalidByReason());
        Assert.Equal(
            truth.ErrorRows.Select(r => r.Path).Order(StringComparer.Ordinal),
            db.Rows("SELECT key FROM invalid_files ORDER BY key;").Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// Polls the database until the ledger has a row (a batch is committed). Returns true when the process exited
    /// first. A read-only connection sees only committed transactions (WAL); an early poll may find no file or no
    /// schema yet, which just means "not yet".
    /// </summary>
    private async Task<bool> WaitForFirstBatchAsync(ScaleProcess process)
    {
        using var bound = new CancellationTokenSource(FirstBatchBound);
        while (true)
        {
            if (process.HasExited)
            {
                return true;
            }

            if (File.Exists(Db) && CommittedKeys() > 0)
            {
                return false;
            }

            await Task.Delay(20, bound.Token);
        }
    }

    private long CommittedKeys()
    {
        try
        {
            using var store = ScaleDb.Open(Db);
            return store.Count("source_files");
        }
        catch (SqliteException)
        {
            return 0;
        }
    }
}
