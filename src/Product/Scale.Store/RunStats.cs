namespace Scale.Store;

/// <summary>
/// Counts and timings of one run. <see cref="FilesSeen"/> = skipped + valid + invalid; duplicates are valid files
/// whose song (same MD5) was already stored under another key.
/// </summary>
public sealed record RunStats
{
    public long FilesSeen { get; init; }

    /// <summary>Keys a previous run already finished, not read again.</summary>
    public long FilesSkipped { get; init; }

    public long FilesValid { get; init; }

    public long FilesInvalid { get; init; }

    public long FilesDuplicate { get; init; }

    /// <summary>Bytes of the files this run processed.</summary>
    public long BytesRead { get; init; }

    /// <summary>Time spent waiting on the source for the next file.</summary>
    public double ReadSeconds { get; init; }

    /// <summary>Time spent hashing and extracting, summed over the workers (can exceed the wall time).</summary>
    public double ExtractSeconds { get; init; }

    /// <summary>Time spent writing batches to the store.</summary>
    public double WriteSeconds { get; init; }

    public double WallSeconds { get; init; }
}

/// <summary>What one <see cref="IScaleStore.WriteBatchAsync(long, IReadOnlyList{ExtractedFile}, CancellationToken)"/> committed.</summary>
/// <param name="Valid">Valid files written to the ledger (new songs plus duplicates).</param>
/// <param name="Invalid">Invalid files written.</param>
/// <param name="Duplicates">Valid files whose song was already stored.</param>
/// <param name="Ignored">Files skipped because their key was already in the ledger.</param>
/// <param name="Bytes">Bytes of the files written (ignored ones excluded).</param>
public readonly record struct BatchResult(int Valid, int Invalid, int Duplicates, int Ignored, long Bytes)
{
    public int Written => Valid + Invalid;
}

/// <summary>A row of <c>runs</c>.</summary>
public sealed record RunRecord(
    long Id,
    string Source,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    RunStatus Status,
    RunStats Stats,
    string? Error);

/// <summary>Counts for a store summary.</summary>
/// <param name="Songs">Distinct songs (by MD5).</param>
/// <param name="SongInstruments">Rows of song_instruments.</param>
/// <param name="SourceFiles">Ledger rows: keys finished over all sources.</param>
/// <param name="InvalidFiles">Invalid files over all sources.</param>
/// <param name="InvalidByReason">Invalid files per reason code, most frequent first.</param>
/// <param name="InstrumentUsage">Songs per instrument, most used first; unused instruments are left out.</param>
public sealed record StoreSummary(
    long Songs,
    long SongInstruments,
    long SourceFiles,
    long InvalidFiles,
    IReadOnlyList<ReasonCount> InvalidByReason,
    IReadOnlyList<InstrumentUsage> InstrumentUsage);

public readonly record struct ReasonCount(string ReasonCode, long Files);

public readonly record struct InstrumentUsage(int Code, string Name, int FamilyCode, string FamilyName, long Songs);
