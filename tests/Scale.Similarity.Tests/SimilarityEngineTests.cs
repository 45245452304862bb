using System.Collections.Concurrent;
using Scale.Midi;

namespace Scale.Similarity.Tests;

public class SimilarityEngineTests
{
    public static TheoryData<int, int, double, int> Corpora => new()
    {
        // seed, songs, threshold, top K
        { 1, 400, 0.5, 100 },
        { 2, 1_500, 0.5, 5 },
        { 3, 1_500, 0.3, 7 },
        { 4, 800, 0.8, 3 },
        { 5, 2_000, 0.5, 1 },
        { 6, 600, 1.0, 4 },
    };

    [Theory]
    [MemberData(nameof(Corpora))]
    public void Compute_RandomCorpus_SameAsBruteForceAllPairs(int seed, int count, double threshold, int topK)
    {
        var songs = RandomSongs(new Random(seed), count);
        var options = new SimilarityOptions { Threshold = threshold, TopK = topK };

        var fast = Run(songs, options);
        var slow = BruteForce(songs, options);

        Assert.Equal(slow.Keys.Order(), fast.Keys.Order());
        foreach (var (song, expected) in slow)
        {
            var actual = fast[song];
            Assert.Equal(expected.Total, actual.Total);
            Assert.Equal(expected.Top, actual.Top);
        }
    }

    [Theory]
    [InlineData(11, 1_500, 0.5, 10)]
    [InlineData(12, 1_000, 0.3, 3)]
    [InlineData(13, 800, 0.7, 50)]
    public void Compute_RarityWeighted_SameAsBruteForceAllPairs(int seed, int count, double threshold, int topK)
    {
        var songs = RandomSongs(new Random(seed), count);
        var options = new SimilarityOptions { Threshold = threshold, TopK = topK, Measure = SimilarityMeasure.RarityWeighted };

        var fast = Run(songs, options);
        var slow = BruteForce(songs, options);

        Assert.Equal(slow.Keys.Order(), fast.Keys.Order());
        foreach (var (song, expected) in slow)
        {
            var actual = fast[song];
            Assert.Equal(expected.Total, actual.Total);
            Assert.Equal(expected.Top, actual.Top);
        }
    }

    [Fact]
    public void Compute_RarityWeighted_SharingARareInstrumentOutranksSharingACommonOne()
    {
        // Piano (0), bass (33) and drums (128) are everywhere; Bag pipe (109) is in two songs only.
        var songs = new List<InstrumentSet>
        {
            InstrumentSet.Of([0, 33, 109, 128]), // 0: the song we look at
            InstrumentSet.Of([0, 33, 109, 25]),  // 1: shares piano, bass and the Bag pipe
            InstrumentSet.Of([0, 33, 128, 25]),  // 2: shares piano, bass and drums
        };
        for (var i = 0; i < 40; i++)
        {
            songs.Add(InstrumentSet.Of([0, 33, 128, 48 + (i % 8)]));
        }

        var jaccard = Run([.. songs], new SimilarityOptions { Threshold = 0.1 });
        var weighted = Run([.. songs], new SimilarityOptions { Threshold = 0.1, Measure = SimilarityMeasure.RarityWeighted });

        // Jaccard cannot tell them apart: both share 3 of 5 instruments with song 0.
        Assert.Equal(jaccard[0].Top[0].Similarity, jaccard[0].Top.Single(s => s.Song == 1).Similarity);
        Assert.Equal(1, weighted[0].Top[0].Song);
        Assert.True(weighted[0].Top[0].Similarity > weighted[0].Top.Single(s => s.Song == 2).Similarity);
    }

