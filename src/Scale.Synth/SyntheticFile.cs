using Scale.Midi;

namespace Scale.Synth;

/// <summary>
/// One generated file with the generator's own truth about it: its kind, what a correct reader reports, and (for
/// accepted kinds) the instruments its playback semantics give, computed from what was written, not by parsing.
/// </summary>
public sealed record SyntheticFile
{
    public required int Index { get; init; }

    public required ReadOnlyMemory<byte> Bytes { get; init; }

    /// <summary>Lowercase hex md5 of <see cref="Bytes"/>: the file's name in the corpus.</summary>
    public required string Md5 { get; init; }

    public required FileKind Kind { get; init; }

    /// <summary>Instruments a correct reader reports; empty for rejected kinds and for no-notes.</summary>
    public required InstrumentSet Instruments { get; init; }

    /// <summary>The md5_to_paths.json paths ("Artist/Title.mid" style) listed for this file.</summary>
    public required IReadOnlyList<string> Paths { get; init; }

    public FileExpectation Expectation => FileKinds.Expectation(Kind);

    /// <summary>Where the file goes in a corpus folder: "&lt;hex&gt;/&lt;md5&gt;.mid".</summary>
    public string RelativePath => SyntheticCorpus.RelativePath(Md5);

    /// <summary>Null when <paramref name="actual"/> is what a correct reader reports for this file.</summary>
    public string? Mismatch(MidiSummary actual) => Expectation.Mismatch(actual, Instruments);
}
