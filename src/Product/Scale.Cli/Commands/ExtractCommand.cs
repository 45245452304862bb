using System.CommandLine;
using System.Globalization;
using Scale.Store;

namespace Scale.Cli.Commands;

/// <summary>
/// <c>scale extract --source SRC --shard i/N [--db DB]</c>: one shard of a sharded extraction, for many machines
/// (or a Kubernetes Indexed Job: without <c>--shard</c>, the shard is <c>JOB_COMPLETION_INDEX</c> of <c>--shards</c>).
/// A shard is recorded complete in the same transaction as its last results; a rerun skips what is committed.
/// </summary>
internal static class ExtractCommand
{
    /// <summary>Lakh's 16 first-hex-digit folders.</summary>
    public const int DefaultShards = 16;

    public static Command Create()
    {
        var extraction = new RunCommand.ExtractionOptions();
        var shard = new Option<string?>("--shard")
        {
            Description = "This worker's shard, i/N (e.g. 3/16; with N = 16 and Lakh's layout, shard i is folder i).",
        };
        var shards = new Option<int>("--shards")
        {
            Description = "Number of shards when the index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Job). Env: SCALE_SHARDS.",
            DefaultValueFactory = _ => CommonOptions.IntFromEnvironment("SCALE_SHARDS", DefaultShards),
        };
        var command = new Command("extract", "Extract one shard of a corpus (run one per shard, on any machines; then `scale similar`). Resumable and exactly-once.");
        foreach (var option in extraction.All.Append(shard).Append(shards))
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var (spec, error) = Resolve(parse.GetValue(shard), Environment.GetEnvironmentVariable("JOB_COMPLETION_INDEX"), parse.GetValue(shards));
            if (spec is null)
            {
                await Console.Error.WriteLineAsync("scale extract: " + error).ConfigureAwait(false);
                return ExitCodes.BadInput;
            }

            return await extraction.Metrics.RunAsync(
                parse,
                "extract",
                () => RunCommand.RunAsync(extraction.Request(parse, spec.Value, null) with { Command = "extract" }, cancellationToken),
                cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>The shard from <c>--shard</c>, else from the Indexed Job's index; or why there is none.</summary>
    internal static (ShardSpec? Shard, string? Error) Resolve(string? shard, string? completionIndex, int shards)
    {
        if (!string.IsNullOrWhiteSpace(shard))
        {
            try
            {
                return (ShardSpec.Parse(shard.Trim()), null);
            }
            catch (ArgumentException ex)
            {
                return (null, "--shard: " + CommonOptions.Describe(ex));
            }
        }

        if (string.IsNullOrWhiteSpace(completionIndex))
        {
            return (null, "give --shard i/N (e.g. 3/16), or run as a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) with --shards N; `scale run` extracts a whole source on one machine.");
        }

        if (shards < 1)
        {
            return (null, "--shards must be at least 1.");
        }

        if (!int.TryParse(completionIndex, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index >= shards)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"JOB_COMPLETION_INDEX '{completionIndex}' is not a shard index below --shards {shards}."));
        }

        return (new ShardSpec(index, shards), null);
    }
}
