using System.Diagnostics.Metrics;
using Scale.Store;

namespace Scale.Pipeline.Telemetry;

/// <summary>
/// The batch job's metrics (meter <see cref="MeterName"/>), exported while it runs when the job is started with
/// --metrics-urls: files and bytes committed, invalid files by reason, time per stage, batch write durations,
/// progress of the shard and of the similarity stage, and when progress last moved (for the stall alert). One job
/// per process is the model: the gauges follow the extraction and the similarity stage that started last.
/// </summary>
public static class BatchMetrics
{
    public const string MeterName = "Scale.Batch";

    private static readonly Meter Meter = new(MeterName, typeof(BatchMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> Files = Meter.CreateCounter<long>(
        "scale.batch.files", "{file}", "Files finished by this process, by outcome: song (new), duplicate (song already stored), invalid, skipped (done by an earlier run).");

    private static readonly Counter<long> Bytes = Meter.CreateCounter<long>(
        "scale.batch.read", "By", "Bytes of the files committed by this process.");

    private static readonly Counter<long> InvalidFiles = Meter.CreateCounter<long>(
        "scale.batch.invalid_files", "{file}", "Invalid files committed, by reason code (see docs/instrument-semantics.md).");

    private static readonly Counter<double> StageTime = Meter.CreateCounter<double>(
        "scale.batch.stage.time", "s", "Time spent per stage: read_wait (waiting on the source), extract (summed over workers), write (store transactions), similarity.");

    private static readonly Histogram<double> WriteDuration = Meter.CreateHistogram(
        "scale.batch.write.duration",
        unit: "s",
        description: "Duration of one batch's store transaction.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    private static JobState? _extraction;
    private static JobState? _similarity;

    static BatchMetrics()
    {
        Meter.CreateObservableGauge("scale.batch.running", ObserveRunning, "{job}", "1 while this process runs a stage (labels: command, stage, shard).");
        Meter.CreateObservableGauge("scale.batch.shard.files", ObserveShardFiles, "{file}", "Files of this process's shard: total (once the source listing is done) and done (committed or skipped).");
        Meter.CreateObservableGauge("scale.batch.similarity.songs", ObserveSimilaritySongs, "{song}", "Songs of the similarity stage: eligible and done.");
        Meter.CreateObservableGauge("scale.batch.progress_time", ObserveProgressTime, "s", "When the job last made progress (a batch committed, lists computed), in seconds since the Unix epoch.");
        Meter.CreateObservableGauge("scale.batch.stage.elapsed", ObserveElapsed, "s", "Seconds since the current stage started.");
    }

    /// <summary>The command that runs the job ("run", "extract", "similar"), for the gauges' labels; set by the CLI.</summary>
    public static string Command { get; set; } = "run";

    private static IEnumerable<JobState> Stages => new[] { _extraction, _similarity }.OfType<JobState>();

    internal static JobState StartExtraction(ExtractionProgress progress, ShardSpec shard, TimeProvider time) =>
        _extraction = new JobState("extract", shard.ToString(), time, progress, null);

    internal static JobState StartSimilarity(SimilarityJob job, TimeProvider time) =>
        _similarity = new JobState("similarity", ShardSpec.All.ToString(), time, null, job);

    internal static void Skipped(int files)
    {
        Files.Add(files, new KeyValuePair<string, object?>("outcome", "skipped"));
        _extraction?.Touch();
    }

    internal static void Committed(IReadOnlyList<ExtractedFile> batch, BatchResult written, double writeSeconds)
    {
        WriteDuration.Record(writeSeconds);
        StageTime.Add(writeSeconds, new KeyValuePair<string, object?>("stage", "write"));
        Files.Add(written.Valid - written.Duplicates, new KeyValuePair<string, object?>("outcome", "song"));
        Files.Add(written.Duplicates, new KeyValuePair<string, object?>("outcome", "duplicate"));
        Files.Add(written.Invalid, new KeyValuePair<string, object?>("outcome", "invalid"));
        Bytes.Add(written.Bytes);
        if (written.Invalid > 0)
        {
            foreach (var group in batch.Where(f => !f.IsValid).GroupBy(f => f.ReasonCode!, StringComparer.Ordinal))
            {
                InvalidFiles.Add(group.Count(), new KeyValuePair<string, object?>("reason", group.Key));
            }
        }

        _extraction?.Touch();
    }

    internal static void Stage(string stage, double seconds) =>
        StageTime.Add(seconds, new KeyValuePair<string, object?>("stage", stage));

    internal static void SimilarityProgressed() => _similarity?.Touch();

    private static IEnumerable<Measurement<int>> ObserveRunning() =>
        Stages.Select(job => new Measurement<int>(job.Finished ? 0 : 1, new("command", Command), new("stage", job.Stage), new("shard", job.Shard)));

    private static IEnumerable<Measurement<long>> ObserveShardFiles()
    {
        if (_extraction is not { Extraction: { } progress } job)
        {
            yield break;
        }

        var shard = new KeyValuePair<string, object?>("shard", job.Shard);
        if (progress.Total is { } total)
        {
            yield return new Measurement<long>(total, shard, new("state", "total"));
        }

        yield return new Measurement<long>(progress.Skipped + progress.Committed, shard, new("state", "done"));
    }

    private static IEnumerable<Measurement<long>> ObserveSimilaritySongs()
    {
        if (_similarity?.Similarity is not { } similarity)
        {
            yield break;
        }

        if (similarity.EligibleSongs is { } eligible)
        {
            yield return new Measurement<long>(eligible, new KeyValuePair<string, object?>("state", "eligible"));
        }

        yield return new Measurement<long>(similarity.SongsDone, new KeyValuePair<string, object?>("state", "done"));
    }

    private static IEnumerable<Measurement<double>> ObserveProgressTime()
    {
        if (Stages.Any())
        {
            yield return new Measurement<double>(Stages.Max(job => job.LastProgressUnixSeconds));
        }
    }

    private static IEnumerable<Measurement<double>> ObserveElapsed() =>
        Stages.Where(job => !job.Finished)
            .Select(job => new Measurement<double>(job.Time.GetElapsedTime(job.Started).TotalSeconds, new KeyValuePair<string, object?>("stage", job.Stage)));

    /// <summary>One stage's state; <see cref="MarkFinished"/> when it ends: running drops to 0, the last counts stay visible (for --metrics-linger).</summary>
    internal sealed class JobState
    {
        private long _lastProgressMilliseconds;
        private volatile bool _finished;

        public JobState(string stage, string shard, TimeProvider time, ExtractionProgress? extraction, SimilarityJob? similarity)
        {
            Stage = stage;
            Shard = shard;
            Time = time;
            Extraction = extraction;
            Similarity = similarity;
            Started = time.GetTimestamp();
            Touch();
        }

        public string Stage { get; }

        public string Shard { get; }

        public TimeProvider Time { get; }

        public long Started { get; }

        public ExtractionProgress? Extraction { get; }

        public SimilarityJob? Similarity { get; }

        public bool Finished => _finished;

        public void MarkFinished() => _finished = true;

        public double LastProgressUnixSeconds => Interlocked.Read(ref _lastProgressMilliseconds) / 1000.0;

        public void Touch() => Interlocked.Exchange(ref _lastProgressMilliseconds, Time.GetUtcNow().ToUnixTimeMilliseconds());
    }
}
