using System.CommandLine;
using System.Globalization;
using Scale.Cli.Terminal;
using Scale.Corpus.Naming;
using Scale.Corpus.Sources;
using Scale.Midi;
using Scale.Pipeline;
using Scale.Similarity;
using Scale.Store;

namespace Scale.Cli.Commands;

/// <summary><c>scale run --source SRC [--names md5_to_paths.json] [--db scale.db]</c>: the batch job into the store.</summary>
internal static class RunCommand
{
    /// <summary>The options of an extraction, shared by <c>scale run</c> and <c>scale extract</c>.</summary>
    internal sealed class ExtractionOptions
    {
        public Option<string> Source { get; } = new("--source")
        {
            Description = "The corpus: a folder, a .tar/.tar.gz tarball, or s3://bucket/prefix. Env: SCALE_SOURCE.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_SOURCE") ?? string.Empty,
        };

        public Option<string?> Names { get; } = new("--names")
        {
            Description = "Lakh's md5_to_paths.json, to name songs after their first path. Env: SCALE_NAMES.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_NAMES"),
        };

        public Option<string> Db { get; } = CommonOptions.Database();

        public Option<int> Workers { get; } = new("--workers")
        {
            Description = "Extraction workers (default: one per core). Env: SCALE_WORKERS.",
            DefaultValueFactory = _ => CommonOptions.IntFromEnvironment("SCALE_WORKERS", Environment.ProcessorCount),
        };

        public Option<int> Batch { get; } = new("--batch")
        {
            Description = "Files per database transaction.",
            DefaultValueFactory = _ => new ExtractionJobOptions().BatchFiles,
        };

        public Option<long> MaxBytes { get; } = CommonOptions.MaxFileBytes();

        public Option<string?> S3Endpoint { get; } = new("--s3-endpoint")
        {
            Description = "S3-compatible endpoint URL (MinIO, ...). Env: SCALE_S3_ENDPOINT or AWS_ENDPOINT_URL_S3.",
        };

        public Option<int> S3Concurrency { get; } = new("--s3-concurrency")
        {
            Description = "Parallel S3 downloads.",
            DefaultValueFactory = _ => CorpusSourceOptions.DefaultS3Concurrency,
        };

        public JobTelemetry Metrics { get; } = new();

        public IEnumerable<Option> All => [Source, Names, Db, Workers, Batch, MaxBytes, S3Endpoint, S3Concurrency, .. Metrics.All];

        public RunRequest Request(ParseResult parse, ShardSpec shard, SimilarityOptions? similarity) => new(
            parse.GetValue(Source)!,
            parse.GetValue(Names),
            parse.GetValue(Db)!,
            parse.GetValue(Workers),
            parse.GetValue(Batch),
            parse.GetValue(MaxBytes),
            parse.GetValue(S3Endpoint),
            parse.GetValue(S3Concurrency),
            similarity)
        {
            Shard = shard,
        };
    }

    public static Command Create()
    {
        var extraction = new ExtractionOptions();
        var noSimilar = new Option<bool>("--no-similar")
        {
            Description = "Only extract; compute similar songs later with `scale similar`.",
        };
        var similar = new SimilarCommand.Options();
        var command = new Command("run", "Extract every file of a corpus into the database on all cores, then compute similar songs. Resumable: a rerun does only what is left.");
        foreach (var option in extraction.All.Append(noSimilar).Concat(similar.All))
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            SimilarityOptions? similarity = null;
            if (!parse.GetValue(noSimilar))
            {
                (similarity, var error) = similar.Read(parse, Math.Max(1, parse.GetValue(extraction.Workers)));
                if (similarity is null)
                {
                    await Console.Error.WriteLineAsync("scale run: " + error).ConfigureAwait(false);
                    return ExitCodes.BadInput;
                }
            }

            return await extraction.Metrics.RunAsync(parse, "run", () => RunAsync(extraction.Request(parse, ShardSpec.All, similarity), cancellationToken), cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>What <c>scale run</c> or <c>scale extract</c> was asked to do; <c>Similarity</c> is computed after a successful extraction (null: skipped).</summary>
    internal sealed record RunRequest(string Source, string? Names, string Db, int Workers, int BatchFiles, long MaxFileBytes, string? S3Endpoint, int S3Concurrency, SimilarityOptions? Similarity)
    {
        /// <summary>The part of the source to extract.</summary>
        public ShardSpec Shard { get; init; } = ShardSpec.All;

        /// <summary>The command's name, for messages.</summary>
        public string Command { get; init; } = "run";
    }

    internal static async Task<int> RunAsync(RunRequest request, CancellationToken cancellationToken)
    {
        // Checked here rather than in a System.CommandLine validator, which sees options without their defaults.
        if (string.IsNullOrWhiteSpace(request.Source))
        {
            await Console.Error.WriteLineAsync($"scale {request.Command}: --source is required (a folder, a tarball or s3://bucket/prefix), or set SCALE_SOURCE.").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        if (request.Workers < 1 || request.BatchFiles < 1 || request.S3Concurrency < 1 || request.MaxFileBytes < 1)
        {
            await Console.Error.WriteLineAsync($"scale {request.Command}: --workers, --batch, --s3-concurrency and --max-file-bytes must be at least 1.").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        try
        {
            var result = await ExecuteAsync(request, cancellationToken).ConfigureAwait(false);
            return result.Succeeded ? ExitCodes.Success : ExitCodes.Failure;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"scale {request.Command}: interrupted. Everything committed so far is kept; run the same command again to finish.").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
        catch (Exception ex) when (CommonOptions.IsUserError(ex))
        {
            await Console.Error.WriteLineAsync($"scale {request.Command}: {CommonOptions.Describe(ex)}").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }
    }

    /// <summary>Runs the job with progress and prints the summary; user errors throw (see <see cref="CommonOptions.IsUserError"/>).</summary>
    internal static async Task<ExtractionResult> ExecuteAsync(RunRequest request, CancellationToken cancellationToken)
    {
        var names = string.IsNullOrWhiteSpace(request.Names)
            ? SongNames.Empty
            : await SongNames.LoadAsync(request.Names, cancellationToken).ConfigureAwait(false);
        var sourceOptions = new CorpusSourceOptions
        {
            MaxFileBytes = request.MaxFileBytes,
            S3Endpoint = request.S3Endpoint,
            S3Concurrency = request.S3Concurrency,
        };
        await using var source = CorpusSourceFactory.Open(request.Source, sourceOptions);
        await using var store = await ScaleStoreFactory.OpenAsync(request.Db, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        var job = new ExtractionJob(store);
        var options = new ExtractionJobOptions
        {
            Workers = request.Workers,
            BatchFiles = request.BatchFiles,
            Extractor = new MidiExtractorOptions { MaxFileBytes = request.MaxFileBytes },
            NameLookup = names.Count > 0 ? names.NameOf : null,
            Shard = request.Shard,
        };

        var shardText = request.Shard.Count > 1 ? $" shard {request.Shard}" : string.Empty;
        Console.WriteLine($"scale {request.Command}: {source.Identity}{shardText} → {store.Description}" + (names.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({names.Count:N0} names)") : string.Empty));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var renderer = new ProgressRenderer(request.Shard.Count > 1 ? $"{request.Command} {request.Shard}" : request.Command);
        var result = await renderer.RunAsync(
            () =>
            {
                var p = job.Progress;
                var detail = p.Skipped > 0 ? string.Create(CultureInfo.InvariantCulture, $"{p.Skipped:N0} already done") : null;
                return new ProgressSnapshot(p.Committed, p.Total is { } t ? t - p.Skipped : null, p.Bytes, p.Invalid, clock.Elapsed, detail);
            },
            () => job.RunAsync(source, options, cancellationToken)).ConfigureAwait(false);

        var summary = await store.GetSummaryAsync(cancellationToken).ConfigureAwait(false);
        Print(result, summary, request.Shard);
        if (result.Succeeded && request.Similarity is not null)
        {
            Console.WriteLine();
            if (await SimilarCommand.MissingShardsAsync(store, cancellationToken).ConfigureAwait(false) is { Count: > 0 } missing)
            {
                Console.WriteLine("scale similar: skipped, the extraction is not complete: " + SimilarCommand.Describe(missing));
            }
            else if (await SimilarCommand.UpToDateRunAsync(store, request.Similarity, summary.Songs, cancellationToken).ConfigureAwait(false) is { } current)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scale similar: up to date (similarity run {current.Id} used the same {summary.Songs:N0} songs and settings); skipped."));
            }
            else
            {
                await SimilarCommand.ExecuteAsync(store, request.Similarity, cancellationToken).ConfigureAwait(false);
            }
        }

        return result;
    }

    private static void Print(ExtractionResult result, StoreSummary summary, ShardSpec shard)
    {
        var c = CultureInfo.InvariantCulture;
        var s = result.Stats;
        var processed = s.FilesValid + s.FilesInvalid;
        var of = shard.Count > 1 ? string.Create(c, $" (shard {shard})") : string.Empty;
        Console.WriteLine(string.Create(c, $"Run {result.RunId}{of}: {result.Status.ToString().ToLowerInvariant()} in {s.WallSeconds:N1} s"));
        Console.WriteLine(string.Create(c, $"  files     {processed:N0} processed ({s.FilesValid:N0} valid, {s.FilesDuplicate:N0} of them duplicates; {s.FilesInvalid:N0} invalid), {s.FilesSkipped:N0} already done"));
        if (s.WallSeconds > 0)
        {
            Console.WriteLine(string.Create(c, $"  speed     {processed / s.WallSeconds:N0} files/s, {s.BytesRead / 1e6 / s.WallSeconds:N1} MB/s ({s.BytesRead / 1e6:N1} MB)"));
        }

        Console.WriteLine(string.Create(c, $"  stages    read wait {s.ReadSeconds:N1} s, extract {s.ExtractSeconds:N1} s (all workers), write {s.WriteSeconds:N1} s"));
        if (result.Error is not null)
        {
            Console.WriteLine($"  note      {result.Error}");
        }

        Console.WriteLine(string.Create(c, $"Database: {summary.Songs:N0} songs, {summary.SongInstruments:N0} song-instrument rows, {summary.InvalidFiles:N0} invalid files"));
        if (summary.InvalidByReason.Count > 0)
        {
            Console.WriteLine("  invalid   " + string.Join(", ", summary.InvalidByReason.Select(r => string.Create(c, $"{r.ReasonCode} {r.Files:N0}"))));
        }

        if (summary.InstrumentUsage.Count > 0)
        {
            Console.WriteLine("  top       " + string.Join(", ", summary.InstrumentUsage.Take(8).Select(u => string.Create(c, $"{u.Name} {u.Songs:N0}"))));
        }
    }
}
