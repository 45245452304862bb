using System.Globalization;
using Scale.Midi;

namespace Scale.Synth;

/// <summary>
/// One row of synth-manifest.tsv: a file of the corpus and the ground truth about it. Path is the file's key
/// ("&lt;hex&gt;/&lt;md5&gt;.mid", or "lmd_full/&lt;hex&gt;/&lt;md5&gt;.mid" in a tarball); Instruments is what a correct
/// reader reports (empty for rejected files).
/// </summary>
public sealed record SynthManifestEntry(int Index, string Md5, string Path, FileKind Kind, InstrumentSet Instruments, int Bytes)
{
    public FileExpectation Expectation => FileKinds.Expectation(Kind);

    /// <summary>Null when <paramref name="actual"/> is what a correct reader reports for this file.</summary>
    public string? Mismatch(MidiSummary actual) => Expectation.Mismatch(actual, Instruments);
}

/// <summary>
/// synth-manifest.tsv: ground truth for reader tests at scale. Columns: index, md5, path, kind (a
/// <see cref="FileKinds.Code"/>), error (expected reason code, empty for accepted files), warnings and tolerated
/// (comma-separated warning codes), instruments (comma-separated codes 0-128), bytes.
/// </summary>
public static class SynthManifest
{
    public const string Header = "index\tmd5\tpath\tkind\terror\twarnings\ttolerated\tinstruments\tbytes";

    public static string Format(SynthManifestEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var expectation = entry.Expectation;
        return string.Join('\t',
            entry.Index.ToString(CultureInfo.InvariantCulture),
            entry.Md5,
            entry.Path,
            FileKinds.Code(entry.Kind),
            expectation.Error is { } error ? MidiCodes.Code(error) : string.Empty,
            string.Join(',', MidiCodes.Codes(expectation.Warnings)),
            string.Join(',', MidiCodes.Codes(expectation.Tolerated)),
            string.Join(',', entry.Instruments.ToArray()),
            entry.Bytes.ToString(CultureInfo.InvariantCulture));
    }

    /// <exception cref="FormatException">A line is not a manifest row.</exception>
    public static SynthManifestEntry Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var fields = line.Split('\t');
        if (fields.Length != 9 || !FileKinds.TryParse(fields[3], out var kind))
        {
            throw new FormatException($"Not a synth-manifest row: '{line}'.");
        }

        var instruments = InstrumentSet.Empty;
        foreach (var code in fields[7].Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            instruments = instruments.Add(int.Parse(code, CultureInfo.InvariantCulture));
        }

        return new SynthManifestEntry(
            int.Parse(fields[0], CultureInfo.InvariantCulture), fields[1], fields[2], kind, instruments,
            int.Parse(fields[8], CultureInfo.InvariantCulture));
    }

    /// <summary>Reads a whole manifest.</summary>
    public static async Task<IReadOnlyList<SynthManifestEntry>> ReadAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var entries = new List<SynthManifestEntry>();
        using var reader = new StreamReader(path);
        var header = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        if (!string.Equals(header, Header, StringComparison.Ordinal))
        {
            throw new FormatException($"'{path}' does not start with the synth-manifest header.");
        }

        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length > 0)
            {
                entries.Add(Parse(line));
            }
        }

        return entries;
    }
}
