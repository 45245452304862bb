using System.Numerics;
using System.Runtime.InteropServices;
using Scale.Midi;

namespace Scale.Similarity;

/// <summary>
/// Exact all-pairs similarity of instrument sets, top K per song.
/// </summary>
/// <remarks>
/// The original approximated this with MinHash LSH and missed pairs. Here it is exact and still fast:
/// <list type="bullet">
/// <item>Songs with identical sets are grouped and compared once (176k synthetic Lakh songs have 122k distinct
/// eligible sets; real Lakh has far fewer).</item>
/// <item>Sets are 192-bit values: an intersection is three ANDs and popcounts.</item>
/// <item>Size filter: similarity ≥ t needs t·|A| ≤ |B| ≤ |A|/t (weights instead of counts for the weighted
/// measure). Groups are sorted by size, so the window is a range found by binary search, not a test per pair.</item>
/// <item>Prefix filter (AllPairs, Bayardo et al. 2007): with instruments ordered rarest first, two sets reaching t
/// share an instrument in both their prefixes (the shortest prefix whose remainder weighs less than t·|A|), so a
/// group is only compared with the groups listed under its prefix instruments.</item>
/// <item>Top-K by buckets: Jaccard values are ratios of small integers, so candidates are counted per
/// (similarity, shared) bucket and only those in the buckets that reach K are sorted; the rest only add to the
/// total.</item>
/// <item>Groups are spread over all cores.</item>
/// </list>
/// A song's list is: the other songs with its exact set (similarity 1), then other groups by similarity, shared
/// count and song index, ties between groups merged by song index.
/// </remarks>
public static class SimilarityEngine
{
    /// <summary>Largest shared count or union size: every GM program plus the drum kit.</summary>
    private const int MaxSize = GeneralMidi.InstrumentCount;

    /// <summary>Rank of each (shared, union) pair in result order (similarity desc, then shared desc); index shared * (MaxSize + 1) + union.</summary>
    private static readonly int[] JaccardRank = BuildJaccardRanks();

