using Scale.Midi;

namespace Scale.Synth;

/// <summary>
/// What a synthetic file is: valid, or one deliberate kind of damage. Every <see cref="MidiErrorCode"/> that bytes
/// alone can produce has at least one kind, and so does every <see cref="MidiWarnings"/> flag. (too-large and
/// decompressed-too-large depend on the reader's configured limit, not on bytes, so they have none.) Numbers and
/// codes are stable: manifests store the codes.
/// </summary>
public enum FileKind
{
    /// <summary>"valid": a clean Standard MIDI File.</summary>
    Valid = 0,

    /// <summary>"empty-file": zero bytes. At most one per corpus (every empty file has the same md5).</summary>
    EmptyFile,

    /// <summary>"not-midi-html": an HTML error page saved as .mid.</summary>
    NotMidiHtml,

    /// <summary>"not-midi-mp3": MP3 audio with an ID3 tag.</summary>
    NotMidiMp3,

    /// <summary>"not-midi-text": a line of text such as "error with file".</summary>
    NotMidiText,

    /// <summary>"truncated-header": the file ends inside MThd.</summary>
    TruncatedHeader,

    /// <summary>"bad-header-length": MThd declares fewer than 6 bytes.</summary>
    BadHeaderLength,

    /// <summary>"no-tracks": a header declaring tracks, and nothing after it.</summary>
    NoTracks,

    /// <summary>"bad-vlq": a delta time written as a 5-byte variable-length quantity.</summary>
    BadVariableLengthQuantity,

    /// <summary>"running-status-without-status": the first track starts with data bytes.</summary>
    RunningStatusWithoutStatus,

    /// <summary>"invalid-data-byte": a Note On whose velocity byte has its high bit set.</summary>
    InvalidDataByte,

    /// <summary>"truncated-event": a track chunk (not the last) ends in the middle of a Note On.</summary>
    TruncatedEvent,

    /// <summary>"gzip-corrupt": a gzip-compressed SMF whose deflate data starts with an invalid block type.</summary>
    GzipCorrupt,

    /// <summary>"riff-rmid-wrapper": a valid SMF inside RIFF RMID.</summary>
    RiffRmidWrapper,

    /// <summary>"macbinary-header": a 128-byte MacBinary II header before MThd.</summary>
    MacBinaryHeader,

    /// <summary>"gzip-compressed": a gzip-compressed valid SMF.</summary>
    GzipCompressed,

    /// <summary>"leading-bytes": junk (HTTP headers, line breaks, binary) before MThd.</summary>
    LeadingBytes,

    /// <summary>"unknown-chunk": an XF/CASM/JUNK chunk among the tracks.</summary>
    UnknownChunk,

    /// <summary>"trailing-bytes": bytes after the last chunk that are not a chunk.</summary>
    TrailingBytes,

    /// <summary>"track-length-past-end": the last track declares more bytes than the file has.</summary>
    TrackLengthPastEnd,

    /// <summary>"missing-end-of-track": one track has no End of Track.</summary>
    MissingEndOfTrack,

    /// <summary>"running-status-after-meta-or-sysex": running status continues right after a meta or sysex event.</summary>
    RunningStatusAfterMetaOrSysex,

    /// <summary>"track-count-mismatch": the header promises more tracks than there are.</summary>
    TrackCountMismatch,

    /// <summary>"unknown-format": a header format above 2.</summary>
    UnknownFormat,

    /// <summary>"invalid-division": division 0.</summary>
    InvalidDivision,

    /// <summary>"system-message-in-track": a system real-time byte (F8, FA, FB, FC, FE) as an event.</summary>
    SystemMessageInTrack,

    /// <summary>"truncated-track": the file is cut in the middle of an event of its last track.</summary>
    TruncatedTrack,

    /// <summary>"data-after-end-of-track": bytes after End of Track inside a track chunk (padding or stray events).</summary>
    DataAfterEndOfTrack,

    /// <summary>"long-header": MThd longer than 6 bytes.</summary>
    LongHeader,

    /// <summary>"bad-tempo": a Set Tempo event with 2 data bytes or tempo 0.</summary>
    BadTempo,

