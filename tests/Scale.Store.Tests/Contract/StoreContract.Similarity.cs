namespace Scale.Store.Tests.Contract;

/// <summary>Song sets out, similar-song lists in: similarity runs, replacement in one transaction, rollback.</summary>
public abstract partial class StoreContract
{
    protected static readonly SimilaritySettings Jaccard = new("jaccard", 0.5, 100, 3);

    /// <summary>Four songs whose ids (MD5 of the key) are not in the keys' order.</summary>
    protected static ExtractedFile[] FourSongs() =>
    [
        Fake.Song("0/piano.mid", 0, 1, 2, 128),
        Fake.Song("1/organ.mid", 0, 1, 19, 128),
        Fake.Song("2/strings.mid", 40, 41, 42, 48),
        Fake.Song("3/solo.mid", 73),
    ];

    [Fact]
    public async Task GetSongSets_AfterWrites_EverySongInIdOrderWithItsKeyAndSet()
    {
        var files = FourSongs();
        var (store, _) = await OpenWithSongsAsync(files);
        await using var _1 = store;

        var sets = await store.GetSongSetsAsync(None);

        Assert.Equal(files.Select(f => f.Md5!).Order(StringComparer.Ordinal), sets.Select(s => s.Id));
        foreach (var file in files)
        {
            var set = sets.Single(s => s.Id == file.Md5);
            Assert.Equal(file.Summary!.Instruments, set.Instruments);
            Assert.Equal(set.Key, await Backend.ScalarAsync($"SELECT key FROM songs WHERE id = '{file.Md5}'"));
        }

        Assert.Equal(sets.Count, sets.Select(s => s.Key).Distinct().Count());
    }

    [Fact]
    public async Task GetSongSets_ManyIdsDifferingInCase_OrdinalOrder()
    {
        // Ids are lower-case hex, but the order must be ordinal (digits before letters) whatever the collation.
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        var files = Enumerable.Range(0, 200).Select(i => Fake.Song($"{i}.mid", 1 + (i % 100))).ToArray();
        await store.WriteBatchAsync(run, files, None);

        var sets = await store.GetSongSetsAsync(None);

        Assert.Equal(files.Select(f => f.Md5!).Order(StringComparer.Ordinal), sets.Select(s => s.Id));
    }

    [Fact]
    public async Task ReplaceSimilarities_Lists_StoredWithStatsAndRunCompleted()
    {
        var (store, _) = await OpenWithSongsAsync(FourSongs());
        await using var _1 = store;
        var sets = await store.GetSongSetsAsync(None);
        var simRun = await store.BeginSimilarityRunAsync(Jaccard, None);
        var lists = ListsFor(sets, perSong: 2);

        var stats = await store.ReplaceSimilaritiesAsync(simRun, lists, () => new SimilarityStats { Songs = 4, EligibleSongs = 3, DistinctSets = 3, ComputeSeconds = 1.5, WriteSeconds = 0.25, WallSeconds = 2 }, None);

        Assert.Equal(6, stats.SimilarRows);
        Assert.Equal(lists.Sum(l => l.Total), stats.SimilarPairs);
        Assert.Equal(3, await Backend.CountAsync("similar_lists"));
        var run = Assert.Single(await store.GetSimilarityRunsAsync(10, None));
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(Jaccard, run.Settings);
        Assert.Equal(stats, run.Stats);
        Assert.NotNull(run.FinishedAt);
        Assert.Null(run.Error);
        var entries = (byte[])(await Backend.ValueAsync($"SELECT entries FROM similar_lists WHERE song_key = {lists[0].SongKey}"))!;
        Assert.Equal(lists[0].Rows.ToArray(), SimilarListCodec.Decode(entries, 0, 100));
        Assert.Equal(lists[0].Total, await Backend.ScalarAsync($"SELECT total FROM similar_lists WHERE song_key = {lists[0].SongKey}"));
        Assert.Equal(2, await Backend.ScalarAsync($"SELECT stored FROM similar_lists WHERE song_key = {lists[0].SongKey}"));
    }

    [Fact]
    public async Task ReplaceSimilarities_SecondRun_ReplacesEveryList()
    {
        var (store, _) = await OpenWithSongsAsync(FourSongs());
        await using var _1 = store;
        var sets = await store.GetSongSetsAsync(None);
        await store.ReplaceSimilaritiesAsync(await store.BeginSimilarityRunAsync(Jaccard, None), ListsFor(sets, perSong: 3), () => new SimilarityStats(), None);

        var second = ListsFor(sets, perSong: 1).Take(1).ToList();
        var weighted = Jaccard with { Measure = "weighted", TopK = 1 };
        await store.ReplaceSimilaritiesAsync(await store.BeginSimilarityRunAsync(weighted, None), second, () => new SimilarityStats(), None);

        Assert.Equal(1, await Backend.CountAsync("similar_lists"));
        Assert.Equal(second[0].SongKey, await Backend.ScalarAsync("SELECT song_key FROM similar_lists"));
        var runs = await store.GetSimilarityRunsAsync(10, None);
        Assert.Equal([weighted, Jaccard], runs.Select(r => r.Settings));
        Assert.All(runs, r => Assert.Equal(RunStatus.Completed, r.Status));
        Assert.Single(await store.GetSimilarityRunsAsync(1, None));
    }

