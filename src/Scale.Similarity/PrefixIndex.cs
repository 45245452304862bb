using Scale.Midi;

namespace Scale.Similarity;

/// <summary>
/// For prefix filtering: instruments ordered rarest first (by how many groups have them), each group's prefix
/// (its |A| − ⌈t·|A|⌉ + 1 rarest instruments), and for each instrument the groups whose prefix holds it.
/// If J(A, B) ≥ t then |A ∩ B| ≥ ⌈t·|A|⌉ and ≥ ⌈t·|B|⌉, so the two prefixes share an instrument.
/// </summary>
internal sealed class PrefixIndex
{
    private readonly int[][] _prefixes;
    private readonly int[][] _groupsByInstrument;

    private PrefixIndex(int[][] prefixes, int[][] groupsByInstrument)
    {
        _prefixes = prefixes;
        _groupsByInstrument = groupsByInstrument;
    }

    public ReadOnlySpan<int> Prefix(int group) => _prefixes[group];

    public ReadOnlySpan<int> GroupsWith(int instrument) => _groupsByInstrument[instrument];

    public static PrefixIndex Build(List<SimilarityEngine.SetGroup> groups, double threshold)
    {
        var frequency = new int[GeneralMidi.InstrumentCount];
        foreach (var group in groups)
        {
            foreach (var code in group.Set.ToArray())
            {
                frequency[code]++;
            }
        }

        // Rank: rarest first, ties by code, so every set orders its instruments the same way.
        var byRarity = Enumerable.Range(0, GeneralMidi.InstrumentCount).OrderBy(c => frequency[c]).ThenBy(c => c).ToArray();
        var rank = new int[GeneralMidi.InstrumentCount];
        for (var r = 0; r < byRarity.Length; r++)
        {
            rank[byRarity[r]] = r;
        }

        var prefixes = new int[groups.Count][];
        var lists = new List<int>[GeneralMidi.InstrumentCount];
        for (var g = 0; g < groups.Count; g++)
        {
            var codes = groups[g].Set.ToArray();
            Array.Sort(codes, (a, b) => rank[a].CompareTo(rank[b]));
            var length = codes.Length - (int)Math.Ceiling((threshold * codes.Length) - 1e-9) + 1;
            var prefix = codes[..Math.Clamp(length, 1, codes.Length)];
            prefixes[g] = prefix;
            foreach (var code in prefix)
            {
                (lists[code] ??= []).Add(g);
            }
        }

        return new PrefixIndex(prefixes, [.. lists.Select(l => l?.ToArray() ?? [])]);
    }
}
