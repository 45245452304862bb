using System.CommandLine;
using System.Globalization;
using Scale.Cli.Terminal;
using Scale.Pipeline;
using Scale.Similarity;
using Scale.Store;

namespace Scale.Cli.Commands;

/// <summary><c>scale similar [--db scale.db] [--threshold 0.5] [--top-k 100] [--min-instruments 3] [--measure jaccard|weighted]</c>.</summary>
internal static class SimilarCommand
{
    /// <summary>The similarity options, shared with <c>scale run</c>.</summary>
    internal sealed class Options
    {
        public Option<double> Threshold { get; } = new("--threshold")
        {
            Description = "Smallest similarity kept (0 < t ≤ 1; the original's distance 0.5 is similarity 0.5).",
            DefaultValueFactory = _ => new SimilarityOptions().Threshold,
        };

        public Option<int> TopK { get; } = new("--top-k")
        {
            Description = "Similar songs stored per song (the total above the threshold is counted even beyond).",
            DefaultValueFactory = _ => new SimilarityOptions().TopK,
        };

        public Option<int> MinInstruments { get; } = new("--min-instruments")
        {
            Description = "Songs with fewer instruments (drum kit included) take no part.",
            DefaultValueFactory = _ => new SimilarityOptions().MinInstruments,
        };

        public Option<string> Measure { get; } = new("--measure")
        {
            Description = "jaccard (shared over all instruments) or weighted (rare instruments count more; docs/similarity.md).",
            DefaultValueFactory = _ => "jaccard",
        };

        public IEnumerable<Option> All => [Threshold, TopK, MinInstruments, Measure];

        /// <summary>The options, or a message saying what is wrong.</summary>
        public (SimilarityOptions? Options, string? Error) Read(ParseResult parse, int workers)
        {
            var measure = parse.GetValue(Measure)?.ToLowerInvariant() switch
            {
                "jaccard" => SimilarityMeasure.Jaccard,
                "weighted" or "rarity" or "rarity-weighted" => (SimilarityMeasure?)SimilarityMeasure.RarityWeighted,
                _ => null,
            };
            if (measure is null)
            {
                return (null, $"--measure must be jaccard or weighted, not '{parse.GetValue(Measure)}'.");
            }

            var threshold = parse.GetValue(Threshold);
            if (threshold is <= 0 or > 1 || double.IsNaN(threshold))
            {
                return (null, string.Create(CultureInfo.InvariantCulture, $"--threshold must be above 0 and at most 1, not {threshold}."));
            }

            var topK = parse.GetValue(TopK);
            var min = parse.GetValue(MinInstruments);
            if (topK < 1 || min < 1 || workers < 1)
            {
                return (null, "--top-k, --min-instruments and --workers must be at least 1.");
            }

            return (new SimilarityOptions { Threshold = threshold, TopK = topK, MinInstruments = min, Measure = measure.Value, MaxDegreeOfParallelism = workers }, null);
        }
    }

