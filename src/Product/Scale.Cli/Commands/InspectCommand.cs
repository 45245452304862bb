using System.CommandLine;
using System.Globalization;
using Scale.Corpus.Naming;
using Scale.Corpus.Sources;
using System.Text.Json;
using Scale.Midi;

namespace Scale.Cli.Commands;

/// <summary><c>scale inspect PATH... [--json]</c>: what the extractor sees in each file.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths")
        {
            Description = "MIDI files or folders (folders are searched recursively for .mid, .midi, .kar and .rmi files, as `run` does).",
            Arity = ArgumentArity.OneOrMore,
        };
        var json = new Option<bool>("--json") { Description = "Write JSON Lines: one object per file." };
        var maxBytes = new Option<long>("--max-file-bytes")
        {
            Description = "Reject files larger than this without reading them.",
            DefaultValueFactory = _ => MidiExtractorOptions.DefaultMaxFileBytes,
        };
        var command = new Command("inspect", "Show the instruments, format, length, title and damage of MIDI files.")
        {
            paths, json, maxBytes,
        };
        command.SetAction((parse, cancellationToken) =>
            Task.FromResult(Run(parse.GetValue(paths)!, parse.GetValue(json), parse.GetValue(maxBytes), cancellationToken)));
        return command;
    }

    private static int Run(string[] paths, bool json, long maxFileBytes, CancellationToken cancellationToken)
    {
        var missing = paths.Where(p => !File.Exists(p) && !Directory.Exists(p)).ToList();
        if (missing.Count > 0)
        {
            Console.Error.WriteLine($"scale inspect: no such file or folder: {string.Join(", ", missing)}");
            return ExitCodes.BadInput;
        }

        var extractor = new MidiExtractor(new MidiExtractorOptions { MaxFileBytes = maxFileBytes });
        using var stdout = Console.OpenStandardOutput();
        using var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { SkipValidation = true });
        var files = 0;
        var rejected = 0;
        foreach (var file in Expand(paths))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (summary, id, bytes) = Inspect(extractor, file, maxFileBytes);
            files++;
            rejected += summary.IsValid ? 0 : 1;
            if (json)
            {
                WriteJson(writer, file, id, bytes, summary);
                writer.Flush();
                stdout.WriteByte((byte)'\n');
            }
            else
            {
                WriteText(file, id, bytes, summary);
            }
        }

        stdout.Flush();
        if (!json)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{files} file(s), {files - rejected} read, {rejected} rejected."));
        }

        return ExitCodes.Success;
    }

    private static IEnumerable<string> Expand(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            if (File.Exists(path))
            {
                yield return path;
                continue;
            }

            var found = Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                .Where(CorpusKeys.IsMidiFileName)
                .Order(StringComparer.Ordinal);
            foreach (var file in found)
            {
                yield return file;
            }
        }
    }

    private static (MidiSummary Summary, string? Id, long Bytes) Inspect(MidiExtractor extractor, string file, long maxFileBytes)
    {
        try
        {
            var length = new FileInfo(file).Length;
            if (length > maxFileBytes)
            {
                return (extractor.RejectTooLarge(length), null, length);
            }

            var bytes = File.ReadAllBytes(file);
            return (extractor.Extract(bytes), SongId.FromBytes(bytes), bytes.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (MidiSummary.Rejected(MidiErrorCode.ReadError, "The file could not be read: " + ex.Message), null, 0);
        }
    }

    private static void WriteJson(Utf8JsonWriter w, string path, string? id, long bytes, MidiSummary s)
    {
        w.Reset();
        w.WriteStartObject();
        w.WriteString("path", path);
        w.WriteString("id", id);
        w.WriteNumber("bytes", bytes);
        if (s.IsValid)
        {
            w.WriteNumber("format", s.Format);
            w.WriteNumber("tracks", s.Tracks);
            w.WriteNumber("division", s.Division);
        }
        else
        {
            w.WriteNull("format");
            w.WriteNull("tracks");
            w.WriteNull("division");
        }

        w.WriteStartArray("instruments");
        foreach (var code in s.Instruments.ToArray())
        {
            w.WriteNumberValue(code);
        }

        w.WriteEndArray();
        w.WriteStartObject("notes");
        foreach (var code in s.Instruments.ToArray())
        {
            w.WriteNumber(code.ToString(CultureInfo.InvariantCulture), s.NoteCounts[code]);
        }

        w.WriteEndObject();
        w.WriteNumber("ticks", s.Ticks);
        if (s.Seconds is { } seconds)
        {
            w.WriteNumber("seconds", Math.Round(seconds, 3));
        }
        else
        {
            w.WriteNull("seconds");
        }

        w.WriteString("title", s.Title);
        w.WriteStartArray("warnings");
        foreach (var code in MidiCodes.Codes(s.Warnings))
        {
            w.WriteStringValue(code);
        }

        w.WriteEndArray();
        if (s.Error is { } error)
        {
            w.WriteStartObject("error");
            w.WriteString("code", error.ReasonCode);
            w.WriteString("message", error.Message);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("error");
        }

        w.WriteEndObject();
    }

    private static void WriteText(string path, string? id, long bytes, MidiSummary s)
    {
        var o = CultureInfo.InvariantCulture;
        Console.WriteLine(path);
        Console.WriteLine(string.Create(o, $"  id       {id ?? "-"}  ({bytes:N0} bytes)"));
        if (s.Error is { } error)
        {
            Console.WriteLine($"  error    {error.ReasonCode}: {error.Message}");
        }
        else
        {
            Console.WriteLine(string.Create(o, $"  format   {s.Format}, {s.Tracks} track(s), division {s.Division}, {s.Ticks:N0} ticks, {(s.Seconds is { } sec ? TimeSpan.FromSeconds(sec).ToString(@"m\:ss\.f", o) : "unknown length")}"));
            Console.WriteLine($"  title    {s.Title ?? "-"}");
            foreach (var code in s.Instruments.ToArray())
            {
                Console.WriteLine(string.Create(o, $"  {code,3} {GeneralMidi.InstrumentName(code),-26} {GeneralMidi.FamilyName(GeneralMidi.FamilyOf(code)),-21} {s.NoteCounts[code],7:N0} notes"));
            }
        }

        if (s.Warnings != MidiWarnings.None)
        {
            Console.WriteLine($"  warnings {string.Join(", ", MidiCodes.Codes(s.Warnings))}");
        }
    }
}
