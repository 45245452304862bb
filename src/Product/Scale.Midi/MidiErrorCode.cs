namespace Scale.Midi;

/// <summary>
/// Why a file was rejected. Each has a stable kebab-case code (<see cref="MidiCodes.Code(MidiErrorCode)"/>) that is
/// stored, counted and shown; never renumber or rename one.
/// </summary>
public enum MidiErrorCode
{
    /// <summary>"empty-file": zero bytes.</summary>
    EmptyFile = 1,

    /// <summary>"too-large": over the configured size limit; not read.</summary>
    TooLarge,

    /// <summary>"not-midi": no Standard MIDI File inside (HTML, MP3, WMA, text, ...); the message says what it is.</summary>
    NotMidi,

    /// <summary>"gzip-corrupt": gzip-compressed, but the compressed data is damaged.</summary>
    GzipCorrupt,

    /// <summary>"truncated-header": the file ends inside the MThd chunk.</summary>
    TruncatedHeader,

    /// <summary>"bad-header-length": the MThd chunk declares fewer than 6 bytes.</summary>
    BadHeaderLength,

    /// <summary>"no-tracks": a header but no MTrk chunk with any data.</summary>
    NoTracks,

    /// <summary>"bad-vlq": a variable-length quantity longer than 4 bytes.</summary>
    BadVariableLengthQuantity,

    /// <summary>"running-status-without-status": a data byte where an event must start and no status to repeat.</summary>
    RunningStatusWithoutStatus,

    /// <summary>"invalid-data-byte": a byte of 0x80 or more inside a channel message's data.</summary>
    InvalidDataByte,

    /// <summary>"truncated-event": a track chunk of declared length ends in the middle of an event.</summary>
    TruncatedEvent,

    /// <summary>"decompressed-too-large": gzip content expands past the size limit.</summary>
    DecompressedTooLarge,

    /// <summary>"read-error": the source could not deliver the file's bytes (I/O error after retries).</summary>
    ReadError,
}

/// <summary>
/// Recoverable damage found while reading a file. The file's result is still used; each flag has a stable
/// kebab-case code (<see cref="MidiCodes.Codes(MidiWarnings)"/>).
/// </summary>
[Flags]
public enum MidiWarnings : uint
{
    None = 0,

    /// <summary>"riff-rmid-wrapper": the SMF was inside a RIFF RMID container.</summary>
    RiffRmidWrapper = 1 << 0,

    /// <summary>"macbinary-header": a 128-byte MacBinary header preceded MThd.</summary>
    MacBinaryHeader = 1 << 1,

    /// <summary>"gzip-compressed": the file was gzip-compressed SMF.</summary>
    GzipCompressed = 1 << 2,

    /// <summary>"leading-bytes": bytes other than a known header preceded MThd and were skipped.</summary>
    LeadingBytes = 1 << 3,

    /// <summary>"unknown-chunk": a chunk other than MThd/MTrk was skipped.</summary>
    UnknownChunk = 1 << 4,

    /// <summary>"trailing-bytes": bytes after the last chunk that are not a chunk were ignored.</summary>
    TrailingBytes = 1 << 5,

    /// <summary>"track-length-past-end": a track chunk declares more bytes than the file has; read to the end.</summary>
    TrackLengthPastEnd = 1 << 6,

    /// <summary>"missing-end-of-track": a track ends without its End of Track meta event.</summary>
    MissingEndOfTrack = 1 << 7,

    /// <summary>"running-status-after-meta-or-sysex": running status continued across a meta or sysex event.</summary>
    RunningStatusAfterMetaOrSysex = 1 << 8,

    /// <summary>"track-count-mismatch": the header's track count differs from the MTrk chunks found.</summary>
    TrackCountMismatch = 1 << 9,

    /// <summary>"unknown-format": a header format other than 0, 1, 2; read as format 1.</summary>
    UnknownFormat = 1 << 10,

    /// <summary>"invalid-division": division is zero, so ticks cannot be turned into seconds.</summary>
    InvalidDivision = 1 << 11,

    /// <summary>"system-message-in-track": a system common or real-time message (0xF1-0xFE but 0xF7/0xFF) was skipped.</summary>
    SystemMessageInTrack = 1 << 12,

    /// <summary>"truncated-track": the file ends in the middle of an event; the events before it are kept.</summary>
    TruncatedTrack = 1 << 13,

    /// <summary>"data-after-end-of-track": bytes inside a track chunk after its End of Track were ignored.</summary>
    DataAfterEndOfTrack = 1 << 14,