    [Fact]
    public async Task ReplaceSimilarities_EnumerationFails_PreviousListsKeptAndRunMarkedFailed()
    {
        var (store, _) = await OpenWithSongsAsync(FourSongs());
        await using var _1 = store;
        var sets = await store.GetSongSetsAsync(None);
        await store.ReplaceSimilaritiesAsync(await store.BeginSimilarityRunAsync(Jaccard, None), ListsFor(sets, perSong: 2), () => new SimilarityStats(), None);
        var before = await Backend.SnapshotAsync();
        var failing = await store.BeginSimilarityRunAsync(Jaccard, None);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.ReplaceSimilaritiesAsync(failing, Failing(ListsFor(sets, perSong: 1)), () => new SimilarityStats(), None));
        Assert.Equal("engine broke", error.Message);
        await store.FailSimilarityRunAsync(failing, RunStatus.Failed, error.Message, None);

        var runs = await store.GetSimilarityRunsAsync(10, None);
        Assert.Equal((RunStatus.Failed, "engine broke"), (runs[0].Status, runs[0].Error));
        Assert.NotNull(runs[0].FinishedAt);
        Assert.Equal(RunStatus.Completed, runs[1].Status);
        Assert.Equal(3, await Backend.CountAsync("similar_lists"));
        var after = await Backend.SnapshotAsync();
        Assert.Equal(Without(before, "similarity_runs"), Without(after, "similarity_runs"));

        // The store is usable after the rollback.
        var next = await store.BeginSimilarityRunAsync(Jaccard, None);
        await store.ReplaceSimilaritiesAsync(next, ListsFor(sets, perSong: 1), () => new SimilarityStats(), None);
        Assert.Equal(3, await Backend.ScalarAsync("SELECT SUM(stored) FROM similar_lists"));
    }

    [Fact]
    public async Task ReplaceSimilarities_RunTakenOverByALaterRun_RefusedAndListsUnchanged()
    {
        var (store, _) = await OpenWithSongsAsync(FourSongs());
        await using var _1 = store;
        var sets = await store.GetSongSetsAsync(None);
        var stale = await store.BeginSimilarityRunAsync(Jaccard, None);
        var later = await store.BeginSimilarityRunAsync(Jaccard, None);
        var before = await Backend.SnapshotAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.ReplaceSimilaritiesAsync(stale, ListsFor(sets, 1), () => new SimilarityStats(), None));

        Assert.Equal(before, await Backend.SnapshotAsync());
        var runs = await store.GetSimilarityRunsAsync(10, None);
        Assert.Equal([(later, RunStatus.Running), (stale, RunStatus.Interrupted)], runs.Select(r => (r.Id, r.Status)));
        Assert.Contains("ended before the run finished", runs[1].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailSimilarityRun_CompletedOrRunning_ArgumentError()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginSimilarityRunAsync(Jaccard, None);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.FailSimilarityRunAsync(run, RunStatus.Completed, "no", None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.FailSimilarityRunAsync(run, RunStatus.Running, "no", None));
        await store.FailSimilarityRunAsync(run, RunStatus.Interrupted, "Ctrl+C", None);

        var row = Assert.Single(await store.GetSimilarityRunsAsync(5, None));
        Assert.Equal((RunStatus.Interrupted, "Ctrl+C"), (row.Status, row.Error));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetSimilarityRunsAsync(0, None));
    }

    [Fact]
    public async Task ReplaceSimilarities_ListOfAnUnknownSong_RefusedAndNothingChanges()
    {
        var (store, _) = await OpenWithSongsAsync(FourSongs());
        await using var _1 = store;
        var sets = await store.GetSongSetsAsync(None);
        var run = await store.BeginSimilarityRunAsync(Jaccard, None);
        var before = await Backend.SnapshotAsync();
        SimilarSongList[] lists = [.. ListsFor(sets, 1), new SimilarSongList(sets.Max(s => s.Key) + 1000, 1, new[] { new SimilarRow(sets[0].Key, 0.5, 1) })];

        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => store.ReplaceSimilaritiesAsync(run, lists, () => new SimilarityStats(), None));

        Assert.Equal(before, await Backend.SnapshotAsync());
    }

    /// <summary>For every song with at least three instruments, its first <paramref name="perSong"/> other songs.</summary>
    protected static List<SimilarSongList> ListsFor(IReadOnlyList<SongSet> sets, int perSong)
    {
        var eligible = sets.Where(s => s.Instruments.Count >= 3).ToList();
        var lists = new List<SimilarSongList>();
        foreach (var song in eligible)
        {
            var rows = sets.Where(s => s.Key != song.Key)
                .Take(perSong)
                .Select((s, i) => new SimilarRow(s.Key, 1.0 / (i + 3), song.Instruments.IntersectCount(s.Instruments)))
                .ToArray();
            lists.Add(new SimilarSongList(song.Key, rows.Length + 7, rows));
        }

        return lists;
    }

    private static IEnumerable<SimilarSongList> Failing(IEnumerable<SimilarSongList> lists)
    {
        foreach (var list in lists)
        {
            yield return list;
        }

        throw new InvalidOperationException("engine broke");
    }

    private static string Without(string snapshot, string table)
    {
        var lines = snapshot.Split('\n');
        var keep = new List<string>();
        var skip = false;
        foreach (var line in lines)
        {
            if (line.StartsWith("-- ", StringComparison.Ordinal))
            {
                skip = line.StartsWith("-- " + table + " ", StringComparison.Ordinal);
            }

            if (!skip)
            {
                keep.Add(line);
            }
        }

        return string.Join('\n', keep);
    }
}
