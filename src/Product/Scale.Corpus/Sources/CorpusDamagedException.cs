namespace Scale.Corpus.Sources;

/// <summary>
/// A source broke part-way through (a truncated or corrupt tarball): everything before the damage was yielded,
/// nothing after it can be. The pipeline catches it to record the run as incomplete with this message.
/// (An IOException: InvalidDataException, the natural parent, is sealed.)
/// </summary>
public sealed class CorpusDamagedException : IOException
{
    public CorpusDamagedException()
    {
    }

    public CorpusDamagedException(string message)
        : base(message)
    {
    }

    public CorpusDamagedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CorpusDamagedException(string identity, long goodEntries, string? entryKey, Exception innerException)
        : base(Describe(identity, goodEntries, entryKey, innerException), innerException)
    {
        Identity = identity;
        GoodEntries = goodEntries;
        EntryKey = entryKey;
    }

    /// <summary>The damaged source's <see cref="ICorpusSource.Identity"/>.</summary>
    public string? Identity { get; }

    /// <summary>How many archive entries (of any kind) were read whole before the damage.</summary>
    public long GoodEntries { get; }

    /// <summary>The entry being read when the damage showed, when known.</summary>
    public string? EntryKey { get; }

    private static string Describe(string identity, long goodEntries, string? entryKey, Exception inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var where = entryKey is null ? string.Empty : $" (inside '{entryKey}')";
        var path = identity.StartsWith("tar:", StringComparison.Ordinal) ? identity[4..] : identity;
        return $"tarball '{path}' is damaged after {goodEntries} entries{where}: {inner.Message}";
    }
}
