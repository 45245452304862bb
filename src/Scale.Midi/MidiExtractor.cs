namespace Scale.Midi;

/// <summary>
/// Reads a Standard MIDI File (possibly wrapped or damaged) and reports the instruments it plays.
/// An instance keeps scratch buffers between calls: use one per thread. Never throws for bad input.
/// </summary>
public sealed class MidiExtractor(MidiExtractorOptions? options = null)
{
    public MidiExtractorOptions Options { get; } = options ?? MidiExtractorOptions.Default;

    /// <summary>Extracts the summary of one file's bytes.</summary>
    public MidiSummary Extract(ReadOnlySpan<byte> file) => throw new NotImplementedException();
}
