namespace Scale.Store.Tests.Contract;

/// <summary>Runs: begin (stale rows interrupted), complete, read back.</summary>
public abstract partial class StoreContract
{
    [Fact]
    public async Task BeginRun_StaleRunningRowOfSameSource_MarkedInterrupted()
    {
        var time = new ManualTime(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));
        long killed, otherSource;
        await using (var crashed = await Backend.OpenAsync(time))
        {
            killed = await crashed.BeginRunAsync(Source, None);
            otherSource = await crashed.BeginRunAsync("tar:/x.tar", None);
            await crashed.WriteBatchAsync(killed, [Fake.Song("a.mid", 1)], None);
            // The process "dies" here: no CompleteRunAsync.
        }

        await using var store = await Backend.OpenAsync(time);
        var next = await store.BeginRunAsync(Source, None);

        var stale = await store.GetRunAsync(killed, None);
        Assert.NotNull(stale);
        Assert.Equal(RunStatus.Interrupted, stale.Status);
        Assert.Equal(1, stale.Stats.FilesValid);
        Assert.Contains("ended before the run finished", stale.Error, StringComparison.Ordinal);
        Assert.Contains($"run {next}", stale.Error, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Running, (await store.GetRunAsync(otherSource, None))!.Status);
        Assert.Equal(RunStatus.Running, (await store.GetRunAsync(next, None))!.Status);
        Assert.Equal(time.GetUtcNow(), stale.StartedAt);
        Assert.True(next > otherSource && otherSource > killed);
    }

    [Fact]
    public async Task CompleteRun_Stats_RoundTripThroughGetRuns()
    {
        var time = new ManualTime(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
        await using var store = await Backend.OpenAsync(time);
        var first = await store.BeginRunAsync(Source, None);
        var stats = new RunStats
        {
            FilesSeen = 10, FilesSkipped = 3, FilesValid = 5, FilesInvalid = 2, FilesDuplicate = 1, BytesRead = 12345,
            ReadSeconds = 0.5, ExtractSeconds = 1.5, WriteSeconds = 0.25, WallSeconds = 2.0,
        };
        time.Advance(TimeSpan.FromSeconds(2));
        await store.CompleteRunAsync(first, stats, RunStatus.Completed, null, None);
        var second = await store.BeginRunAsync(Source, None);
        await store.CompleteRunAsync(second, new RunStats(), RunStatus.Failed, "disk full", None);

        var runs = await store.GetRunsAsync(10, None);

        Assert.Equal([second, first], runs.Select(r => r.Id));
        Assert.Equal(stats, runs[1].Stats);
        Assert.Equal(RunStatus.Completed, runs[1].Status);
        Assert.Equal(Source, runs[1].Source);
        Assert.Equal(time.GetUtcNow(), runs[1].FinishedAt);
        Assert.Equal(time.GetUtcNow() - TimeSpan.FromSeconds(2), runs[1].StartedAt);
        Assert.Null(runs[1].Error);
        Assert.Equal(RunStatus.Failed, runs[0].Status);
        Assert.Equal("disk full", runs[0].Error);
        Assert.Equal([second], (await store.GetRunsAsync(1, None)).Select(r => r.Id));
        Assert.Equal(runs[1], await store.GetRunAsync(first, None));
    }

    [Fact]
    public async Task CompleteRun_StillRunning_LeavesFinishedAtEmpty()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);

        await store.CompleteRunAsync(run, new RunStats { FilesSeen = 1 }, RunStatus.Running, null, None);

        var row = await store.GetRunAsync(run, None);
        Assert.Equal((RunStatus.Running, (DateTimeOffset?)null, 1L), (row!.Status, row.FinishedAt, row.Stats.FilesSeen));
    }

    [Fact]
    public async Task Runs_UnknownIdOrBadLimit_NullOrArgumentError()
    {
        await using var store = await Backend.OpenAsync();

        Assert.Null(await store.GetRunAsync(77, None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.CompleteRunAsync(77, new RunStats(), RunStatus.Completed, null, None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetRunsAsync(0, None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetRunsAsync(-1, None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.BeginRunAsync("", None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.GetFinishedKeysAsync("", None));
        Assert.Empty(await store.GetRunsAsync(int.MaxValue, None));
    }
}