    [Fact]
    public void Compute_IdenticalSetsAndAShuffledWorker_SongsOfTheSameSetComeFirstWithSimilarityOne()
    {
        InstrumentSet[] songs =
        [
            InstrumentSet.Of([0, 33, 128]),     // 0
            InstrumentSet.Of([0, 33, 128]),     // 1: same set as 0
            InstrumentSet.Of([0, 33, 48, 128]), // 2: shares 3 of 4 with 0 → 0.75
            InstrumentSet.Of([0, 128]),         // 3: too few instruments, never listed
            InstrumentSet.Of([109, 110, 111]),  // 4: shares nothing
        ];

        var result = Run(songs, new SimilarityOptions { MaxDegreeOfParallelism = 1 });

        Assert.Equal([new SimilarSong(1, 1.0, 3), new SimilarSong(2, 0.75, 3)], result[0].Top);
        Assert.Equal(2, result[0].Total);
        Assert.False(result.ContainsKey(3));
        Assert.Empty(result[4].Top);
        Assert.Equal(0, result[4].Total);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    public void Compute_ThresholdOutOfRange_Throws(double threshold)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            SimilarityEngine.Compute([InstrumentSet.Of([1, 2, 3])], new SimilarityOptions { Threshold = threshold }, _ => { }));
    }

    /// <summary>Sets drawn from a skewed pool, so identical sets, ties and near-misses are common.</summary>
    private static InstrumentSet[] RandomSongs(Random random, int count)
    {
        int[] common = [0, 1, 24, 25, 26, 27, 29, 30, 33, 34, 48, 49, 52, 56, 61, 65, 73, 81, 89, 128];
        var songs = new InstrumentSet[count];
        for (var i = 0; i < count; i++)
        {
            var size = random.Next(1, 9);
            var set = InstrumentSet.Empty;
            for (var k = 0; k < size; k++)
            {
                set = set.Add(random.Next(10) < 8 ? common[random.Next(common.Length)] : random.Next(GeneralMidi.InstrumentCount));
            }

            songs[i] = set;
        }

        return songs;
    }

    private static Dictionary<int, (int Total, SimilarSong[] Top)> Run(InstrumentSet[] songs, SimilarityOptions options)
    {
        var results = new ConcurrentDictionary<int, (int, SimilarSong[])>();
        SimilarityEngine.Compute(songs, options, s => Assert.True(results.TryAdd(s.Song, (s.Total, s.Top.ToArray()))));
        return new Dictionary<int, (int Total, SimilarSong[] Top)>(results);
    }

    /// <summary>The definition, pair by pair: no grouping, no pruning.</summary>
    private static Dictionary<int, (int Total, SimilarSong[] Top)> BruteForce(InstrumentSet[] songs, SimilarityOptions options)
    {
        // Rarity weights by their definition: ln(1 + N / n) over the N eligible songs, n of which use the instrument.
        var eligible = songs.Where(s => s.Count >= options.MinInstruments).ToArray();
        var weights = Enumerable.Range(0, GeneralMidi.InstrumentCount)
            .Select(code => eligible.Count(s => s.Contains(code)) is var n and > 0 ? Math.Log(1 + ((double)eligible.Length / n)) : 0)
            .ToArray();
        var results = new Dictionary<int, (int, SimilarSong[])>();
        for (var i = 0; i < songs.Length; i++)
        {
            if (songs[i].Count < options.MinInstruments)
            {
                continue;
            }

            var all = new List<SimilarSong>();
            for (var j = 0; j < songs.Length; j++)
            {
                if (j == i || songs[j].Count < options.MinInstruments)
                {
                    continue;
                }

                var shared = songs[i].IntersectCount(songs[j]);
                var similarity = options.Measure == SimilarityMeasure.Jaccard
                    ? (double)shared / songs[i].Union(songs[j]).Count
                    : Weight(songs[i].Intersect(songs[j]), weights) / Weight(songs[i].Union(songs[j]), weights);
                if (shared > 0 && similarity >= options.Threshold)
                {
                    all.Add(new SimilarSong(j, similarity, shared));
                }
            }

            var top = all.OrderByDescending(s => s.Similarity).ThenByDescending(s => s.Shared).ThenBy(s => s.Song).Take(options.TopK).ToArray();
            results[i] = (all.Count, top);
        }

        return results;
    }

    /// <summary>Sum of weights over the set's instruments in ascending code order (addition order fixes the last bit).</summary>
    private static double Weight(InstrumentSet set, double[] weights)
    {
        var sum = 0.0;
        foreach (var code in set.ToArray())
        {
            sum += weights[code];
        }

        return sum;
    }
}