    /// <summary>
    /// Computes every eligible song's similar songs and hands each to <paramref name="onSong"/>, which is called
    /// concurrently from several threads; the memory it gets is only valid during the call. Song indexes are
    /// positions in <paramref name="songs"/>, and index order breaks the last ties (give songs sorted by id).
    /// </summary>
    public static SimilaritySummary Compute(IReadOnlyList<InstrumentSet> songs, SimilarityOptions options, Action<SongSimilarities> onSong, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(songs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(onSong);
        options.Validate();
        var groups = GroupSet.Build(songs, options);
        var lastRank = LastJaccardRankAtOrAbove(options.Threshold);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        long comparisons = 0;
        Parallel.For(
            0,
            groups.Count,
            parallel,
            () => new Scratch(options.TopK),
            (g, _, scratch) =>
            {
                ComputeGroup(groups, g, options, lastRank, scratch, onSong);
                return scratch;
            },
            scratch => Interlocked.Add(ref comparisons, scratch.Comparisons));
        return new SimilaritySummary(groups.EligibleSongs, groups.Count, comparisons);
    }

    /// <summary>
    /// Instrument weights of the rarity-weighted measure for these songs: ln(1 + N / n) for an instrument used by n
    /// of the N eligible songs (0 for unused ones); 1 for every instrument under Jaccard.
    /// </summary>
    public static double[] Weights(IReadOnlyList<InstrumentSet> songs, SimilarityOptions options)
    {
        ArgumentNullException.ThrowIfNull(songs);
        ArgumentNullException.ThrowIfNull(options);
        var weights = new double[MaxSize];
        if (options.Measure == SimilarityMeasure.Jaccard)
        {
            Array.Fill(weights, 1.0);
            return weights;
        }

        var usage = new int[MaxSize];
        var eligible = 0;
        foreach (var set in songs)
        {
            if (set.Count < options.MinInstruments)
            {
                continue;
            }

            eligible++;
            foreach (var code in set.ToArray())
            {
                usage[code]++;
            }
        }

        for (var code = 0; code < MaxSize; code++)
        {
            weights[code] = usage[code] == 0 ? 0 : Math.Log(1 + ((double)eligible / usage[code]));
        }

        return weights;
    }

    /// <summary>Sum of <paramref name="weights"/> over the set's instruments, in ascending code order (so every caller gets the same bits).</summary>
    public static double WeightOf(InstrumentSet set, ReadOnlySpan<double> weights)
    {
        var sum = 0.0;
        for (var word = 0; word < 3; word++)
        {
            var bits = word switch { 0 => set.Low, 1 => set.Middle, _ => set.High };
            while (bits != 0)
            {
                sum += weights[(word << 6) + BitOperations.TrailingZeroCount(bits)];
                bits &= bits - 1;
            }
        }

        return sum;
    }

    private static void ComputeGroup(GroupSet groups, int g, SimilarityOptions options, int lastRank, Scratch scratch, Action<SongSimilarities> onSong)
    {
        var threshold = options.Threshold;
        var jaccard = options.Measure == SimilarityMeasure.Jaccard;
        var set = groups.Sets[g];
        var size = groups.Sizes[g];
        var mass = groups.Masses[g];
        var ownSongs = groups.Songs[g];
        var candidates = scratch.Candidates;
        candidates.Clear();

        // Groups whose mass can reach the threshold, t·m(A) ≤ m(B) ≤ m(A)/t, as a range of group indexes (widened by
        // a hair against rounding: the similarity itself is checked exactly below).
        var from = groups.FirstWithMassAtLeast((threshold * mass) - 1e-9);
        var to = groups.FirstWithMassAtLeast((mass / threshold) + 1e-9);
        long total = ownSongs.Length - 1;
        var buckets = scratch.BucketSongs;
        var touched = scratch.TouchedBuckets;
        touched.Clear();
        long comparisons = 0;
        foreach (var instrument in groups.Prefix(g))
        {
            // A pair is taken up under the first instrument (rarest first) the two prefixes share. Every
            // instrument of a set that ranks before one of its prefix instruments is in the prefix too, so "the
            // prefixes share an earlier instrument" is "the sets share an instrument ranked before this one": a
            // mask test on the set itself, which replaces a per-group "seen" table (random memory access).
            var before = groups.RankedBefore[instrument];
            var postingGroups = groups.GroupsWith(instrument);
            var postingSets = groups.SetsWith(instrument);
            var start = LowerBound(postingGroups, from);
            var end = LowerBound(postingGroups, to);
            for (var p = start; p < end; p++)
            {
                var other = postingSets[p];
                var common = set.Intersect(other);
                if (!common.Intersect(before).IsEmpty)
                {
                    continue;
                }

                comparisons++;
                var shared = common.Count;
                double similarity;
                int rank;
                if (jaccard)
                {
                    // The rank table already knows which (shared, union) pairs reach the threshold: no division
                    // for the pairs that don't (most of them).
                    var union = size + other.Count - shared;
                    rank = JaccardRank[(shared * (MaxSize + 1)) + union];
                    if (rank > lastRank)
                    {
                        continue;
                    }

                    similarity = (double)shared / union;
                }
                else
                {
                    similarity = WeightOf(common, groups.Weights) / WeightOf(set.Union(other), groups.Weights);
                    rank = 0;
                    if (similarity < threshold)
                    {
                        continue;
                    }
                }

                var h = postingGroups[p];
                if (h == g)
                {
                    continue;
                }

                var songCount = groups.Songs[h].Length;
                total += songCount;
                candidates.Add(new Candidate(h, similarity, shared, rank, groups.Songs[h][0]));
                if (jaccard)
                {
                    if (buckets[rank] == 0)
                    {
                        touched.Add(rank);
                    }

                    buckets[rank] += songCount;
                }
            }
        }

        scratch.Comparisons += comparisons;
        var limit = options.TopK + 1;
        if (jaccard)
        {
            KeepBestBuckets(candidates, buckets, touched, limit - Math.Min(ownSongs.Length, limit));
            candidates.Sort(static (a, b) => a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank) : a.FirstSong.CompareTo(b.FirstSong));
        }
        else
        {
            candidates.Sort(static (a, b) =>
                a.Similarity != b.Similarity ? b.Similarity.CompareTo(a.Similarity) :
                a.Shared != b.Shared ? b.Shared.CompareTo(a.Shared) :
                a.FirstSong.CompareTo(b.FirstSong));
        }

        // One list for the whole group (its own songs first, at similarity 1), K + 1 long so that each song can
        // drop itself and still have K.
        var list = scratch.List;
        list.Clear();
        foreach (var song in ownSongs)
        {
            if (list.Count == limit)
            {
                break;
            }

            list.Add(new SimilarSong(song, 1.0, size));
        }

        for (var i = 0; i < candidates.Count && list.Count < limit;)
        {
            // A run of groups tied on similarity and shared count: merge their songs by index.
            var j = i + 1;
            while (j < candidates.Count && candidates[j].Similarity == candidates[i].Similarity && candidates[j].Shared == candidates[i].Shared)
            {
                j++;
            }

            var need = limit - list.Count;
            var tie = scratch.Tie;
            tie.Clear();
            for (var c = i; c < j; c++)
            {
                var songs = groups.Songs[candidates[c].Group];
                for (var s = 0; s < songs.Length && s < need; s++)
                {
                    tie.Add(songs[s]);
                }
            }

            if (j - i > 1)
            {
                tie.Sort();
            }

            for (var s = 0; s < tie.Count && s < need; s++)
            {
                list.Add(new SimilarSong(tie[s], candidates[i].Similarity, candidates[i].Shared));
            }

            i = j;
        }

        var totalForSong = (int)Math.Min(int.MaxValue, total);
        var buffer = scratch.Buffer;
        foreach (var song in ownSongs)
        {
            var n = 0;
            foreach (var entry in list)
            {
                if (entry.Song == song)
                {
                    continue;
                }

                if (n == options.TopK)
                {
                    break;
                }

                buffer[n++] = entry;
            }

            onSong(new SongSimilarities(song, buffer.AsMemory(0, n), totalForSong));
        }
    }

