using Scale.Midi;

namespace Scale.Store.Tests.Contract;

/// <summary>IScaleReader, the web app's side: catalogue, songs, similar pages, instruments, runs, data version.</summary>
public abstract partial class StoreContract
{
    [Fact]
    public async Task Reader_Catalog_EverySongInIdOrderWithNameSetAndSimilarCount()
    {
        var files = FourSongs();
        var (store, _) = await OpenWithSongsAsync(files);
        await using var _1 = store;
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();

        var before = await ToListAsync(reader.ReadCatalogAsync(None));

        Assert.Equal(files.Select(f => f.Md5!).Order(StringComparer.Ordinal), before.Select(s => s.Id));
        Assert.All(before, s => Assert.Null(s.SimilarCount));
        var piano = before.Single(s => s.Id == Fake.Md5("0/piano.mid"));
        Assert.Equal(("piano", InstrumentSet.Of([0, 1, 2, 128])), (piano.Name, piano.Instruments));

        var sets = await store.GetSongSetsAsync(None);
        var lists = ListsFor(sets, perSong: 2);
        await store.ReplaceSimilaritiesAsync(await store.BeginSimilarityRunAsync(Jaccard, None), lists, () => new SimilarityStats(), None);
        await Backend.SyncReadersAsync();

        var after = await ToListAsync(reader.ReadCatalogAsync(None));
        Assert.Equal(before.Select(s => (s.Key, s.Id, s.Name, s.Instruments)), after.Select(s => (s.Key, s.Id, s.Name, s.Instruments)));
        foreach (var song in after)
        {
            var list = lists.SingleOrDefault(l => l.SongKey == song.Key);
            Assert.Equal(list.Rows.IsEmpty ? null : list.Total, song.SimilarCount);
        }

        Assert.Null(after.Single(s => s.Id == Fake.Md5("3/solo.mid")).SimilarCount);
    }

    [Fact]
    public async Task Reader_EmptyStore_EmptyAnswers()
    {
        await using (var store = await Backend.OpenAsync())
        {
        }

        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();

        Assert.Empty(await ToListAsync(reader.ReadCatalogAsync(None)));
        Assert.Null(await reader.GetSongAsync(Fake.Md5("x"), None));
        Assert.Null(await reader.GetSimilarAsync(Fake.Md5("x"), 0, 10, None));
        Assert.Empty(await reader.GetSongsWithInstrumentAsync(0, 10, None));
        Assert.Empty(await reader.GetRunsAsync(10, None));
        Assert.Empty(await reader.GetSimilarityRunsAsync(10, None));
        Assert.Equal(0, (await reader.GetSummaryAsync(None)).Songs);
        Assert.False(string.IsNullOrEmpty(await reader.GetDataVersionAsync(None)));
    }

    [Fact]
    public async Task Reader_GetSong_EveryFieldOrNull()
    {
        var (store, run) = await OpenWithSongsAsync(Fake.Song("1/x.mid", 5, 63, 64, 127, 128), Fake.Song("2/y.mid", 0));
        await using var _1 = store;
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();
        var id = Fake.Md5("1/x.mid");

        var song = await reader.GetSongAsync(id, None);

        Assert.NotNull(song);
        var key = await Backend.ScalarAsync($"SELECT key FROM songs WHERE id = '{id}'");
        var noWarnings = Array.Empty<string>();
        Assert.Equal(
            new SongDetails(key, id, "x", "Title 5-63-64-127-128", 1, 6, 96, 384, 2.0, 1000, 15 + 73 + 74 + 137 + 138, InstrumentSet.Of([5, 63, 64, 127, 128]), noWarnings, null),
            song with { Warnings = noWarnings });
        Assert.Equal(["trailing-bytes", "missing-end-of-track"], song.Warnings);
        Assert.Null(await reader.GetSongAsync(id.ToUpperInvariant(), None));
        Assert.Null(await reader.GetSongAsync(id[..31], None));
        Assert.Null(await reader.GetSongAsync("", None));
        await Assert.ThrowsAsync<ArgumentNullException>(() => reader.GetSongAsync(null!, None));
        Assert.True(run > 0);
    }

