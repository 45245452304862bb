namespace Scale.Corpus.Sources;

/// <summary>
/// A corpus of MIDI files read as a stream: a folder tree, a tarball, or an S3-compatible bucket prefix.
/// The corpus never has to fit in memory; items are yielded one by one and must be disposed.
/// </summary>
public interface ICorpusSource : IAsyncDisposable
{
    /// <summary>Canonical, stable identity of the source (e.g. "folder:/data/lmd_full", "s3://bucket/prefix"),
    /// used to remember which keys a previous run finished.</summary>
    string Identity { get; }

    /// <summary>
    /// Yields every MIDI file of the source. <paramref name="include"/> is asked for each key before the file's
    /// bytes are read (so a resumed run or a shard skips the I/O of files it does not need); null means all.
    /// </summary>
    IAsyncEnumerable<CorpusItem> ReadAsync(Func<string, bool>? include, CancellationToken cancellationToken);
}

/// <summary>
/// One file of a corpus. <see cref="Data"/> may live in a pooled buffer: it is valid until <see cref="Dispose"/>.
/// </summary>
public sealed class CorpusItem : IDisposable
{
    private Action? _release;

    public CorpusItem(string key, long size, ReadOnlyMemory<byte> data, Action? release = null)
    {
        Key = key;
        Size = size;
        Data = data;
        _release = release;
    }

    /// <summary>Path of the file inside the source, '/'-separated (e.g. "0/0a1b...ef.mid").</summary>
    public string Key { get; }

    /// <summary>Size in bytes as the source reports it (known even when the file was not read).</summary>
    public long Size { get; }

    /// <summary>The file's bytes; empty when <see cref="Oversized"/>.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>True when the file is over the size limit and was deliberately not read.</summary>
    public bool Oversized { get; init; }

    /// <summary>Set when the source could not deliver the file (I/O error after retries); the file is recorded, not lost.</summary>
    public string? ReadError { get; init; }

    public void Dispose()
    {
        Interlocked.Exchange(ref _release, null)?.Invoke();
    }
}