    /// <summary>"no-notes": a well-formed file that never sounds a note.</summary>
    NoNotes,
}

/// <summary>
/// What a correct reader reports for a file kind. <see cref="Error"/> set: the file must be rejected with that
/// code (warnings then do not matter). Otherwise the file must be accepted with exactly <see cref="Warnings"/>,
/// give or take the flags in <see cref="Tolerated"/>, and play exactly the generator's instrument set.
/// </summary>
public readonly record struct FileExpectation(MidiErrorCode? Error, MidiWarnings Warnings, MidiWarnings Tolerated)
{
    public bool IsRejected => Error is not null;

    /// <summary>Null when <paramref name="actual"/> is what a reader should report; otherwise what differs.</summary>
    public string? Mismatch(MidiSummary actual, InstrumentSet instruments)
    {
        ArgumentNullException.ThrowIfNull(actual);
        if (Error is { } code)
        {
            return actual.Error?.Code == code
                ? null
                : $"expected error {MidiCodes.Code(code)}, got {Describe(actual)}";
        }

        if (actual.Error is not null)
        {
            return $"expected a valid file, got {Describe(actual)}";
        }

        if ((actual.Warnings & ~Tolerated) != Warnings)
        {
            return $"expected warnings [{string.Join(",", MidiCodes.Codes(Warnings))}], got [{string.Join(",", MidiCodes.Codes(actual.Warnings))}]";
        }

        return actual.Instruments == instruments ? null : $"expected instruments {instruments}, got {actual.Instruments}";
    }

    private static string Describe(MidiSummary actual) =>
        actual.Error is { } error ? $"error {error.ReasonCode} ({error.Message})" : "a valid file";
}

/// <summary>Codes and expectations of <see cref="FileKind"/>.</summary>
public static class FileKinds
{
    private static readonly FileKind[] AllKinds = Enum.GetValues<FileKind>();

    private static readonly FileKind[] DamagedKinds = AllKinds[1..];

    /// <summary>Every kind, <see cref="FileKind.Valid"/> first.</summary>
    public static IReadOnlyList<FileKind> All => AllKinds;

    /// <summary>Every damaged kind.</summary>
    public static IReadOnlyList<FileKind> Damaged => DamagedKinds;

    /// <summary>The stable kebab-case code of a kind, e.g. "missing-end-of-track".</summary>
    public static string Code(FileKind kind) => kind switch
    {
        FileKind.Valid => "valid",
        FileKind.EmptyFile => "empty-file",
        FileKind.NotMidiHtml => "not-midi-html",
        FileKind.NotMidiMp3 => "not-midi-mp3",
        FileKind.NotMidiText => "not-midi-text",
        FileKind.TruncatedHeader => "truncated-header",
        FileKind.BadHeaderLength => "bad-header-length",
        FileKind.NoTracks => "no-tracks",
        FileKind.BadVariableLengthQuantity => "bad-vlq",
        FileKind.RunningStatusWithoutStatus => "running-status-without-status",
        FileKind.InvalidDataByte => "invalid-data-byte",
        FileKind.TruncatedEvent => "truncated-event",
        FileKind.GzipCorrupt => "gzip-corrupt",
        FileKind.RiffRmidWrapper => "riff-rmid-wrapper",
        FileKind.MacBinaryHeader => "macbinary-header",
        FileKind.GzipCompressed => "gzip-compressed",
        FileKind.LeadingBytes => "leading-bytes",
        FileKind.UnknownChunk => "unknown-chunk",
        FileKind.TrailingBytes => "trailing-bytes",
        FileKind.TrackLengthPastEnd => "track-length-past-end",
        FileKind.MissingEndOfTrack => "missing-end-of-track",
        FileKind.RunningStatusAfterMetaOrSysex => "running-status-after-meta-or-sysex",
        FileKind.TrackCountMismatch => "track-count-mismatch",
        FileKind.UnknownFormat => "unknown-format",
        FileKind.InvalidDivision => "invalid-division",
        FileKind.SystemMessageInTrack => "system-message-in-track",
        FileKind.TruncatedTrack => "truncated-track",
        FileKind.DataAfterEndOfTrack => "data-after-end-of-track",
        FileKind.LongHeader => "long-header",
        FileKind.BadTempo => "bad-tempo",
        FileKind.NoNotes => "no-notes",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown file kind."),
    };

