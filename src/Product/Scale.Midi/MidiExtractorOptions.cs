namespace Scale.Midi;

/// <summary>Settings for <see cref="MidiExtractor"/>.</summary>
public sealed record MidiExtractorOptions
{
    /// <summary>Default limit on a file's size: 64 MiB, far above any real song (Lakh's largest is a few MB).</summary>
    public const long DefaultMaxFileBytes = 64L * 1024 * 1024;

    /// <summary>Files (and decompressed gzip content) larger than this are rejected unread with "too-large".</summary>
    public long MaxFileBytes { get; init; } = DefaultMaxFileBytes;

    public static MidiExtractorOptions Default { get; } = new();
}
