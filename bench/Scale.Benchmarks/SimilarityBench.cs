using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Scale.Midi;
using Scale.Similarity;

namespace Scale.Benchmarks;

/// <summary>
/// <c>similarity --db FILE [--sample N] [--baseline-sample N]</c>: times <see cref="SimilarityEngine"/> on the
/// instrument sets of a store (e.g. the full-scale synthetic corpus after <c>scale run</c>) and, on a sample in the
/// same run, a plain all-pairs loop (every song against every song, bitset popcount, all cores): the baseline the
/// engine's grouping and pruning are measured against. Both results are compared on the sample, so a fast wrong
/// answer cannot pass.
/// </summary>
internal static class SimilarityBench
{
    public static int Run(string[] args)
    {
        string? db = null;
        var sample = 0;
        var baselineSample = 20_000;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--db": db = args[++i]; break;
                case "--sample": sample = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--baseline-sample": baselineSample = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        if (db is null)
        {
            Console.Error.WriteLine("usage: similarity --db FILE [--sample N] [--baseline-sample N]");
            return 2;
        }

        var all = LoadSets(db);
        var songs = sample > 0 ? all.Take(sample).ToArray() : all;
        var options = new SimilarityOptions();
        Console.WriteLine($"songs {songs.Length:N0}, eligible {songs.Count(s => s.Count >= options.MinInstruments):N0}, distinct eligible sets {songs.Where(s => s.Count >= options.MinInstruments).Distinct().Count():N0}, cores {Environment.ProcessorCount}");

        var (engineSeconds, engineRows, engineTotal) = TimeEngine(songs, options);
        Console.WriteLine($"engine, all songs: {engineSeconds:F2} s, {engineRows:N0} rows kept, {engineTotal:N0} pairs above threshold");

        var small = songs.Take(Math.Min(baselineSample, songs.Length)).ToArray();
        var (smallEngine, _, _) = TimeEngine(small, options);
        var watch = Stopwatch.StartNew();
        var baseline = PlainAllPairs(small, options);
        var baselineSeconds = watch.Elapsed.TotalSeconds;
        var engineResult = Collect(small, options);
        var same = baseline.Count == engineResult.Count && baseline.All(p => engineResult.TryGetValue(p.Key, out var e) && e.Total == p.Value.Total && e.Top.SequenceEqual(p.Value.Top));
        Console.WriteLine($"sample {small.Length:N0}: engine {smallEngine:F2} s, plain all-pairs {baselineSeconds:F2} s, speed-up {baselineSeconds / smallEngine:F1}x, same result: {same}");
        var projected = baselineSeconds * Math.Pow((double)songs.Length / small.Length, 2);
        Console.WriteLine($"plain all-pairs projected to {songs.Length:N0} songs (quadratic): {projected:F0} s, {projected / engineSeconds:F0}x the engine");
        return same ? 0 : 1;
    }

    private static (double Seconds, long Rows, long Total) TimeEngine(InstrumentSet[] songs, SimilarityOptions options)
    {
        long rows = 0, total = 0;
        var watch = Stopwatch.StartNew();
        var summary = SimilarityEngine.Compute(songs, options, s =>
        {
            Interlocked.Add(ref rows, s.Top.Length);
            Interlocked.Add(ref total, s.Total);
        });
        Console.WriteLine($"  {summary.DistinctSets:N0} sets, {summary.Comparisons:N0} set comparisons after pruning ({summary.Comparisons / Math.Max(1.0, (double)summary.DistinctSets * summary.DistinctSets):P2} of all pairs)");
        return (watch.Elapsed.TotalSeconds, rows, total);
    }

    private static Dictionary<int, (int Total, SimilarSong[] Top)> Collect(InstrumentSet[] songs, SimilarityOptions options)
    {
        var result = new Dictionary<int, (int, SimilarSong[])>();
        var gate = new Lock();
        SimilarityEngine.Compute(songs, options, s =>
        {
            var top = s.Top.ToArray();
            lock (gate)
            {
                result[s.Song] = (s.Total, top);
            }
        });
        return result;
    }

    /// <summary>Every eligible song against every other: popcount Jaccard, keep all above the threshold, sort, cut.</summary>
    private static Dictionary<int, (int Total, SimilarSong[] Top)> PlainAllPairs(InstrumentSet[] songs, SimilarityOptions options)
    {
        var eligible = Enumerable.Range(0, songs.Length).Where(i => songs[i].Count >= options.MinInstruments).ToArray();
        var results = new (int, SimilarSong[])[eligible.Length];
        Parallel.For(0, eligible.Length, a =>
        {
            var i = eligible[a];
            var set = songs[i];
            var size = set.Count;
            var found = new List<SimilarSong>();
            foreach (var j in eligible)
            {
                if (j == i)
                {
                    continue;
                }

                var shared = set.IntersectCount(songs[j]);
                var similarity = (double)shared / (size + songs[j].Count - shared);
                if (similarity >= options.Threshold)
                {
                    found.Add(new SimilarSong(j, similarity, shared));
                }
            }

            found.Sort(static (x, y) => x.Similarity != y.Similarity ? y.Similarity.CompareTo(x.Similarity) : x.Shared != y.Shared ? y.Shared.CompareTo(x.Shared) : x.Song.CompareTo(y.Song));
            results[a] = (found.Count, [.. found.Take(options.TopK)]);
        });
        var map = new Dictionary<int, (int, SimilarSong[])>();
        for (var a = 0; a < eligible.Length; a++)
        {
            map[eligible[a]] = results[a];
        }

        return map;
    }

    /// <summary>Every stored song's instrument set, in id order (the order that breaks ties).</summary>
    private static InstrumentSet[] LoadSets(string db)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT instrument_bits_lo, instrument_bits_mid, instrument_bits_hi FROM songs ORDER BY id;";
        using var reader = command.ExecuteReader();
        var sets = new List<InstrumentSet>();
        while (reader.Read())
        {
            sets.Add(new InstrumentSet(unchecked((ulong)reader.GetInt64(0)), unchecked((ulong)reader.GetInt64(1)), unchecked((ulong)reader.GetInt64(2))));
        }

        return [.. sets];
    }
}
