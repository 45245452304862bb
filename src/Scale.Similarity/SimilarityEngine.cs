using System.Runtime.InteropServices;
using Scale.Midi;

namespace Scale.Similarity;

/// <summary>
/// Exact all-pairs Jaccard similarity of instrument sets, top K per song.
/// </summary>
/// <remarks>
/// The original approximated this with MinHash LSH and missed pairs. Here it is exact and still fast: songs with
/// identical sets are grouped and compared once (Lakh's 176k songs have far fewer distinct sets); sets are 192-bit
/// values, so an intersection is three ANDs and popcounts; Jaccard ≥ t bounds the size ratio (t·|A| ≤ |B| ≤ |A|/t);
/// and prefix filtering (AllPairs, Bayardo et al. 2007) with instruments ordered rarest first means only groups
/// sharing one of a set's |A| − ⌈t·|A|⌉ + 1 rarest instruments are ever compared. Groups are spread over all cores. A song's list is: the other songs with its exact set (similarity 1), then other groups
/// by similarity, shared count and song index, ties between groups merged by song index.
/// </remarks>
public static class SimilarityEngine
{
    /// <summary>
    /// Computes every eligible song's similar songs and hands each to <paramref name="onSong"/>, which is called
    /// concurrently from several threads; the memory it gets is only valid during the call. Song indexes are
    /// positions in <paramref name="songs"/>, and index order breaks the last ties (give songs sorted by id).
    /// </summary>
    public static void Compute(IReadOnlyList<InstrumentSet> songs, SimilarityOptions options, Action<SongSimilarities> onSong, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(songs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(onSong);
        options.Validate();
        var groups = Group(songs, options.MinInstruments);
        var index = PrefixIndex.Build(groups, options.Threshold);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        Parallel.For(
            0,
            groups.Count,
            parallel,
            () => new Scratch(options.TopK, groups.Count),
            (g, _, scratch) =>
            {
                ComputeGroup(groups, index, g, options, scratch, onSong);
                return scratch;
            },
            _ => { });
    }

    /// <summary>Distinct eligible sets, sorted by size, each with its songs in ascending index order.</summary>
    internal static List<SetGroup> Group(IReadOnlyList<InstrumentSet> songs, int minInstruments)
    {
        var byKey = new Dictionary<InstrumentSet, List<int>>();
        for (var i = 0; i < songs.Count; i++)
        {
            var set = songs[i];
            if (set.Count < minInstruments)
            {
                continue;
            }

            ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(byKey, set, out _);
            (list ??= []).Add(i);
        }

        var groups = byKey.Select(pair => new SetGroup(pair.Key, pair.Key.Count, [.. pair.Value])).ToList();
        groups.Sort(static (a, b) => a.Size != b.Size ? a.Size.CompareTo(b.Size) : a.Songs[0].CompareTo(b.Songs[0]));
        return groups;
    }

    private static void ComputeGroup(List<SetGroup> groups, PrefixIndex index, int g, SimilarityOptions options, Scratch scratch, Action<SongSimilarities> onSong)
    {
        var group = groups[g];
        var threshold = options.Threshold;
        var candidates = scratch.Candidates;
        candidates.Clear();

        // Sizes that can reach the threshold: t·|A| ≤ |B| ≤ |A|/t.
        var minSize = (int)Math.Ceiling((threshold * group.Size) - 1e-9);
        var maxSize = (int)Math.Floor((group.Size / threshold) + 1e-9);
        long total = group.Songs.Length - 1;

        // Prefix filter: any group reaching the threshold shares an instrument with this group's prefix (its
        // rarest instruments), so only the groups indexed under those instruments are candidates.
        var seen = scratch.Seen;
        var stamp = ++scratch.Stamp;
        foreach (var token in index.Prefix(g))
        {
            foreach (var h in index.GroupsWith(token))
            {
                if (h == g || seen[h] == stamp)
                {
                    continue;
                }

                seen[h] = stamp;
                var other = groups[h];
                if (other.Size < minSize || other.Size > maxSize)
                {
                    continue;
                }

                var shared = group.Set.IntersectCount(other.Set);
                var similarity = (double)shared / (group.Size + other.Size - shared);
                if (similarity >= threshold)
                {
                    candidates.Add(new Candidate(h, similarity, shared, other.Songs[0]));
                    total += other.Songs.Length;
                }
            }
        }

        candidates.Sort(static (a, b) =>
            a.Similarity != b.Similarity ? b.Similarity.CompareTo(a.Similarity) :
            a.Shared != b.Shared ? b.Shared.CompareTo(a.Shared) :
            a.FirstSong.CompareTo(b.FirstSong));

        // One list for the whole group (its own songs first, at similarity 1), K + 1 long so that each song can
        // drop itself and still have K.
        var limit = options.TopK + 1;
        var list = scratch.List;
        list.Clear();
        foreach (var song in group.Songs)
        {
            if (list.Count == limit)
            {
                break;
            }

            list.Add(new SimilarSong(song, 1.0, group.Size));
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
                var songs = groups[candidates[c].Group].Songs;
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
        foreach (var song in group.Songs)
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

    internal sealed record SetGroup(InstrumentSet Set, int Size, int[] Songs);

    private readonly record struct Candidate(int Group, double Similarity, int Shared, int FirstSong);

    private sealed class Scratch(int topK, int groups)
    {
        /// <summary>Per group, the stamp of the last group that looked at it: dedupes candidates without clearing.</summary>
        public int[] Seen { get; } = new int[groups];

        public int Stamp { get; set; }

        public List<Candidate> Candidates { get; } = [];

        public List<SimilarSong> List { get; } = new(topK + 1);

        public List<int> Tie { get; } = [];

        public SimilarSong[] Buffer { get; } = new SimilarSong[topK];
    }
}
