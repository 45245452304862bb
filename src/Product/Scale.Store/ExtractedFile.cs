using Scale.Midi;

namespace Scale.Store;

/// <summary>
/// What a run learned about one key of a source: a usable song (<see cref="IsValid"/>) or an invalid file with a
/// reason. Build it with <see cref="Song"/>, <see cref="Rejected"/> or <see cref="Failed"/>.
/// </summary>
public sealed class ExtractedFile
{
    private ExtractedFile(string key, long bytes, string? md5, string? name, MidiSummary? summary, string? reasonCode, string? message)
    {
        ArgumentNullException.ThrowIfNull(key);
        Key = key;
        Bytes = bytes;
        Md5 = md5;
        Name = name;
        Summary = summary;
        ReasonCode = reasonCode;
        Message = message;
    }

    /// <summary>The key inside the source.</summary>
    public string Key { get; }

    /// <summary>File size in bytes.</summary>
    public long Bytes { get; }

    /// <summary>Lower-case hex MD5 of the bytes; null when the bytes were not read.</summary>
    public string? Md5 { get; }

    /// <summary>Display name of a valid song.</summary>
    public string? Name { get; }

    /// <summary>The extractor's summary, when the file was extracted.</summary>
    public MidiSummary? Summary { get; }

    /// <summary>Null for a valid song, else the stable reason code (e.g. "not-midi", "read-error").</summary>
    public string? ReasonCode { get; }

    /// <summary>Null for a valid song, else a message for people.</summary>
    public string? Message { get; }

    public bool IsValid => ReasonCode is null;

    /// <summary>
    /// A file the extractor read: valid when <paramref name="summary"/> has no error, otherwise invalid with the
    /// extractor's reason.
    /// </summary>
    public static ExtractedFile Song(string key, long bytes, string md5, string name, MidiSummary summary)
    {
        ArgumentNullException.ThrowIfNull(md5);
        ArgumentNullException.ThrowIfNull(summary);
        return summary.Error is { } error
            ? new ExtractedFile(key, bytes, md5, null, summary, error.ReasonCode, error.Message)
            : new ExtractedFile(key, bytes, md5, name, summary, null, null);
    }

    /// <summary>An invalid file for a reason of the caller's (see <see cref="InvalidReasons"/>).</summary>
    public static ExtractedFile Failed(string key, long bytes, string? md5, string reasonCode, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(reasonCode);
        ArgumentNullException.ThrowIfNull(message);
        return new ExtractedFile(key, bytes, md5, null, null, reasonCode, message);
    }

    /// <summary>An invalid file the extractor rejected.</summary>
    public static ExtractedFile Rejected(string key, long bytes, string? md5, MidiError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new ExtractedFile(key, bytes, md5, null, null, error.ReasonCode, error.Message);
    }
}
