using Scale.Midi;

namespace Scale.Store;

/// <summary>
/// Reason codes of invalid files that are not MIDI errors. Together with <see cref="MidiCodes.Code(MidiErrorCode)"/>
/// they are the stable values of <c>invalid_files.reason_code</c>.
/// </summary>
public static class InvalidReasons
{
    /// <summary>The source could not deliver the file's bytes (I/O error after retries).</summary>
    public const string ReadError = "read-error";

    /// <summary>An unexpected exception while processing the file (a bug, never bad input).</summary>
    public const string InternalError = "internal-error";

    /// <summary>Over the size limit, not read; the same code as <see cref="MidiErrorCode.TooLarge"/>.</summary>
    public static string TooLarge { get; } = MidiCodes.Code(MidiErrorCode.TooLarge);
}
