using Scale.Corpus.Sources;
using Scale.Similarity;
using Scale.Store;

namespace Scale.Pipeline.Tests;

public class SimilarityJobTests
{
    private static readonly ExtractionJobOptions Extraction = new() { BatchFiles = 100, FlushInterval = TimeSpan.Zero };

    [Fact]
    public async Task RunAsync_ExtractedCorpus_StoredListsAreTheDefinitionsTopKOverTheGeneratorsSets()
    {
        using var work = new Workspace(files: 700, seed: 5);
        await using var store = await work.OpenStoreAsync();
        await using (var source = new FolderSource(work.Corpus))
        {
            await new ExtractionJob(store).RunAsync(source, Extraction, CancellationToken.None);
        }

        var options = new SimilarityOptions { TopK = 15 };
        var result = await new SimilarityJob(store).RunAsync(options, CancellationToken.None);

        // Expected from the generator's ground truth, by the definition: Jaccard ≥ 0.5 over songs with ≥ 3
        // instruments; order similarity, shared, id.
        var truth = work.Manifest.Where(e => e.Expectation.Error is null)
            .GroupBy(e => e.Md5, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Instruments, StringComparer.Ordinal);
        var eligible = truth.Where(p => p.Value.Count >= 3).OrderBy(p => p.Key, StringComparer.Ordinal).ToArray();
        Assert.Equal(eligible.Length, result.Stats.EligibleSongs);
        Assert.Equal(eligible.Length, work.Scalar("select count(*) from similar_lists"));

        await using var reader = ScaleStoreFactory.CreateReader(work.DbPath);
        long pairs = 0;
        foreach (var (id, set) in eligible)
        {
            var expected = eligible
                .Where(o => o.Key != id)
                .Select(o => (Id: o.Key, Shared: set.IntersectCount(o.Value), Union: set.Union(o.Value).Count))
                .Select(o => (o.Id, o.Shared, Similarity: (double)o.Shared / o.Union))
                .Where(o => o.Similarity >= 0.5)
                .OrderByDescending(o => o.Similarity).ThenByDescending(o => o.Shared).ThenBy(o => o.Id, StringComparer.Ordinal)
                .ToList();
            pairs += expected.Count;

            var page = await reader.GetSimilarAsync(id, 0, 100, CancellationToken.None);

            Assert.NotNull(page);
            Assert.Equal(expected.Count, page.Total);
            Assert.Equal(
                expected.Take(15).Select(e => (e.Id, e.Similarity, e.Shared)),
                page.Items.Select(i => (i.Id, i.Similarity, i.Shared)));
        }

        Assert.Equal(pairs, result.Stats.SimilarPairs);
        var run = Assert.Single(await store.GetSimilarityRunsAsync(10, CancellationToken.None));
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(new SimilaritySettings("jaccard", 0.5, 15, 3), run.Settings);
    }

    [Fact]
    public async Task RunAsync_AgainWithAnotherThreshold_ReplacesEveryList()
    {
        using var work = new Workspace(files: 300, seed: 8);
        await using var store = await work.OpenStoreAsync();
        await using (var source = new FolderSource(work.Corpus))
        {
            await new ExtractionJob(store).RunAsync(source, Extraction, CancellationToken.None);
        }

        var job = new SimilarityJob(store);
        var loose = await job.RunAsync(new SimilarityOptions { Threshold = 0.3 }, CancellationToken.None);
        var strict = await job.RunAsync(new SimilarityOptions { Threshold = 0.9, MinInstruments = 4 }, CancellationToken.None);

        Assert.True(strict.Stats.SimilarPairs < loose.Stats.SimilarPairs);
        Assert.Equal(strict.Stats.SimilarPairs, work.Scalar("select coalesce(sum(total), 0) from similar_lists"));
        Assert.Equal(strict.Stats.EligibleSongs, work.Scalar("select count(*) from similar_lists"));
        Assert.Equal(0, work.Scalar("select count(*) from similar_lists l join songs s on s.key = l.song_key where s.instrument_count < 4"));
        Assert.Equal(2, work.Scalar("select count(*) from similarity_runs where status = 'completed'"));
    }

    [Fact]
    public async Task ReplaceSimilarities_EnumerationFailsHalfway_PreviousListsAndRunStateStay()
    {
        using var work = new Workspace(files: 200, seed: 9);
        await using var store = await work.OpenStoreAsync();
        await using (var source = new FolderSource(work.Corpus))
        {
            await new ExtractionJob(store).RunAsync(source, Extraction, CancellationToken.None);
        }

        await new SimilarityJob(store).RunAsync(new SimilarityOptions(), CancellationToken.None);
        var before = work.Column("select song_key || ':' || total || ':' || hex(entries) from similar_lists order by song_key");
        var songs = await store.GetSongSetsAsync(CancellationToken.None);
        var runId = await store.BeginSimilarityRunAsync(new SimilaritySettings("jaccard", 0.1, 5, 1), CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.ReplaceSimilaritiesAsync(
            runId, FailAfter(songs, 3), () => new SimilarityStats(), CancellationToken.None));
        await store.FailSimilarityRunAsync(runId, RunStatus.Failed, "test", CancellationToken.None);

        Assert.Equal(before, work.Column("select song_key || ':' || total || ':' || hex(entries) from similar_lists order by song_key"));
        Assert.Equal(RunStatus.Failed, (await store.GetSimilarityRunsAsync(1, CancellationToken.None))[0].Status);
    }

    [Fact]
    public async Task RunAsync_EmptyStore_CompletesWithNothing()
    {
        using var work = new Workspace(files: 0);
        await using var store = await work.OpenStoreAsync();

        var result = await new SimilarityJob(store).RunAsync(new SimilarityOptions(), CancellationToken.None);

        Assert.Equal(0, result.Stats.Songs);
        Assert.Equal(0, result.Stats.SimilarRows);
    }

    private static IEnumerable<SimilarSongList> FailAfter(IReadOnlyList<SongSet> songs, int count)
    {
        for (var i = 0; i < count; i++)
        {
            yield return new SimilarSongList(songs[i].Key, 1, new[] { new SimilarRow(songs[(i + 1) % songs.Count].Key, 0.5, 1) });
        }

        throw new InvalidOperationException("The computation failed halfway.");
    }
}
