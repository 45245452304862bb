namespace Scale.Corpus.Sources;

/// <summary>Which names count as MIDI files, and how keys are written, for every corpus source alike.</summary>
public static class CorpusKeys
{
    /// <summary>The extensions a corpus file may have (compared case-insensitively): SMF, karaoke and RIFF RMID.</summary>
    public static IReadOnlyList<string> MidiExtensions { get; } = [".mid", ".midi", ".kar", ".rmi"];

    /// <summary>True when the name (or '/'-separated key) ends with one of <see cref="MidiExtensions"/>.</summary>
    public static bool IsMidiFileName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var extension in MidiExtensions)
        {
            if (name.EndsWith(extension, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A tar entry's name as a key: tarballs made with "tar -C dir ." name entries "./x/y.mid", and some tools
    /// write absolute names; both would make the same file's key differ between a folder and its tarball.
    /// </summary>
    public static string FromTarEntryName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var span = name.AsSpan();
        while (true)
        {
            if (span.StartsWith("./", StringComparison.Ordinal))
            {
                span = span[2..];
            }
            else if (span.StartsWith("/", StringComparison.Ordinal))
            {
                span = span[1..];
            }
            else
            {
                break;
            }
        }

        return span.Length == name.Length ? name : span.ToString();
    }
}