    public static bool TryParse(string code, out FileKind kind)
    {
        foreach (var k in AllKinds)
        {
            if (string.Equals(Code(k), code, StringComparison.Ordinal))
            {
                kind = k;
                return true;
            }
        }

        kind = FileKind.Valid;
        return false;
    }

    /// <summary>What a correct reader reports for files of this kind.</summary>
    public static FileExpectation Expectation(FileKind kind) => kind switch
    {
        FileKind.Valid => Accepts(MidiWarnings.None),
        FileKind.EmptyFile => Rejects(MidiErrorCode.EmptyFile),
        FileKind.NotMidiHtml or FileKind.NotMidiMp3 or FileKind.NotMidiText => Rejects(MidiErrorCode.NotMidi),
        FileKind.TruncatedHeader => Rejects(MidiErrorCode.TruncatedHeader),
        FileKind.BadHeaderLength => Rejects(MidiErrorCode.BadHeaderLength),
        FileKind.NoTracks => Rejects(MidiErrorCode.NoTracks),
        FileKind.BadVariableLengthQuantity => Rejects(MidiErrorCode.BadVariableLengthQuantity),
        FileKind.RunningStatusWithoutStatus => Rejects(MidiErrorCode.RunningStatusWithoutStatus),
        FileKind.InvalidDataByte => Rejects(MidiErrorCode.InvalidDataByte),
        FileKind.TruncatedEvent => Rejects(MidiErrorCode.TruncatedEvent),
        FileKind.GzipCorrupt => Rejects(MidiErrorCode.GzipCorrupt),
        FileKind.RiffRmidWrapper => Accepts(MidiWarnings.RiffRmidWrapper),
        FileKind.MacBinaryHeader => Accepts(MidiWarnings.MacBinaryHeader),
        FileKind.GzipCompressed => Accepts(MidiWarnings.GzipCompressed),
        FileKind.LeadingBytes => Accepts(MidiWarnings.LeadingBytes),
        FileKind.UnknownChunk => Accepts(MidiWarnings.UnknownChunk),
        FileKind.TrailingBytes => Accepts(MidiWarnings.TrailingBytes),
        FileKind.TrackLengthPastEnd => Accepts(MidiWarnings.TrackLengthPastEnd),
        FileKind.MissingEndOfTrack => Accepts(MidiWarnings.MissingEndOfTrack),
        FileKind.RunningStatusAfterMetaOrSysex => Accepts(MidiWarnings.RunningStatusAfterMetaOrSysex),
        FileKind.TrackCountMismatch => Accepts(MidiWarnings.TrackCountMismatch),
        FileKind.UnknownFormat => Accepts(MidiWarnings.UnknownFormat),
        FileKind.InvalidDivision => Accepts(MidiWarnings.InvalidDivision),
        FileKind.SystemMessageInTrack => Accepts(MidiWarnings.SystemMessageInTrack),
        // The cut track also declares more bytes than remain; whether a reader adds "missing End of Track" to
        // "truncated" is its choice.
        FileKind.TruncatedTrack => Accepts(MidiWarnings.TruncatedTrack | MidiWarnings.TrackLengthPastEnd, MidiWarnings.MissingEndOfTrack),
        FileKind.DataAfterEndOfTrack => Accepts(MidiWarnings.DataAfterEndOfTrack),
        FileKind.LongHeader => Accepts(MidiWarnings.LongHeader),
        FileKind.BadTempo => Accepts(MidiWarnings.BadTempo),
        FileKind.NoNotes => Accepts(MidiWarnings.NoNotes),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown file kind."),
    };

    private static FileExpectation Rejects(MidiErrorCode code) => new(code, MidiWarnings.None, MidiWarnings.None);

    private static FileExpectation Accepts(MidiWarnings warnings, MidiWarnings tolerated = MidiWarnings.None) =>
        new(null, warnings, tolerated);
}