    /// <summary>
    /// Drops the candidates that cannot make the list: walking buckets best first, the first bucket that brings
    /// the song count to <paramref name="needed"/> is the last one kept. Clears the bucket counts.
    /// </summary>
    private static void KeepBestBuckets(List<Candidate> candidates, int[] buckets, List<int> touched, int needed)
    {
        touched.Sort();
        var cutoff = int.MaxValue;
        var count = 0;
        foreach (var rank in touched)
        {
            count += buckets[rank];
            if (count >= needed)
            {
                cutoff = rank;
                break;
            }
        }

        foreach (var rank in touched)
        {
            buckets[rank] = 0;
        }

        if (cutoff != int.MaxValue)
        {
            candidates.RemoveAll(c => c.Rank > cutoff);
        }
    }

    /// <summary>The worst Jaccard rank whose similarity (as the double division gives it) still reaches <paramref name="threshold"/>.</summary>
    private static int LastJaccardRankAtOrAbove(double threshold)
    {
        var last = -1;
        for (var union = 1; union <= MaxSize; union++)
        {
            for (var shared = 1; shared <= union; shared++)
            {
                if ((double)shared / union >= threshold)
                {
                    last = Math.Max(last, JaccardRank[(shared * (MaxSize + 1)) + union]);
                }
            }
        }

        return last;
    }

