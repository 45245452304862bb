using System.Globalization;
using Scale.Midi;

namespace Scale.Store.Tests.Load;

/// <summary>
/// Extraction results shaped like Lakh's (176,581 files): instrument sets drawn the way Scale.Synth draws them (a drum
/// kit in 80% of songs, programs by a Zipf-like popularity, a median of 6 instruments), 0.76% invalid files, and for
/// every song with at least three instruments a similar-song list of <see cref="ListSize"/> entries (at Lakh scale
/// nearly every eligible song has that many above the threshold). Deterministic per seed.
/// </summary>
public sealed class SyntheticResults
{
    public const int LakhFiles = 176_581;

    // Scale.Synth's InstrumentTable: programs by popularity, and weights of k = 1..20 distinct instruments.
    private static readonly byte[] ProgramsByPopularity =
    [
        0, 33, 48, 25, 27, 29, 30, 24, 26, 4, 52, 49, 34, 35, 61, 32,
        50, 16, 65, 73, 28, 53, 56, 5, 89, 1, 18, 11, 38, 81, 80, 66,
        62, 17, 57, 60, 71, 54, 19, 2, 45, 40, 88, 87, 39, 119, 46, 47,
        42, 21, 22, 68, 75, 44, 51, 3, 7, 90, 36, 31, 55, 63, 12, 9,
        14, 67, 64, 59, 58, 70, 72, 41, 43, 6, 8, 10, 13, 37, 82, 84,
        85, 91, 92, 94, 95, 99, 100, 20, 23, 69, 74, 77, 78, 79, 83, 86,
        93, 96, 98, 101, 102, 103, 97, 76, 15, 104, 105, 110, 114, 115, 116, 117,
        118, 113, 112, 108, 120, 121, 122, 123, 106, 107, 111, 124, 125, 126, 127, 109,
    ];

    private static readonly double[] CountWeights = [4, 6, 9, 12, 14, 13, 11, 9, 7, 5, 3.5, 2.5, 1.5, 1, 0.6, 0.4, 0.3, 0.2, 0.1, 0.1];

    private readonly int _seed;

    public SyntheticResults(int files, int listSize = 100, int seed = 42)
    {
        _seed = seed;
        ListSize = listSize;
        Files = Generate(files, seed);
        foreach (var file in Files)
        {
            if (file.IsValid)
            {
                Songs++;
                InstrumentRows += file.Summary!.Instruments.Count;
            }
            else
            {
                Invalid++;
            }
        }
    }

    public IReadOnlyList<ExtractedFile> Files { get; }

    public int ListSize { get; }

    public long Songs { get; }

    public long Invalid { get; }

    public long InstrumentRows { get; }

    /// <summary>Rows a full load writes for the extraction results: songs, song_instruments, the ledger, invalid_files.</summary>
    public long ResultRows => Songs + InstrumentRows + Files.Count + Invalid;

    /// <summary>The lists, computed lazily while the store writes them (as SimilarityJob streams them).</summary>
    public IEnumerable<SimilarSongList> Lists(IReadOnlyList<SongSet> sets)
    {
        var random = new Random(_seed + 1);
        var rows = new SimilarRow[ListSize];
        foreach (var song in sets)
        {
            if (song.Instruments.Count < 3)
            {
                continue;
            }

            for (var i = 0; i < rows.Length; i++)
            {
                var other = sets[random.Next(sets.Count)];
                rows[i] = new SimilarRow(other.Key, 1.0 - (0.5 * i / rows.Length), Math.Min(song.Instruments.Count, 1 + random.Next(12)));
            }

            yield return new SimilarSongList(song.Key, ListSize + random.Next(5000), rows);
        }
    }

    private static List<ExtractedFile> Generate(int count, int seed)
    {
        var random = new Random(seed);
        var weights = new double[128];
        for (var rank = 0; rank < ProgramsByPopularity.Length; rank++)
        {
            weights[ProgramsByPopularity[rank]] = 1.0 / ((rank + 1) * (1 + (rank / 64.0)));
        }

        var files = new List<ExtractedFile>(count);
        var codes = new List<int>(20);
        var available = new double[128];
        for (var i = 0; i < count; i++)
        {
            var md5 = Fake.Md5(string.Create(CultureInfo.InvariantCulture, $"lakh {seed} {i}"));
            var key = string.Create(CultureInfo.InvariantCulture, $"{md5[0]}/{md5}.mid");
            if (i % 131 == 130)
            {
                files.Add(ExtractedFile.Song(key, 900, md5, "x", MidiSummary.Rejected(MidiErrorCode.NotMidi, "HTML, not MIDI.")));
                continue;
            }

            codes.Clear();
            var k = 1 + Pick(random, CountWeights);
            if (random.NextDouble() < 0.8)
            {
                codes.Add(128);
            }

            weights.CopyTo(available, 0);
            while (codes.Count < k)
            {
                var program = Pick(random, available);
                available[program] = 0;
                codes.Add(program);
            }

            files.Add(ExtractedFile.Song(key, 20_000 + random.Next(60_000), md5, "Song " + md5[..8], Fake.Summary([.. codes])));
        }

        return files;
    }

    private static int Pick(Random random, ReadOnlySpan<double> weights)
    {
        var total = 0.0;
        foreach (var w in weights)
        {
            total += w;
        }

        var x = random.NextDouble() * total;
        for (var i = 0; i < weights.Length; i++)
        {
            x -= weights[i];
            if (x < 0)
            {
                return i;
            }
        }

        return weights.Length - 1;
    }
}
