namespace Scale.Midi;

/// <summary>What one file holds, as far as Scale cares: its instruments and the facts around them.</summary>
public sealed class MidiSummary
{
    /// <summary>SMF format as declared (0, 1, 2, or a damaged value read as 1); -1 when the file was rejected before the header.</summary>
    public int Format { get; init; } = -1;

    /// <summary>Number of MTrk chunks read.</summary>
    public int Tracks { get; init; }

    /// <summary>The header's raw division word: ticks per quarter note, or SMPTE when the top bit is set.</summary>
    public int Division { get; init; }

    /// <summary>Instruments that sound at least one note (codes 0-128).</summary>
    public InstrumentSet Instruments { get; init; }

    /// <summary>Note On (velocity &gt; 0) count per instrument code, 129 entries; empty when rejected.</summary>
    public IReadOnlyList<int> NoteCounts { get; init; } = [];

    /// <summary>Total notes over all instruments.</summary>
    public long Notes { get; init; }

    /// <summary>Length: the latest tick any track reaches (for format 2, the sum of the tracks' lengths).</summary>
    public long Ticks { get; init; }

    /// <summary>Length in seconds through the tempo map; null when division is invalid.</summary>
    public double? Seconds { get; init; }

    /// <summary>First meaningful track name or text event, or null.</summary>
    public string? Title { get; init; }

    public MidiWarnings Warnings { get; init; }

    /// <summary>Null for a usable file; otherwise why it was rejected.</summary>
    public MidiError? Error { get; init; }

    public bool IsValid => Error is null;

    /// <summary>A rejected file's summary.</summary>
    public static MidiSummary Rejected(MidiErrorCode code, string message, MidiWarnings warnings = MidiWarnings.None) =>
        new() { Error = new MidiError(code, message), Warnings = warnings };
}
