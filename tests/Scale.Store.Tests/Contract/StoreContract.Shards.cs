namespace Scale.Store.Tests.Contract;

/// <summary>Shard completion: committed with the shard's last batch, read back with GetCompletedShardsAsync.</summary>
public abstract partial class StoreContract
{
    [Fact]
    public async Task WriteBatch_CompletingAShard_RecordsItWithTheBatch()
    {
        var time = new ManualTime(new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero));
        await using var store = await Backend.OpenAsync(time);
        var run = await store.BeginRunAsync(Source, None);

        await store.WriteBatchAsync(run, [Fake.Song("3/a.mid", 1)], None);
        Assert.Empty(await store.GetCompletedShardsAsync(None));
        var result = await store.WriteBatchAsync(run, [Fake.Song("3/b.mid", 2)], new ShardSpec(3, 16), None);

        Assert.Equal(1, result.Valid);
        var shard = Assert.Single(await store.GetCompletedShardsAsync(None));
        Assert.Equal(new ShardRecord(Source, 3, 16, run, time.GetUtcNow()), shard);
    }

    [Fact]
    public async Task WriteBatch_EmptyBatchCompletingAShard_RecordsIt()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);

        var result = await store.WriteBatchAsync(run, [], new ShardSpec(0, 1), None);

        Assert.Equal(default, result);
        Assert.Equal([(Source, 0, 1, run)], (await store.GetCompletedShardsAsync(None)).Select(s => (s.Source, s.Index, s.Count, s.RunId)));
    }

    [Fact]
    public async Task WriteBatch_ShardCompletedTwice_KeepsTheFirstRecord()
    {
        var time = new ManualTime(new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero));
        await using var store = await Backend.OpenAsync(time);
        var first = await store.BeginRunAsync(Source, None);
        await store.WriteBatchAsync(first, [Fake.Song("a.mid", 1)], new ShardSpec(1, 4), None);
        time.Advance(TimeSpan.FromMinutes(5));
        var second = await store.BeginRunAsync(Source, None);

        var again = await store.WriteBatchAsync(second, [Fake.Song("a.mid", 1)], new ShardSpec(1, 4), None);

        Assert.Equal(1, again.Ignored);
        var shard = Assert.Single(await store.GetCompletedShardsAsync(None));
        Assert.Equal((first, time.GetUtcNow() - TimeSpan.FromMinutes(5)), (shard.RunId, shard.CompletedAt));
    }

    [Fact]
    public async Task GetCompletedShards_SeveralSourcesAndCounts_OrderedBySourceCountIndex()
    {
        await using var store = await Backend.OpenAsync();
        var b = await store.BeginRunAsync("folder:/b", None);
        var a = await store.BeginRunAsync("folder:/a", None);
        await store.WriteBatchAsync(b, [], new ShardSpec(2, 3), None);
        await store.WriteBatchAsync(b, [], new ShardSpec(0, 3), None);
        await store.WriteBatchAsync(a, [], new ShardSpec(15, 16), None);
        await store.WriteBatchAsync(a, [], new ShardSpec(0, 2), None);
        await store.WriteBatchAsync(a, [], new ShardSpec(10, 16), None);

        var shards = await store.GetCompletedShardsAsync(None);

        Assert.Equal(
            [("folder:/a", 0, 2), ("folder:/a", 10, 16), ("folder:/a", 15, 16), ("folder:/b", 0, 3), ("folder:/b", 2, 3)],
            shards.Select(s => (s.Source, s.Index, s.Count)));
        Assert.Equal("shards 1/3 not completed", ShardCompleteness.Missing(["folder:/b"], shards)["folder:/b"]);
    }

    [Theory]
    [InlineData(16, 16)]
    [InlineData(-1, 4)]
    [InlineData(0, 0)]
    public async Task WriteBatch_ImpossibleShard_ThrowsBeforeWritingAnything(int index, int count)
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        var before = await Backend.SnapshotAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.WriteBatchAsync(run, [Fake.Song("a.mid", 1)], new ShardSpec(index, count), None));

        Assert.Equal(before, await Backend.SnapshotAsync());
    }
}