    /// <summary>First position in the ascending <paramref name="values"/> holding a value ≥ <paramref name="value"/>.</summary>
    private static int LowerBound(ReadOnlySpan<int> values, int value)
    {
        int lo = 0, hi = values.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (values[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static int[] BuildJaccardRanks()
    {
        var pairs = new List<(int Shared, int Union)>();
        for (var union = 1; union <= MaxSize; union++)
        {
            for (var shared = 1; shared <= union; shared++)
            {
                pairs.Add((shared, union));
            }
        }

        // Exact rational order: a/b > c/d ⇔ a·d > c·b; equal ratios by shared count, larger first.
        pairs.Sort(static (x, y) =>
        {
            var cross = ((long)y.Shared * x.Union).CompareTo((long)x.Shared * y.Union);
            return cross != 0 ? cross : y.Shared.CompareTo(x.Shared);
        });
        var ranks = new int[(MaxSize + 1) * (MaxSize + 1)];
        Array.Fill(ranks, int.MaxValue);
        for (var r = 0; r < pairs.Count; r++)
        {
            ranks[(pairs[r].Shared * (MaxSize + 1)) + pairs[r].Union] = r;
        }

        return ranks;
    }

    private readonly record struct Candidate(int Group, double Similarity, int Shared, int Rank, int FirstSong);

    /// <summary>
    /// The distinct eligible sets ("groups") in struct-of-arrays form, sorted by mass (instrument count, or weight)
    /// then first song, with each group's prefix and, per instrument, the groups whose prefix holds it (ascending).
    /// </summary>
    private sealed class GroupSet
    {
        private readonly int[][] _prefixes;
        private readonly int[][] _groupsByInstrument;
        private readonly InstrumentSet[][] _setsByInstrument;

        private GroupSet(InstrumentSet[] sets, int[][] songs, double[] weights, double[] masses, int[] sizes, int[][] prefixes, int[][] groupsByInstrument, InstrumentSet[] rankedBefore, int eligibleSongs)
        {
            _setsByInstrument = [.. groupsByInstrument.Select(list => list.Select(h => sets[h]).ToArray())];
            RankedBefore = rankedBefore;
            Sets = sets;
            Songs = songs;
            Weights = weights;
            Masses = masses;
            Sizes = sizes;
            _prefixes = prefixes;
            _groupsByInstrument = groupsByInstrument;
            EligibleSongs = eligibleSongs;
        }

        public int Count => Sets.Length;

        public int EligibleSongs { get; }

        public InstrumentSet[] Sets { get; }

        /// <summary>Each group's songs, ascending.</summary>
        public int[][] Songs { get; }

        public double[] Weights { get; }

        public double[] Masses { get; }

        public int[] Sizes { get; }

        public ReadOnlySpan<int> Prefix(int group) => _prefixes[group];

        public ReadOnlySpan<int> GroupsWith(int instrument) => _groupsByInstrument[instrument];

        /// <summary>The sets of <see cref="GroupsWith"/>, side by side, so a scan reads memory in order.</summary>
        public ReadOnlySpan<InstrumentSet> SetsWith(int instrument) => _setsByInstrument[instrument];

        /// <summary>Per instrument, the instruments ranked before it (rarer).</summary>
        public InstrumentSet[] RankedBefore { get; }

        /// <summary>Index of the first group whose mass is ≥ <paramref name="mass"/> (Count when none).</summary>
        public int FirstWithMassAtLeast(double mass)
        {
            int lo = 0, hi = Masses.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (Masses[mid] < mass)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            return lo;
        }

        public static GroupSet Build(IReadOnlyList<InstrumentSet> songs, SimilarityOptions options)
        {
            var byKey = new Dictionary<InstrumentSet, List<int>>();
            var eligible = 0;
            for (var i = 0; i < songs.Count; i++)
            {
                var set = songs[i];
                if (set.Count < options.MinInstruments)
                {
                    continue;
                }

                eligible++;
                ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(byKey, set, out _);
                (list ??= []).Add(i);
            }

            var weights = SimilarityEngine.Weights(songs, options);
            var groups = byKey.Select(pair => (Set: pair.Key, Mass: WeightOf(pair.Key, weights), Songs: pair.Value.ToArray())).ToList();
            groups.Sort(static (a, b) => a.Mass != b.Mass ? a.Mass.CompareTo(b.Mass) : a.Songs[0].CompareTo(b.Songs[0]));

            // Rarest first: by how many groups use the instrument, ties by code, so every set orders alike.
            var frequency = new int[MaxSize];
            foreach (var group in groups)
            {
                foreach (var code in group.Set.ToArray())
                {
                    frequency[code]++;
                }
            }

            var byRarity = Enumerable.Range(0, MaxSize).OrderBy(c => frequency[c]).ThenBy(c => c).ToArray();
            var rankOf = new int[MaxSize];
            for (var r = 0; r < byRarity.Length; r++)
            {
                rankOf[byRarity[r]] = r;
            }

            var rankedBefore = new InstrumentSet[MaxSize];
            for (var r = 1; r < byRarity.Length; r++)
            {
                rankedBefore[byRarity[r]] = rankedBefore[byRarity[r - 1]].Add(byRarity[r - 1]);
            }

            var prefixes = new int[groups.Count][];
            var postings = new List<int>?[MaxSize];
            for (var g = 0; g < groups.Count; g++)
            {
                var codes = groups[g].Set.ToArray();
                Array.Sort(codes, (a, b) => rankOf[a].CompareTo(rankOf[b]));

                // Shortest prefix whose remainder weighs less than t·m(A) (erring long, which is always safe).
                var bound = (options.Threshold * groups[g].Mass) - 1e-9;
                var remaining = groups[g].Mass;
                var length = 0;
                while (length < codes.Length && remaining >= bound)
                {
                    remaining -= weights[codes[length]];
                    length++;
                }

                prefixes[g] = codes[..Math.Max(length, 1)];
                foreach (var code in prefixes[g])
                {
                    (postings[code] ??= []).Add(g);
                }
            }

            return new GroupSet(
                [.. groups.Select(x => x.Set)],
                [.. groups.Select(x => x.Songs)],
                weights,
                [.. groups.Select(x => x.Mass)],
                [.. groups.Select(x => x.Set.Count)],
                prefixes,
                [.. postings.Select(l => l?.ToArray() ?? [])],
                rankedBefore,
                eligible);
        }
    }

    private sealed class Scratch(int topK)
    {
        public long Comparisons { get; set; }

        public List<Candidate> Candidates { get; } = [];

        /// <summary>Songs per Jaccard rank among the current group's candidates (cleared after each group).</summary>
        public int[] BucketSongs { get; } = new int[(MaxSize + 1) * (MaxSize + 1)];

        public List<int> TouchedBuckets { get; } = [];

        public List<SimilarSong> List { get; } = new(topK + 1);

        public List<int> Tie { get; } = [];

        public SimilarSong[] Buffer { get; } = new SimilarSong[topK];
    }
}
