using System.Collections.Concurrent;
using System.Diagnostics;
using Scale.Pipeline.Telemetry;
using Scale.Similarity;
using Scale.Store;

namespace Scale.Pipeline;

/// <summary>
/// Computes every song's similar songs from the store and replaces the stored lists: reads all songs' instrument
/// sets, runs <see cref="SimilarityEngine"/> on all cores and streams each finished list into the store's single
/// transaction while the rest is still being computed, so writing overlaps computing and memory stays bounded.
/// A failure or cancellation rolls the transaction back: the previous lists stay, the run is marked failed or
/// interrupted.
/// </summary>
public sealed class SimilarityJob
{
    /// <summary>Lists computed but not yet written; the engine waits when the store falls this far behind.</summary>
    private const int QueueCapacity = 4_096;

    private readonly IScaleStore _store;
    private readonly TimeProvider _time;
    private long _songsDone;
    private long _eligible = -1;

    public SimilarityJob(IScaleStore store, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Songs whose list is computed so far.</summary>
    public long SongsDone => Interlocked.Read(ref _songsDone);

    /// <summary>Eligible songs (known once the sets are read; null before).</summary>
    public long? EligibleSongs => Interlocked.Read(ref _eligible) is var e and >= 0 ? e : null;

    /// <summary>The store's name for a measure ("jaccard", "weighted").</summary>
    public static string MeasureCode(SimilarityMeasure measure) => measure switch
    {
        SimilarityMeasure.Jaccard => "jaccard",
        SimilarityMeasure.RarityWeighted => "weighted",
        _ => throw new ArgumentOutOfRangeException(nameof(measure), measure, "Unknown similarity measure."),
    };

    public async Task<SimilarityJobResult> RunAsync(SimilarityOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var started = _time.GetTimestamp();
        var stage = BatchMetrics.StartSimilarity(this, _time);
        try
        {
            return await RunCoreAsync(options, started, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            BatchMetrics.Stage("similarity", _time.GetElapsedTime(started).TotalSeconds);
            stage.MarkFinished();
        }
    }

    private async Task<SimilarityJobResult> RunCoreAsync(SimilarityOptions options, long started, CancellationToken cancellationToken)
    {
        var songs = await _store.GetSongSetsAsync(cancellationToken).ConfigureAwait(false);
        var sets = songs.Select(s => s.Instruments).ToArray();
        Interlocked.Exchange(ref _eligible, sets.Count(s => s.Count >= options.MinInstruments));
        var settings = new SimilaritySettings(MeasureCode(options.Measure), options.Threshold, options.TopK, options.MinInstruments);
        var runId = await _store.BeginSimilarityRunAsync(settings, cancellationToken).ConfigureAwait(false);
        try
        {
            using var queue = new BlockingCollection<SimilarSongList>(QueueCapacity);
            using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            SimilaritySummary summary = default;
            double computeSeconds = 0;
            var compute = Task.Run(
                () =>
                {
                    var watch = Stopwatch.StartNew();
                    try
                    {
                        summary = SimilarityEngine.Compute(sets, options, s => queue.Add(ToList(songs, s), abandon.Token), abandon.Token);
                        computeSeconds = watch.Elapsed.TotalSeconds;
                    }
                    finally
                    {
                        queue.CompleteAdding();
                    }
                },
                CancellationToken.None);

            SimilarityStats stats;
            try
            {
                stats = await _store.ReplaceSimilaritiesAsync(
                    runId,
                    Drain(queue, compute, cancellationToken),
                    () => new SimilarityStats
                    {
                        Songs = songs.Count,
                        EligibleSongs = summary.EligibleSongs,
                        DistinctSets = summary.DistinctSets,
                        ComputeSeconds = computeSeconds,
                        // Writing overlaps computing: what is left is the time the store needed beyond it.
                        WriteSeconds = Math.Max(0, _time.GetElapsedTime(started).TotalSeconds - computeSeconds),
                        WallSeconds = _time.GetElapsedTime(started).TotalSeconds,
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // The engine may be blocked on a full queue: release it before waiting for it.
                await abandon.CancelAsync().ConfigureAwait(false);
                await compute.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
                throw;
            }

            await compute.ConfigureAwait(false);
            return new SimilarityJobResult(runId, stats, summary.Comparisons);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await _store.FailSimilarityRunAsync(runId, RunStatus.Interrupted, "Cancelled before the lists were written; the previous lists are kept.", CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex)
        {
            await _store.FailSimilarityRunAsync(runId, RunStatus.Failed, ex.Message, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private SimilarSongList ToList(IReadOnlyList<SongSet> songs, SongSimilarities similarities)
    {
        var top = similarities.Top.Span;
        var rows = new SimilarRow[top.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = new SimilarRow(songs[top[i].Song].Key, top[i].Similarity, top[i].Shared);
        }

        Interlocked.Increment(ref _songsDone);
        BatchMetrics.SimilarityProgressed();
        return new SimilarSongList(songs[similarities.Song].Key, similarities.Total, rows);
    }

    /// <summary>The lists as they come; rethrows the engine's failure at the end so the store never commits a partial result.</summary>
    private static IEnumerable<SimilarSongList> Drain(BlockingCollection<SimilarSongList> queue, Task compute, CancellationToken cancellationToken)
    {
        foreach (var list in queue.GetConsumingEnumerable(cancellationToken))
        {
            yield return list;
        }

        // Adding completed: the engine finished or failed. Surface a failure before the store commits.
        compute.GetAwaiter().GetResult();
    }
}

/// <summary>What a similarity run did.</summary>
/// <param name="RunId">Its row in similarity_runs.</param>
/// <param name="Stats">Counts and timings as stored.</param>
/// <param name="Comparisons">Set pairs compared after pruning.</param>
public sealed record SimilarityJobResult(long RunId, SimilarityStats Stats, long Comparisons);
