namespace Scale.Store;

/// <summary>
/// Scale's result store: songs and their instruments, files that could not be used, the per-source ledger of
/// finished keys (what makes a run resumable), and the runs themselves.
/// </summary>
/// <remarks>
/// One interface, two implementations: SQLite (embedded, the default) and PostgreSQL (a primary with streaming
/// replicas), so nothing here exposes a provider type. Every write is one transaction; a process killed at any instant leaves a consistent
/// store, and its run row stays <see cref="RunStatus.Running"/> until the next run of the same source marks it
/// <see cref="RunStatus.Interrupted"/>. An instance serialises its own calls, so it may be shared by tasks, but
/// it holds one connection: give each process its own instance.
/// </remarks>
public interface IScaleStore : IAsyncDisposable
{
    /// <summary>Where the data is, without credentials: a file path, or postgres://hosts/database.</summary>
    string Description { get; }

    /// <summary>Connects and brings the schema up to date (idempotent; safe when several processes open at once).</summary>
    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>Applies missing schema migrations; <see cref="OpenAsync"/> already does. Returns the schema version.</summary>
    Task<int> MigrateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Starts a run of <paramref name="source"/>: marks that source's stale <see cref="RunStatus.Running"/> rows
    /// (left by a killed process) <see cref="RunStatus.Interrupted"/>, then inserts a new running row.
    /// </summary>
    Task<long> BeginRunAsync(string source, CancellationToken cancellationToken);

    /// <summary>Every key of <paramref name="source"/> that a run finished (valid or not): the resume ledger.</summary>
    Task<IReadOnlySet<string>> GetFinishedKeysAsync(string source, CancellationToken cancellationToken);

    /// <summary>
    /// Writes one batch in a single transaction: songs (a song already stored under another key or run is left
    /// as it is), their instruments, invalid files, the ledger rows and the run's counters. All or nothing. Keys
    /// already in the ledger are ignored, so writing a batch twice changes nothing.
    /// </summary>
    Task<BatchResult> WriteBatchAsync(long runId, IReadOnlyList<ExtractedFile> files, CancellationToken cancellationToken) =>
        WriteBatchAsync(runId, files, null, cancellationToken);

    /// <summary>
    /// <see cref="WriteBatchAsync(long, IReadOnlyList{ExtractedFile}, CancellationToken)"/>, and when
    /// <paramref name="completesShard"/> is given, records that shard of the run's source as complete in the same
    /// transaction (the batch may be empty): a shard is complete exactly when its last results are committed.
    /// </summary>
    Task<BatchResult> WriteBatchAsync(long runId, IReadOnlyList<ExtractedFile> files, ShardSpec? completesShard, CancellationToken cancellationToken);

    /// <summary>Every completed shard of every source.</summary>
    Task<IReadOnlyList<ShardRecord>> GetCompletedShardsAsync(CancellationToken cancellationToken);

    /// <summary>Ends a run: its final counts, timings, status and error message.</summary>
    Task CompleteRunAsync(long runId, RunStats stats, RunStatus status, string? errorMessage, CancellationToken cancellationToken);

    /// <summary>Runs, newest first.</summary>
    Task<IReadOnlyList<RunRecord>> GetRunsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>One run, or null.</summary>
    Task<RunRecord?> GetRunAsync(long runId, CancellationToken cancellationToken);

    /// <summary>Counts for a summary: songs, rows, invalid files by reason, instrument usage.</summary>
    Task<StoreSummary> GetSummaryAsync(CancellationToken cancellationToken);

    /// <summary>Every stored song's key, id and instruments, in id order (the order that breaks similarity ties).</summary>
    Task<IReadOnlyList<SongSet>> GetSongSetsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Starts a similarity run: marks stale running ones (left by a killed process) interrupted and inserts a
    /// running row with <paramref name="settings"/>.
    /// </summary>
    Task<long> BeginSimilarityRunAsync(SimilaritySettings settings, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces every song's similar songs with <paramref name="lists"/> (enumerated once, in any song order, and
    /// possibly while they are still being computed) in one transaction that also completes the run. After the
    /// last list, <paramref name="completedStats"/> gives the run's counts and timings; the store fills in the rows
    /// and pairs it wrote. Readers see the old lists or the new ones, never a mix; an exception from the
    /// enumeration rolls everything back.
    /// </summary>
    Task<SimilarityStats> ReplaceSimilaritiesAsync(long runId, IEnumerable<SimilarSongList> lists, Func<SimilarityStats> completedStats, CancellationToken cancellationToken);

    /// <summary>Marks a similarity run failed or interrupted (a completed run is completed by <see cref="ReplaceSimilaritiesAsync"/>).</summary>
    Task FailSimilarityRunAsync(long runId, RunStatus status, string errorMessage, CancellationToken cancellationToken);

    /// <summary>Similarity runs, newest first.</summary>
    Task<IReadOnlyList<SimilarityRunRecord>> GetSimilarityRunsAsync(int limit, CancellationToken cancellationToken);
}
