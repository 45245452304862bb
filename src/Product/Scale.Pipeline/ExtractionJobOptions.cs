using Scale.Midi;
using Scale.Store;

namespace Scale.Pipeline;

/// <summary>Settings for <see cref="ExtractionJob"/>; the defaults suit a Lakh run on any machine.</summary>
public sealed record ExtractionJobOptions
{
    /// <summary>Extraction workers; default one per core.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Files per store transaction. Larger batches write faster; smaller ones lose less work when killed.</summary>
    public int BatchFiles { get; init; } = 2_000;

    /// <summary>A batch is also written when it has waited this long, so slow sources still make steady progress.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Files read ahead of the workers (bounded queue).</summary>
    public int ReadAhead { get; init; } = 512;

    /// <summary>Bytes read ahead of the workers; with <see cref="ReadAhead"/>, what bounds memory whatever the file sizes.</summary>
    public long ReadAheadBytes { get; init; } = 128L * 1024 * 1024;

    public MidiExtractorOptions Extractor { get; init; } = MidiExtractorOptions.Default;

    /// <summary>
    /// The shard of the source this run takes (default: all of it). When the source has been read to its end and
    /// every result committed, the shard is recorded complete in the same transaction as the last batch.
    /// </summary>
    public ShardSpec Shard { get; init; } = ShardSpec.All;

    /// <summary>Only keys this accepts (and that are in <see cref="Shard"/>) are processed; null means all.</summary>
    public Func<string, bool>? KeyFilter { get; init; }

    /// <summary>Looks up a song's name by md5 (Lakh's md5_to_paths.json); null means none.</summary>
    public Func<string, string?>? NameLookup { get; init; }

    /// <summary>Count the source's files first (cheap for folders) so progress can show an ETA.</summary>
    public bool CountFirst { get; init; } = true;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchFiles, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ReadAhead, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ReadAheadBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(FlushInterval, TimeSpan.Zero);
        Shard.Validate();
    }
}
