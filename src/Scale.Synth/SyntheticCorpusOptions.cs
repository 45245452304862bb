namespace Scale.Synth;

/// <summary>Settings for <see cref="SyntheticCorpus.Write"/>.</summary>
public sealed record SyntheticCorpusOptions
{
    /// <summary>Number of files in LMD-full, the default corpus size.</summary>
    public const int LakhFileCount = 176_581;

    /// <summary>LMD-full's average file size: its "0" folder holds 11,133 files in 395 MB.</summary>
    public const int LakhAverageFileBytes = 35_500;

    public const double DefaultDamagedShare = 0.02;

    /// <summary>How many files to write.</summary>
    public int Files { get; init; } = LakhFileCount;

    /// <summary>Same seed and same settings give byte-identical files, whatever the parallelism.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Share of files that are damaged (0-1); which ones, and how, is fixed by <see cref="SyntheticCorpus.Plan(int, double)"/>.</summary>
    public double DamagedShare { get; init; } = DefaultDamagedShare;

    /// <summary>
    /// Folder to write into; created if missing, and must hold no corpus files yet. Gets &lt;hex&gt;/&lt;md5&gt;.mid
    /// (or lmd_full.tar.gz), md5_to_paths.json and, unless disabled, synth-manifest.tsv.
    /// </summary>
    public string OutputDirectory { get; init; } = string.Empty;

    /// <summary>Write one lmd_full.tar.gz (entries lmd_full/&lt;hex&gt;/&lt;md5&gt;.mid) instead of a folder tree.</summary>
    public bool Tar { get; init; }

    /// <summary>Mean file size in bytes the generator aims at (individual files spread from ~1/20 to 30 times it).</summary>
    public int AverageFileBytes { get; init; } = LakhAverageFileBytes;

    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Write synth-manifest.tsv (each file's kind, expected result and instruments) next to md5_to_paths.json.</summary>
    public bool WriteManifest { get; init; } = true;

    /// <summary>Told how far writing has got, at most every <see cref="ProgressInterval"/> and once at the end.</summary>
    public IProgress<SynthProgress>? Progress { get; init; }

    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Files);
        if (DamagedShare is < 0 or > 1 || double.IsNaN(DamagedShare))
        {
            throw new ArgumentOutOfRangeException(nameof(DamagedShare), DamagedShare, "The damaged share must be between 0 and 1.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(AverageFileBytes, 1_000);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(AverageFileBytes, 1_000_000);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDegreeOfParallelism, 1);
        ArgumentException.ThrowIfNullOrWhiteSpace(OutputDirectory);
    }
}

/// <summary>Progress of a corpus write. <see cref="Bytes"/> counts MIDI bytes (before tar/gzip).</summary>
public readonly record struct SynthProgress(long FilesWritten, long TotalFiles, long Bytes, TimeSpan Elapsed)
{
    public double FilesPerSecond => Elapsed > TimeSpan.Zero ? FilesWritten / Elapsed.TotalSeconds : 0;

    public double BytesPerSecond => Elapsed > TimeSpan.Zero ? Bytes / Elapsed.TotalSeconds : 0;

    /// <summary>Time left at the rate so far; null before anything is written.</summary>
    public TimeSpan? Remaining => FilesWritten > 0 && Elapsed > TimeSpan.Zero
        ? TimeSpan.FromSeconds((TotalFiles - FilesWritten) / FilesPerSecond)
        : null;
}

/// <summary>What <see cref="SyntheticCorpus.Write"/> wrote.</summary>
public sealed record SynthResult
{
    public required int Files { get; init; }

    public required int DamagedFiles { get; init; }

    /// <summary>Total size of the MIDI files (uncompressed).</summary>
    public required long Bytes { get; init; }

    public required TimeSpan Elapsed { get; init; }

    /// <summary>The corpus folder, or the tarball in tar mode.</summary>
    public required string CorpusPath { get; init; }

    public required string PathsJsonPath { get; init; }

    /// <summary>synth-manifest.tsv, or null when not written.</summary>
    public string? ManifestPath { get; init; }

    /// <summary>Files per kind (kinds with none are left out).</summary>
    public required IReadOnlyDictionary<FileKind, int> KindCounts { get; init; }

    public double FilesPerSecond => Elapsed > TimeSpan.Zero ? Files / Elapsed.TotalSeconds : 0;

    public double MegabytesPerSecond => Elapsed > TimeSpan.Zero ? Bytes / 1e6 / Elapsed.TotalSeconds : 0;
}