    /// <summary>"long-header": the MThd chunk is longer than 6 bytes; the extra bytes were skipped.</summary>
    LongHeader = 1 << 15,

    /// <summary>"bad-tempo": a Set Tempo meta event without 3 data bytes or with tempo 0 was ignored.</summary>
    BadTempo = 1 << 16,

    /// <summary>"no-notes": the file plays no note at all.</summary>
    NoNotes = 1 << 17,
}

/// <summary>A rejected file's reason: a stable code and a message for people.</summary>
public sealed record MidiError(MidiErrorCode Code, string Message)
{
    /// <summary>The stable machine-readable reason code, e.g. "not-midi".</summary>
    public string ReasonCode => MidiCodes.Code(Code);
}

/// <summary>Stable string codes for <see cref="MidiErrorCode"/> and <see cref="MidiWarnings"/>.</summary>
public static class MidiCodes
{
    private static readonly (MidiWarnings Flag, string Code)[] WarningTable =
    [
        (MidiWarnings.RiffRmidWrapper, "riff-rmid-wrapper"),
        (MidiWarnings.MacBinaryHeader, "macbinary-header"),
        (MidiWarnings.GzipCompressed, "gzip-compressed"),
        (MidiWarnings.LeadingBytes, "leading-bytes"),
        (MidiWarnings.UnknownChunk, "unknown-chunk"),
        (MidiWarnings.TrailingBytes, "trailing-bytes"),
        (MidiWarnings.TrackLengthPastEnd, "track-length-past-end"),
        (MidiWarnings.MissingEndOfTrack, "missing-end-of-track"),
        (MidiWarnings.RunningStatusAfterMetaOrSysex, "running-status-after-meta-or-sysex"),
        (MidiWarnings.TrackCountMismatch, "track-count-mismatch"),
        (MidiWarnings.UnknownFormat, "unknown-format"),
        (MidiWarnings.InvalidDivision, "invalid-division"),
        (MidiWarnings.SystemMessageInTrack, "system-message-in-track"),
        (MidiWarnings.TruncatedTrack, "truncated-track"),
        (MidiWarnings.DataAfterEndOfTrack, "data-after-end-of-track"),
        (MidiWarnings.LongHeader, "long-header"),
        (MidiWarnings.BadTempo, "bad-tempo"),
        (MidiWarnings.NoNotes, "no-notes"),
    ];

    /// <summary>Every warning flag with its code, in a stable order.</summary>
    public static IReadOnlyList<(MidiWarnings Flag, string Code)> AllWarnings => WarningTable;

    /// <summary>Every error code.</summary>
    public static IReadOnlyList<MidiErrorCode> AllErrors { get; } = Enum.GetValues<MidiErrorCode>();

    public static string Code(MidiErrorCode code) => code switch
    {
        MidiErrorCode.EmptyFile => "empty-file",
        MidiErrorCode.TooLarge => "too-large",
        MidiErrorCode.NotMidi => "not-midi",
        MidiErrorCode.GzipCorrupt => "gzip-corrupt",
        MidiErrorCode.TruncatedHeader => "truncated-header",
        MidiErrorCode.BadHeaderLength => "bad-header-length",
        MidiErrorCode.NoTracks => "no-tracks",
        MidiErrorCode.BadVariableLengthQuantity => "bad-vlq",
        MidiErrorCode.RunningStatusWithoutStatus => "running-status-without-status",
        MidiErrorCode.InvalidDataByte => "invalid-data-byte",
        MidiErrorCode.TruncatedEvent => "truncated-event",
        MidiErrorCode.DecompressedTooLarge => "decompressed-too-large",
        MidiErrorCode.ReadError => "read-error",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unknown MIDI error code."),
    };

    /// <summary>The codes of the flags set, in a stable order.</summary>
    public static IReadOnlyList<string> Codes(MidiWarnings warnings)
    {
        if (warnings == MidiWarnings.None)
        {
            return [];
        }

        var codes = new List<string>(4);
        foreach (var (flag, code) in WarningTable)
        {
            if ((warnings & flag) != 0)
            {
                codes.Add(code);
            }
        }

        return codes;
    }

    /// <summary>Parses a warning code back to its flag; false for an unknown code.</summary>
    public static bool TryParseWarning(string code, out MidiWarnings flag)
    {
        foreach (var (f, c) in WarningTable)
        {
            if (string.Equals(c, code, StringComparison.Ordinal))
            {
                flag = f;
                return true;
            }
        }

        flag = MidiWarnings.None;
        return false;
    }
}