    [Fact]
    public async Task Reader_GetSimilar_PagesOfTheStoredList()
    {
        var files = Enumerable.Range(0, 12).Select(i => Fake.Song($"{i}.mid", 0, 1, 2 + i)).ToArray();
        var (store, _) = await OpenWithSongsAsync(files);
        await using var _1 = store;
        var sets = await store.GetSongSetsAsync(None);
        var lists = ListsFor(sets, perSong: 10);
        await store.ReplaceSimilaritiesAsync(await store.BeginSimilarityRunAsync(Jaccard, None), lists, () => new SimilarityStats(), None);
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();
        var song = sets[5];
        var list = lists.Single(l => l.SongKey == song.Key);

        var first = await reader.GetSimilarAsync(song.Id, 0, 4, None);
        var third = await reader.GetSimilarAsync(song.Id, 8, 4, None);
        var beyond = await reader.GetSimilarAsync(song.Id, 10, 4, None);
        var none = await reader.GetSimilarAsync(song.Id, 0, 0, None);
        var all = await reader.GetSimilarAsync(song.Id, 0, int.MaxValue, None);

        Assert.NotNull(first);
        Assert.Equal((17, 10), (first.Total, first.Stored));
        Assert.Equal([1, 2, 3, 4], first.Items.Select(i => i.Rank));
        var expected = list.Rows.ToArray().Select((r, i) => (Rank: i + 1, sets.Single(s => s.Key == r.SimilarKey).Id, r.Similarity, r.Shared)).ToList();
        Assert.Equal(expected.Take(4), first.Items.Select(i => (i.Rank, i.Id, i.Similarity, i.Shared)));
        var other = first.Items[0];
        Assert.Equal(files.Single(f => f.Md5 == other.Id).Name, other.Name);
        Assert.Equal(sets.Single(s => s.Id == other.Id).Instruments, other.Instruments);
        Assert.Equal([9, 10], third!.Items.Select(i => i.Rank));
        Assert.Equal((17, 10, 0), (beyond!.Total, beyond.Stored, beyond.Items.Count));
        Assert.Empty(none!.Items);
        Assert.Equal(expected, all!.Items.Select(i => (i.Rank, i.Id, i.Similarity, i.Shared)));
        Assert.Empty((await reader.GetSimilarAsync(song.Id, int.MaxValue, int.MaxValue, None))!.Items);
    }

