using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Scale.Corpus.Naming;
using Scale.Corpus.Sources;
using Scale.Midi;
using Scale.Pipeline.Telemetry;
using Scale.Store;

namespace Scale.Pipeline;

/// <summary>
/// The batch job: every file of a corpus source, extracted on all cores, written to the store in atomic batches.
/// </summary>
/// <remarks>
/// Stages: the source (one reader, skipping keys the store's ledger already has) → a queue bounded in files and
/// bytes → N workers, each with its own <see cref="MidiExtractor"/> (md5 + summary) → one writer that commits a
/// batch per transaction: songs, instruments, invalid files and the ledger rows together. Killing the process at
/// any instant loses at most the uncommitted batch, and the next run does exactly the keys that are not in the
/// ledger. Bad files never stop the job: each ends as a song or as an invalid file with a reason.
/// </remarks>
public sealed partial class ExtractionJob
{
    private readonly IScaleStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ExtractionJob(IScaleStore store, TimeProvider? timeProvider = null, ILogger<ExtractionJob>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Counters of the run in progress (or the last one), for progress display.</summary>
    public ExtractionProgress Progress { get; private set; } = new();

    /// <summary>
    /// Runs the job to the end of the source. Cancellation stops it promptly; what was committed stays, the run
    /// is recorded as interrupted and the method throws <see cref="OperationCanceledException"/>.
    /// A source that breaks (e.g. a damaged tarball) ends the run as failed after committing all it delivered.
    /// </summary>
    public async Task<ExtractionResult> RunAsync(ICorpusSource source, ExtractionJobOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= new ExtractionJobOptions();
        options.Validate();
        Progress = new ExtractionProgress();
        var stage = BatchMetrics.StartExtraction(Progress, options.Shard, _time);
        try
        {
            return await RunCoreAsync(source, options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            stage.MarkFinished();
        }
    }

    private async Task<ExtractionResult> RunCoreAsync(ICorpusSource source, ExtractionJobOptions options, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var runId = await _store.BeginRunAsync(source.Identity, cancellationToken).ConfigureAwait(false);
        LogRunStarted(_logger, runId, source.Identity);
        var finished = await _store.GetFinishedKeysAsync(source.Identity, cancellationToken).ConfigureAwait(false);

        var timings = new Timings();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var budget = new ByteBudget(options.ReadAheadBytes);
        var files = Channel.CreateBounded<CorpusItem>(new BoundedChannelOptions(options.ReadAhead) { SingleWriter = true });
        var results = Channel.CreateBounded<ExtractedFile>(new BoundedChannelOptions(options.BatchFiles * 2) { SingleReader = true });

        var shard = options.Shard;
        Func<string, bool>? inShard = shard.Count == 1 && options.KeyFilter is null
            ? null
            : key => shard.Contains(key) && (options.KeyFilter is not { } filter || filter(key));

        bool Include(string key)
        {
            if (inShard is not null && !inShard(key))
            {
                return false;
            }

            if (finished.Contains(key))
            {
                Progress.AddSkipped();
                BatchMetrics.Skipped(1);
                return false;
            }

            return true;
        }

        var counting = options.CountFirst && source is FolderSource ? CountAsync(source, inShard, stop.Token) : Task.CompletedTask;
        var reading = ReadAsync(source, Include, files.Writer, budget, timings, stop);
        var workers = Enumerable.Range(0, options.Workers)
            .Select(_ => Task.Run(() => ExtractAsync(files.Reader, results.Writer, budget, options, timings, stop.Token), stop.Token))
            .ToArray();
        var closing = CloseWhenDoneAsync(workers, results.Writer);
        var writing = WriteAsync(runId, results.Reader, reading, options, timings, stop);

        string? error = null;
        var status = RunStatus.Completed;
        try
        {
            await writing.ConfigureAwait(false);
            await closing.ConfigureAwait(false);
            await reading.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            status = RunStatus.Interrupted;
            error = "Cancelled before the end of the source; the next run resumes where this one stopped.";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or Amazon.Runtime.AmazonServiceException)
        {
            // The source broke (damaged tarball, storage unreachable). Everything it delivered is committed.
            status = RunStatus.Failed;
            error = ex.Message;
            LogSourceFailed(_logger, ex, runId, source.Identity);
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(workers.Append(reading).Append(counting).Select(IgnoreFailure)).ConfigureAwait(false);
            DrainAndDispose(files.Reader);
        }

        var stats = new RunStats
        {
            FilesSeen = Progress.Skipped + Progress.Committed,
            FilesSkipped = Progress.Skipped,
            FilesValid = Progress.Valid,
            FilesInvalid = Progress.Invalid,
            FilesDuplicate = Progress.Duplicates,
            BytesRead = Progress.Bytes,
            ReadSeconds = timings.Seconds(Timings.Stage.Read),
            ExtractSeconds = timings.Seconds(Timings.Stage.Extract),
            WriteSeconds = timings.Seconds(Timings.Stage.Write),
            WallSeconds = _time.GetElapsedTime(started).TotalSeconds,
        };
        await _store.CompleteRunAsync(runId, stats, status, error, CancellationToken.None).ConfigureAwait(false);
        LogRunEnded(_logger, runId, status, stats.FilesValid, stats.FilesInvalid, stats.FilesSkipped, stats.WallSeconds);
        cancellationToken.ThrowIfCancellationRequested();
        return new ExtractionResult(runId, status, stats, error);
    }

    private async Task CountAsync(ICorpusSource source, Func<string, bool>? filter, CancellationToken cancellationToken)
    {
        long total = 0;
        await foreach (var item in source.ReadAsync(key => { if (filter is null || filter(key)) { total++; } return false; }, cancellationToken).ConfigureAwait(false))
        {
            item.Dispose(); // include() said no to every key, so nothing arrives; be safe anyway.
        }

        Progress.SetTotal(total);
    }

    private static async Task ReadAsync(ICorpusSource source, Func<string, bool> include, ChannelWriter<CorpusItem> files, ByteBudget budget, Timings timings, CancellationTokenSource stop)
    {
        try
        {
            await using var enumerator = source.ReadAsync(include, stop.Token).GetAsyncEnumerator(stop.Token);
            while (true)
            {
                var waited = Stopwatch.GetTimestamp();
                var more = await enumerator.MoveNextAsync().ConfigureAwait(false);
                timings.Add(Timings.Stage.Read, waited);
                if (!more)
                {
                    break;
                }

                var item = enumerator.Current;
                try
                {
                    await budget.AcquireAsync(item.Data.Length, stop.Token).ConfigureAwait(false);
                    await files.WriteAsync(item, stop.Token).ConfigureAwait(false);
                }
                catch
                {
                    item.Dispose();
                    throw;
                }
            }
        }
        finally
        {
            // Complete without the error, so the workers and the writer finish and commit everything delivered
            // before the failure; the failure itself surfaces when RunAsync awaits this task.
            files.TryComplete();
        }
    }

    private async Task ExtractAsync(ChannelReader<CorpusItem> files, ChannelWriter<ExtractedFile> results, ByteBudget budget, ExtractionJobOptions options, Timings timings, CancellationToken cancellationToken)
    {
        var extractor = new MidiExtractor(options.Extractor);
        try
        {
            await foreach (var item in files.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                ExtractedFile result;
                var length = item.Data.Length;
                var begun = Stopwatch.GetTimestamp();
                try
                {
                    result = Extract(extractor, item, options.NameLookup);
                }
                finally
                {
                    item.Dispose();
                    budget.Release(length);
                }

                timings.Add(Timings.Stage.Extract, begun);
                Progress.AddExtracted();
                await results.WriteAsync(result, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ChannelClosedException)
        {
            // The writer stopped; its exception is reported by the writing task.
        }
    }

    private ExtractedFile Extract(MidiExtractor extractor, CorpusItem item, Func<string, string?>? nameLookup)
    {
        if (item.ReadError is { } readError)
        {
            return ExtractedFile.Failed(item.Key, item.Size, null, InvalidReasons.ReadError, readError);
        }

        if (item.Oversized)
        {
            return ExtractedFile.Rejected(item.Key, item.Size, null, extractor.RejectTooLarge(item.Size).Error!);
        }

        string? md5 = null;
        try
        {
            var bytes = item.Data.Span;
            md5 = SongId.FromBytes(bytes);
            var summary = extractor.Extract(bytes);
            var name = summary.IsValid ? SongNames.ChooseName(nameLookup?.Invoke(md5), summary.Title, item.Key) : string.Empty;
            return ExtractedFile.Song(item.Key, item.Size, md5, name, summary);
        }
#pragma warning disable CA1031 // The extractor never throws for bad input; if a bug makes it, one file must not stop a batch of 176k.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogExtractorBug(_logger, ex, item.Key);
            return ExtractedFile.Failed(item.Key, item.Size, md5, InvalidReasons.InternalError, $"Extraction failed unexpectedly: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static async Task CloseWhenDoneAsync(Task[] workers, ChannelWriter<ExtractedFile> results)
    {
        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
            results.TryComplete();
        }
        catch (Exception ex)
        {
            results.TryComplete(ex);
            throw;
        }
    }

    /// <summary>
    /// Batches results into store transactions. The last batch (possibly empty) also records the shard complete,
    /// but only when <paramref name="reading"/> reached the end of the source: a source that broke, or a
    /// cancelled run, leaves the shard to the next run.
    /// </summary>
    private async Task WriteAsync(long runId, ChannelReader<ExtractedFile> results, Task reading, ExtractionJobOptions options, Timings timings, CancellationTokenSource stop)
    {
        var batch = new List<ExtractedFile>(options.BatchFiles);
        var lastFlush = _time.GetTimestamp();
        while (await results.WaitToReadAsync(stop.Token).ConfigureAwait(false))
        {
            while (results.TryRead(out var file))
            {
                batch.Add(file);
                if (batch.Count >= options.BatchFiles)
                {
                    await FlushAsync().ConfigureAwait(false);
                }
            }

            if (batch.Count > 0 && _time.GetElapsedTime(lastFlush) >= options.FlushInterval)
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }

        var sourceEnded = await SucceededAsync(reading).ConfigureAwait(false) && !stop.IsCancellationRequested;
        if (batch.Count > 0 || sourceEnded)
        {
            await FlushAsync(sourceEnded ? options.Shard : null).ConfigureAwait(false);
        }

        async Task FlushAsync(ShardSpec? completes = null)
        {
            var begun = Stopwatch.GetTimestamp();
            var written = await _store.WriteBatchAsync(runId, batch, completes, stop.Token).ConfigureAwait(false);
            timings.Add(Timings.Stage.Write, begun);
            Progress.AddCommitted(written.Valid, written.Invalid, written.Duplicates, written.Bytes);
            BatchMetrics.Committed(batch, written, Stopwatch.GetElapsedTime(begun).TotalSeconds);
            // Read and extract time accrue per file; the metrics get them per batch, so a file costs no metric update.
            BatchMetrics.Stage("read_wait", timings.TakeUnreported(Timings.Stage.Read));
            BatchMetrics.Stage("extract", timings.TakeUnreported(Timings.Stage.Extract));
            batch.Clear();
            lastFlush = _time.GetTimestamp();
        }
    }

    /// <summary>Whether the task ran to completion; its failure is reported by whoever else awaits it.</summary>
    private static async Task<bool> SucceededAsync(Task task)
    {
        await IgnoreFailure(task).ConfigureAwait(false);
        return task.IsCompletedSuccessfully;
    }

    private static async Task IgnoreFailure(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Already reported by the awaited stage; here we only wait for every stage to stop.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private static void DrainAndDispose(ChannelReader<CorpusItem> files)
    {
        while (files.TryRead(out var item))
        {
            item.Dispose();
        }
    }

    /// <summary>Stage timings in <see cref="Stopwatch"/> ticks, summed across threads.</summary>
    private sealed class Timings
    {
        private readonly long[] _ticks = new long[3];
        private readonly long[] _reported = new long[3];

        public enum Stage
        {
            Read,
            Extract,
            Write,
        }

        public void Add(Stage stage, long since) => Interlocked.Add(ref _ticks[(int)stage], Stopwatch.GetTimestamp() - since);

        public double Seconds(Stage stage) => (double)Interlocked.Read(ref _ticks[(int)stage]) / Stopwatch.Frequency;

        /// <summary>Seconds accrued since the last call for <paramref name="stage"/> (one caller: the writer).</summary>
        public double TakeUnreported(Stage stage)
        {
            var now = Interlocked.Read(ref _ticks[(int)stage]);
            var delta = now - _reported[(int)stage];
            _reported[(int)stage] = now;
            return (double)delta / Stopwatch.Frequency;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Run {RunId} of {Source} started")]
    private static partial void LogRunStarted(ILogger logger, long runId, string source);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Run {RunId} ended {Status}: {Valid} valid, {Invalid} invalid, {Skipped} skipped in {Seconds:F1} s")]
    private static partial void LogRunEnded(ILogger logger, long runId, RunStatus status, long valid, long invalid, long skipped, double seconds);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Run {RunId}: the source {Source} failed")]
    private static partial void LogSourceFailed(ILogger logger, Exception exception, long runId, string source);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Extractor bug on {Key}; recorded as internal-error")]
    private static partial void LogExtractorBug(ILogger logger, Exception exception, string key);
}
