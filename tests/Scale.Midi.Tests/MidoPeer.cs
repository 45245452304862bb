using System.Diagnostics;
using Scale.Testing;

namespace Scale.Midi.Tests;

/// <summary>
/// The second peer: Debian's python3-mido through tools/mido_instruments.py (paths on stdin; TSV out:
/// path, "ok" or "error:Type", comma-separated codes), which applies the same semantics on mido's parser.
/// </summary>
internal static class MidoPeer
{
    public const string Python = "/usr/bin/python3";

    public static string Script => Path.Join(DebianMidiCorpus.RepositoryRoot(), "tools", "mido_instruments.py");

    /// <summary>True when Debian's python3 can import mido.</summary>
    public static bool IsAvailable()
    {
        if (!File.Exists(Python))
        {
            return false;
        }

        var (exitCode, _) = Run(["-c", "import mido"], []);
        return exitCode == 0;
    }

    public static Dictionary<string, PeerResult> Instruments(IReadOnlyCollection<string> paths)
    {
        var (exitCode, lines) = Run([Script], paths);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{Script} exited with {exitCode}:\n{string.Join('\n', lines)}");
        }

        var results = new Dictionary<string, PeerResult>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var fields = line.Split('\t');
            if (fields.Length != 3)
            {
                throw new InvalidOperationException($"Unexpected line from {Script}: '{line}'");
            }

            results[fields[0]] = fields[1] == "ok"
                ? new PeerResult(fields[2].Length == 0 ? InstrumentSet.Empty : InstrumentSet.Of(fields[2].Split(',').Select(int.Parse)), null)
                : new PeerResult(InstrumentSet.Empty, fields[1]);
        }

        return results;
    }

    private static (int ExitCode, List<string> Lines) Run(IEnumerable<string> arguments, IEnumerable<string> input)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {Python}.");
        var lines = new List<string>();
        var stderr = process.StandardError.ReadToEndAsync();
        var writer = Task.Run(() =>
        {
            foreach (var path in input)
            {
                process.StandardInput.WriteLine(path);
            }

            process.StandardInput.Close();
        });
        while (process.StandardOutput.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        writer.Wait();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Python} did not finish within 10 minutes.");
        }

        if (process.ExitCode != 0)
        {
            lines.Add(stderr.Result);
        }

        return (process.ExitCode, lines);
    }
}
