namespace Scale.Pipeline;

/// <summary>
/// Live counters of a running job, updated lock-free by its stages; read them at any time for progress display.
/// Counts refer to committed work except <see cref="Extracted"/>.
/// </summary>
public sealed class ExtractionProgress
{
    private long _skipped;
    private long _extracted;
    private long _committed;
    private long _valid;
    private long _invalid;
    private long _duplicates;
    private long _bytes;
    private long _total = -1;

    /// <summary>Keys a previous run already finished (not read again).</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Files the workers have finished (some may not be committed yet).</summary>
    public long Extracted => Interlocked.Read(ref _extracted);

    /// <summary>Files committed to the store by this run.</summary>
    public long Committed => Interlocked.Read(ref _committed);

    public long Valid => Interlocked.Read(ref _valid);

    public long Invalid => Interlocked.Read(ref _invalid);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Bytes of the committed files.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>All keys in the source (skipped ones included), once known.</summary>
    public long? Total => Interlocked.Read(ref _total) is >= 0 and var total ? total : null;

    /// <summary>Files this run still has to do, once the total is known.</summary>
    public long? Remaining => Total is { } total ? Math.Max(0, total - Skipped - Committed) : null;

    internal void AddSkipped() => Interlocked.Increment(ref _skipped);

    internal void AddExtracted() => Interlocked.Increment(ref _extracted);

    internal void SetTotal(long total) => Interlocked.Exchange(ref _total, total);

    internal void AddCommitted(int valid, int invalid, int duplicates, long bytes)
    {
        Interlocked.Add(ref _valid, valid);
        Interlocked.Add(ref _invalid, invalid);
        Interlocked.Add(ref _duplicates, duplicates);
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Add(ref _committed, valid + invalid);
    }
}