    [Fact]
    public async Task Reader_GetSimilar_SongWithoutListOrUnknown()
    {
        var (store, _) = await OpenWithSongsAsync(FourSongs());
        await using var _1 = store;
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();

        var page = await reader.GetSimilarAsync(Fake.Md5("3/solo.mid"), 0, 10, None);
        Assert.Equal((0, 0, 0), (page!.Total, page.Stored, page.Items.Count));
        Assert.Null(await reader.GetSimilarAsync(Fake.Md5("nope"), 0, 10, None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => reader.GetSimilarAsync(Fake.Md5("3/solo.mid"), -1, 10, None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => reader.GetSimilarAsync(Fake.Md5("3/solo.mid"), 0, -1, None));
        await Assert.ThrowsAsync<ArgumentNullException>(() => reader.GetSimilarAsync(null!, 0, 1, None));
    }

    [Fact]
    public async Task Reader_SongsWithInstrument_InIdOrderUpToTheLimit()
    {
        var files = Enumerable.Range(0, 30).Select(i => Fake.Song($"{i}.mid", i % 3 == 0 ? [40, 128] : [41])).ToArray();
        var (store, _) = await OpenWithSongsAsync(files);
        await using var _1 = store;
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();
        var withViolin = files.Where(f => f.Summary!.Instruments.Contains(40)).OrderBy(f => f.Md5, StringComparer.Ordinal).Select(f => new SongRef(f.Md5!, f.Name!)).ToList();

        Assert.Equal(withViolin, await reader.GetSongsWithInstrumentAsync(40, 100, None));
        Assert.Equal(withViolin.Take(3), await reader.GetSongsWithInstrumentAsync(40, 3, None));
        Assert.Equal(withViolin, await reader.GetSongsWithInstrumentAsync(128, int.MaxValue, None));
        Assert.Empty(await reader.GetSongsWithInstrumentAsync(40, 0, None));
        Assert.Empty(await reader.GetSongsWithInstrumentAsync(0, 100, None));
        Assert.Empty(await reader.GetSongsWithInstrumentAsync(129, 100, None));
        Assert.Empty(await reader.GetSongsWithInstrumentAsync(-1, 100, None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => reader.GetSongsWithInstrumentAsync(40, -1, None));
    }

    [Fact]
    public async Task Reader_SongsWithSeveralInstruments_OneListPerCodeInTheOrderGiven()
    {
        var files = Enumerable.Range(0, 30).Select(i => Fake.Song($"{i}.mid", i % 3 == 0 ? [40, 128] : [41])).ToArray();
        var (store, _) = await OpenWithSongsAsync(files);
        await using var _1 = store;
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();
        List<SongRef> With(int code) =>
            [.. files.Where(f => f.Summary!.Instruments.Contains(code)).OrderBy(f => f.Md5, StringComparer.Ordinal).Select(f => new SongRef(f.Md5!, f.Name!))];

        var lists = await reader.GetSongsWithInstrumentsAsync([41, 0, 40, 41, 129], 4, None);

        Assert.Equal(5, lists.Count);
        Assert.Equal(With(41).Take(4), lists[0]);
        Assert.Empty(lists[1]);
        Assert.Equal(With(40).Take(4), lists[2]);
        Assert.Equal(lists[0], lists[3]);
        Assert.Empty(lists[4]);
        Assert.Empty(await reader.GetSongsWithInstrumentsAsync([], 10, None));
        Assert.Equal(With(128), (await reader.GetSongsWithInstrumentsAsync([128, 40], int.MaxValue, None))[0]);
    }

    [Fact]
    public async Task Reader_RunsSimilarityRunsAndSummary_SameAsTheStore()
    {
        var (store, run) = await OpenWithSongsAsync([.. FourSongs(), Fake.NotMidi("bad.mid")]);
        await using var _1 = store;
        await store.CompleteRunAsync(run, new RunStats { FilesSeen = 5, FilesValid = 4, FilesInvalid = 1, WallSeconds = 1.25 }, RunStatus.Completed, null, None);
        await store.BeginRunAsync("tar:/other.tar", None);
        var sets = await store.GetSongSetsAsync(None);
        await store.ReplaceSimilaritiesAsync(await store.BeginSimilarityRunAsync(Jaccard, None), ListsFor(sets, 1), () => new SimilarityStats { Songs = 4 }, None);
        await store.BeginSimilarityRunAsync(Jaccard, None);
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();

        Assert.Equal(await store.GetRunsAsync(10, None), await reader.GetRunsAsync(10, None));
        Assert.Single(await reader.GetRunsAsync(1, None));
        Assert.Equal(await store.GetSimilarityRunsAsync(10, None), await reader.GetSimilarityRunsAsync(10, None));
        var summary = await reader.GetSummaryAsync(None);
        var expected = await store.GetSummaryAsync(None);
        Assert.Equal((expected.Songs, expected.SongInstruments, expected.SourceFiles, expected.InvalidFiles), (summary.Songs, summary.SongInstruments, summary.SourceFiles, summary.InvalidFiles));
        Assert.Equal(expected.InvalidByReason, summary.InvalidByReason);
        Assert.Equal(expected.InstrumentUsage, summary.InstrumentUsage);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => reader.GetRunsAsync(0, None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => reader.GetSimilarityRunsAsync(0, None));
    }

    [Fact]
    public async Task Reader_DataVersion_ChangesWhenARunOrASimilarityRunFinishes()
    {
        await using var store = await Backend.OpenAsync();
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();
        var empty = await reader.GetDataVersionAsync(None);
        Assert.Equal(empty, await reader.GetDataVersionAsync(None));

        var run = await store.BeginRunAsync(Source, None);
        await store.WriteBatchAsync(run, FourSongs(), None);
        await Backend.SyncReadersAsync();
        var written = await reader.GetDataVersionAsync(None);
        await store.CompleteRunAsync(run, new RunStats(), RunStatus.Completed, null, None);
        await Backend.SyncReadersAsync();
        var completed = await reader.GetDataVersionAsync(None);
        Assert.Equal(completed, await reader.GetDataVersionAsync(None));

        var similarity = await store.BeginSimilarityRunAsync(Jaccard, None);
        await Backend.SyncReadersAsync();
        Assert.Equal(completed, await reader.GetDataVersionAsync(None));
        await store.ReplaceSimilaritiesAsync(similarity, ListsFor(await store.GetSongSetsAsync(None), 1), () => new SimilarityStats(), None);
        await Backend.SyncReadersAsync();
        var similar = await reader.GetDataVersionAsync(None);

        Assert.Equal(4, new[] { empty, written, completed, similar }.Distinct().Count());
    }

    [Fact]
    public async Task Reader_ManyConcurrentCalls_AllAnswer()
    {
        var files = Enumerable.Range(0, 20).Select(i => Fake.Song($"{i}.mid", 0, 1, i + 2)).ToArray();
        var (store, _) = await OpenWithSongsAsync(files);
        await using var _1 = store;
        await store.ReplaceSimilaritiesAsync(await store.BeginSimilarityRunAsync(Jaccard, None), ListsFor(await store.GetSongSetsAsync(None), 5), () => new SimilarityStats(), None);
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();

        var calls = Enumerable.Range(0, 24).Select(async i =>
        {
            var file = files[i % files.Length];
            var song = await reader.GetSongAsync(file.Md5!, None);
            var page = await reader.GetSimilarAsync(file.Md5!, 0, 5, None);
            return (song?.Name, page?.Items.Count);
        });

        var results = await Task.WhenAll(calls);

        Assert.All(results.Select((r, i) => (r, i)), x => Assert.Equal((files[x.i % files.Length].Name, 5), (x.r.Name, x.r.Count)));
    }

    protected static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
