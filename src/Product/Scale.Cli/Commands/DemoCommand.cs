using System.CommandLine;
using Scale.Synth;

namespace Scale.Cli.Commands;

/// <summary>
/// <c>scale demo</c>: the whole pipeline on a small synthetic corpus, with nothing to install and no database
/// server: synth (once), run into SQLite with similar songs, summary, then the web app on 127.0.0.1:8080 until
/// Ctrl+C.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var files = new Option<int>("--files") { Description = "Size of the demo corpus.", DefaultValueFactory = _ => 2_000 };
        var dir = new Option<string>("--dir") { Description = "Where the demo corpus and database go.", DefaultValueFactory = _ => "demo" };
        var seed = new Option<long>("--seed") { Description = "Seed of the demo corpus.", DefaultValueFactory = _ => 7 };
        var urls = new Option<string>("--urls")
        {
            Description = "Where the web app listens at the end. Env: SCALE_URLS.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_URLS") is { Length: > 0 } value ? value : Web.ScaleWebOptions.DefaultUrls,
        };
        var noServe = new Option<bool>("--no-serve") { Description = "Stop after the summary instead of serving the web app." };
        var command = new Command("demo", "Generate a small Lakh-shaped corpus, extract it into SQLite, compute similar songs, then serve the web app.")
        {
            files, dir, seed, urls, noServe,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetValue(files),
            Path.GetFullPath(parse.GetValue(dir)!),
            parse.GetValue(seed),
            parse.GetValue(noServe) ? null : parse.GetValue(urls),
            cancellationToken));
        return command;
    }

    /// <summary>Synth, run, summary; then serves on <c>urls</c> unless it is null.</summary>
    private static async Task<int> RunAsync(int files, string dir, long seed, string? urls, CancellationToken cancellationToken)
    {
        if (files < 1)
        {
            await Console.Error.WriteLineAsync("scale demo: --files must be at least 1.").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        var corpus = Path.Combine(dir, "corpus");
        var names = Path.Combine(corpus, SyntheticCorpus.PathsFileName);
        if (File.Exists(names))
        {
            Console.WriteLine($"scale demo: reusing the corpus in {corpus} (delete {dir} to start over)");
        }
        else
        {
            Console.WriteLine($"scale demo: writing {files:N0} synthetic MIDI files to {corpus}");
            var written = await SynthCommand.WriteAsync(
                new SyntheticCorpusOptions { Files = files, Seed = seed, OutputDirectory = corpus },
                cancellationToken).ConfigureAwait(false);
            if (written is null)
            {
                return ExitCodes.Failure;
            }
        }

        var db = Path.Combine(dir, "scale.db");
        var code = await RunCommand.RunAsync(
            new RunCommand.RunRequest(corpus, names, db, Environment.ProcessorCount, 2_000, Midi.MidiExtractorOptions.DefaultMaxFileBytes, null, 16, new Similarity.SimilarityOptions()),
            cancellationToken).ConfigureAwait(false);
        if (code == 0)
        {
            Console.WriteLine();
            Console.WriteLine("Next:");
            Console.WriteLine($"  ./scale inspect {Path.Combine(corpus, "0")} | head -40     what the extractor sees in some files");
            Console.WriteLine($"  sqlite3 {db} 'select name, instrument_count from songs limit 10'");
            Console.WriteLine($"  ./scale serve --db {db}     the web app over this database");
        }

        if (code != 0 || urls is null)
        {
            return code;
        }

        Console.WriteLine();
        return await ServeCommand.ServeAsync(db, urls, ServeCommand.ServeSettings.Default, cancellationToken).ConfigureAwait(false);
    }
}