    public static Command Create()
    {
        var db = CommonOptions.Database();
        var workers = new Option<int>("--workers")
        {
            Description = "Threads (default: one per core). Env: SCALE_WORKERS.",
            DefaultValueFactory = _ => CommonOptions.IntFromEnvironment("SCALE_WORKERS", Environment.ProcessorCount),
        };
        var options = new Options();
        var allowIncomplete = new Option<bool>("--allow-incomplete")
        {
            Description = "Compute even though some source's extraction (or one of its shards) has not completed.",
        };
        var metrics = new JobTelemetry();
        var command = new Command("similar", "Compute every song's most similar songs (exact, all pairs) and store them, replacing the previous lists. Refuses while an extraction is incomplete.")
        {
            db, workers, allowIncomplete,
        };
        foreach (var option in options.All.Concat(metrics.All))
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var (similarity, error) = options.Read(parse, parse.GetValue(workers));
            if (similarity is null)
            {
                await Console.Error.WriteLineAsync("scale similar: " + error).ConfigureAwait(false);
                return ExitCodes.BadInput;
            }

            return await metrics.RunAsync(parse, "similar", () => RunAsync(parse.GetValue(db)!, similarity, parse.GetValue(allowIncomplete), cancellationToken), cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    internal static async Task<int> RunAsync(string db, SimilarityOptions options, bool allowIncomplete, CancellationToken cancellationToken)
    {
        if (!File.Exists(db) && !db.Contains('=', StringComparison.Ordinal))
        {
            await Console.Error.WriteLineAsync($"scale similar: no database at {db}; run `scale run --source ... --db {db}` first.").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        try
        {
            await using var store = await ScaleStoreFactory.OpenAsync(db, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            if (!allowIncomplete && await MissingShardsAsync(store, cancellationToken).ConfigureAwait(false) is { Count: > 0 } missing)
            {
                await Console.Error.WriteLineAsync(
                    "scale similar: the extraction is not complete, so similar songs would miss songs; finish it first (rerun scale extract/run), " +
                    "or pass --allow-incomplete. Missing: " + Describe(missing)).ConfigureAwait(false);
                return ExitCodes.Failure;
            }

            await ExecuteAsync(store, options, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("scale similar: interrupted; the previous similar-song lists are kept.").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
        catch (Exception ex) when (CommonOptions.IsUserError(ex))
        {
            await Console.Error.WriteLineAsync($"scale similar: {CommonOptions.Describe(ex)}").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }
    }

    /// <summary>Sources that have runs but no complete set of shards, with what is missing (see <see cref="ShardCompleteness"/>).</summary>
    internal static async Task<IReadOnlyDictionary<string, string>> MissingShardsAsync(IScaleStore store, CancellationToken cancellationToken)
    {
        var runs = await store.GetRunsAsync(1_000_000, cancellationToken).ConfigureAwait(false);
        var shards = await store.GetCompletedShardsAsync(cancellationToken).ConfigureAwait(false);
        return ShardCompleteness.Missing(runs.Select(r => r.Source), shards);
    }

    /// <summary>"source: what is missing; ..." for messages.</summary>
    internal static string Describe(IReadOnlyDictionary<string, string> missing) =>
        string.Join("; ", missing.Select(m => $"{m.Key}: {m.Value}"));

    /// <summary>
    /// The latest similarity run when it completed over the same songs with the same settings (songs are only ever
    /// added, so the same count means the same songs); null when the lists need computing.
    /// </summary>
    internal static async Task<SimilarityRunRecord?> UpToDateRunAsync(IScaleStore store, SimilarityOptions options, long songs, CancellationToken cancellationToken)
    {
        var latest = await store.GetSimilarityRunsAsync(1, cancellationToken).ConfigureAwait(false);
        var settings = new SimilaritySettings(SimilarityJob.MeasureCode(options.Measure), options.Threshold, options.TopK, options.MinInstruments);
        return latest is [{ Status: RunStatus.Completed } run] && run.Settings == settings && run.Stats.Songs == songs ? run : null;
    }

    /// <summary>Runs the job with progress and prints what it did.</summary>
    internal static async Task<SimilarityJobResult> ExecuteAsync(IScaleStore store, SimilarityOptions options, CancellationToken cancellationToken)
    {
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"scale similar: {SimilarityJob.MeasureCode(options.Measure)}, threshold {options.Threshold}, top {options.TopK}, songs with at least {options.MinInstruments} instruments"));
        var job = new SimilarityJob(store);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var renderer = new ProgressRenderer("similar", "songs", filesAndBytes: false);
        var result = await renderer.RunAsync(
            () => new ProgressSnapshot(job.SongsDone, job.EligibleSongs, 0, 0, clock.Elapsed),
            () => job.RunAsync(options, cancellationToken)).ConfigureAwait(false);
        var s = result.Stats;
        Console.WriteLine(string.Create(c, $"Similarity run {result.RunId}: completed in {s.WallSeconds:N1} s (compute {s.ComputeSeconds:N1} s, write {s.WriteSeconds:N1} s beyond it)"));
        Console.WriteLine(string.Create(c, $"  songs     {s.Songs:N0}, {s.EligibleSongs:N0} eligible, {s.DistinctSets:N0} distinct instrument sets"));
        Console.WriteLine(string.Create(c, $"  pairs     {s.SimilarPairs:N0} above the threshold, {s.SimilarRows:N0} kept (top {options.TopK}); {result.Comparisons:N0} set comparisons after pruning"));
        return result;
    }
}
