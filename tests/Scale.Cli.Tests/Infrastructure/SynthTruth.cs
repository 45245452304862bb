using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Scale.Cli.Tests.Infrastructure;

/// <summary>One row of synth-manifest.tsv, the generator's ground truth about a file.</summary>
public sealed record TruthRow(int Index, string Md5, string Path, string Kind, string? Error, IReadOnlyList<int> Instruments, long Bytes)
{
    /// <summary>Accepted by a correct reader (valid, or damaged but recoverable).</summary>
    public bool IsSong => Error is null;
}

/// <summary>
/// What a synthetic corpus should give, read straight from the files <c>scale synth</c> writes next to it:
/// synth-manifest.tsv (columns index, md5, path, kind, error, warnings, tolerated, instruments, bytes) and
/// md5_to_paths.json. Parsed here rather than with the product's own reader.
/// </summary>
public sealed class SynthTruth
{
    private SynthTruth(IReadOnlyList<TruthRow> rows, IReadOnlyDictionary<string, string> firstPaths)
    {
        Rows = rows;
        FirstPaths = firstPaths;
    }

    public IReadOnlyList<TruthRow> Rows { get; }

    /// <summary>md5 → the first path listed for it in md5_to_paths.json.</summary>
    public IReadOnlyDictionary<string, string> FirstPaths { get; }

    /// <summary>Distinct md5s of files that must become songs, with the instruments they play.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> Songs =>
        Rows.Where(r => r.IsSong).GroupBy(r => r.Md5, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Instruments, StringComparer.Ordinal);

    public IReadOnlyList<TruthRow> ErrorRows => [.. Rows.Where(r => !r.IsSong)];

    /// <summary>Expected reason code → number of files.</summary>
    public IReadOnlyDictionary<string, long> ErrorCounts =>
        ErrorRows.GroupBy(r => r.Error!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);

    /// <summary>md5 → the name a song must get from md5_to_paths.json.</summary>
    public IReadOnlyDictionary<string, string> ExpectedNames =>
        Songs.Keys.ToDictionary(md5 => md5, md5 => NameFromPath(FirstPaths[md5]), StringComparer.Ordinal);

    /// <summary>Reads synth-manifest.tsv and md5_to_paths.json from <paramref name="folder"/>.</summary>
    public static SynthTruth Load(string folder)
    {
        var lines = File.ReadAllLines(System.IO.Path.Join(folder, "synth-manifest.tsv"));
        Assert.Equal("index\tmd5\tpath\tkind\terror\twarnings\ttolerated\tinstruments\tbytes", lines[0]);
        var rows = new List<TruthRow>(lines.Length - 1);
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var f = line.Split('\t');
            Assert.Equal(9, f.Length);
            rows.Add(new TruthRow(
                int.Parse(f[0], CultureInfo.InvariantCulture),
                f[1],
                f[2],
                f[3],
                f[4].Length == 0 ? null : f[4],
                [.. f[7].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(c => int.Parse(c, CultureInfo.InvariantCulture)).Order()],
                long.Parse(f[8], CultureInfo.InvariantCulture)));
        }

        var firstPaths = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var json = JsonDocument.Parse(File.ReadAllBytes(System.IO.Path.Join(folder, "md5_to_paths.json"))))
        {
            foreach (var property in json.RootElement.EnumerateObject())
            {
                firstPaths.TryAdd(property.Name, property.Value[0].GetString()!);
            }
        }

        return new SynthTruth(rows, firstPaths);
    }

    /// <summary>
    /// Lakh's naming rule: the whole first path, its extension dropped, '_' and '-' read as spaces, runs of
    /// spaces collapsed, ends trimmed. "M/Midnight_Lights/Dream_-_Live.mid" → "M/Midnight Lights/Dream Live".
    /// </summary>
    public static string NameFromPath(string path)
    {
        var segment = path.LastIndexOf('/') + 1;
        var dot = path.LastIndexOf('.');
        var stem = dot > segment ? path[..dot] : path;
        var builder = new StringBuilder(stem.Length);
        foreach (var c in stem.Replace('_', ' ').Replace('-', ' '))
        {
            if (c == ' ' && (builder.Length == 0 || builder[^1] == ' '))
            {
                continue;
            }

            builder.Append(c);
        }

        return builder.ToString().TrimEnd();
    }
}
