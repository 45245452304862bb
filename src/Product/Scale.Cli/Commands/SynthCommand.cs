using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Scale.Cli.Terminal;
using Scale.Synth;

namespace Scale.Cli.Commands;

/// <summary><c>scale synth --files N --out DIR [--seed S] [--tar]</c>: a Lakh-shaped corpus for scale tests.</summary>
internal static class SynthCommand
{
    public static Command Create()
    {
        var files = new Option<int>("--files")
        {
            Description = "How many files to write (default: full Lakh scale).",
            DefaultValueFactory = _ => SyntheticCorpusOptions.LakhFileCount,
        };
        var output = new Option<string>("--out") { Description = "Folder to write into (created; must hold no corpus yet).", Required = true };
        var seed = new Option<long>("--seed") { Description = "Same seed, same bytes.", DefaultValueFactory = _ => 1 };
        var tar = new Option<bool>("--tar") { Description = "Write one lmd_full.tar.gz (as the dataset is published) instead of a folder tree." };
        var damaged = new Option<double>("--damaged-share")
        {
            Description = "Share of damaged files, 0-1 (every kind of damage in turn).",
            DefaultValueFactory = _ => SyntheticCorpusOptions.DefaultDamagedShare,
        };
        var command = new Command("synth", "Write a synthetic Lakh-shaped MIDI corpus: <out>/<hex>/<md5>.mid plus md5_to_paths.json.")
        {
            files, output, seed, tar, damaged,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            new SyntheticCorpusOptions
            {
                Files = parse.GetValue(files),
                OutputDirectory = Path.GetFullPath(parse.GetValue(output)!),
                Seed = parse.GetValue(seed),
                Tar = parse.GetValue(tar),
                DamagedShare = parse.GetValue(damaged),
            },
            cancellationToken));
        return command;
    }

    /// <summary>Writes the corpus with live progress; returns the result, or null after printing a user error.</summary>
    public static async Task<SynthResult?> WriteAsync(SyntheticCorpusOptions options, CancellationToken cancellationToken)
    {
        var latest = new SynthProgress(0, options.Files, 0, TimeSpan.Zero);
        var clock = Stopwatch.StartNew();
        options = options with { Progress = new SynchronousProgress<SynthProgress>(p => latest = p) };
        var renderer = new ProgressRenderer("synth");
        try
        {
            return await renderer.RunAsync(
                () => new ProgressSnapshot(latest.FilesWritten, latest.TotalFiles, latest.Bytes, 0, clock.Elapsed),
                () => SyntheticCorpus.WriteAsync(options, cancellationToken)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"scale synth: {CommonOptions.Describe(ex)}").ConfigureAwait(false);
            return null;
        }
    }

    private static async Task<int> RunAsync(SyntheticCorpusOptions options, CancellationToken cancellationToken)
    {
        if (options.Files < 0 || options.DamagedShare is < 0 or > 1 || double.IsNaN(options.DamagedShare))
        {
            await Console.Error.WriteLineAsync("scale synth: --files must be 0 or more and --damaged-share between 0 and 1.").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        var result = await WriteAsync(options, cancellationToken).ConfigureAwait(false);
        if (result is null)
        {
            return ExitCodes.Failure;
        }

        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"Wrote {result.Files:N0} files ({result.DamagedFiles:N0} damaged), {result.Bytes / 1e6:N1} MB in {result.Elapsed.TotalSeconds:N1} s ({result.FilesPerSecond:N0} files/s, {result.MegabytesPerSecond:N1} MB/s)."));
        Console.WriteLine($"  corpus  {result.CorpusPath}");
        Console.WriteLine($"  names   {result.PathsJsonPath}");
        if (result.ManifestPath is not null)
        {
            Console.WriteLine($"  truth   {result.ManifestPath}");
        }

        return ExitCodes.Success;
    }
}
