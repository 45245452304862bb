using System.Globalization;
using Spectre.Console;

namespace Scale.Cli.Terminal;

/// <summary>
/// Shows progress of a long command on standard error: a live bar with rate and ETA on a terminal, a plain line
/// every few seconds otherwise (logs, CI), so output stays readable in both.
/// </summary>
internal sealed class ProgressRenderer
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);
    private readonly string _label;
    private readonly string _unit;
    private readonly TextWriter _plain;
    private readonly bool _filesAndBytes;

    /// <param name="label">Shown first, e.g. the command name.</param>
    /// <param name="unit">What is counted.</param>
    /// <param name="plainOutput">Where plain lines go (standard error by default).</param>
    /// <param name="filesAndBytes">Show MB/s and invalid counts (for work on files).</param>
    public ProgressRenderer(string label, string unit = "files", TextWriter? plainOutput = null, bool filesAndBytes = true)
    {
        _label = label;
        _unit = unit;
        _plain = plainOutput ?? Console.Error;
        _filesAndBytes = filesAndBytes;
    }

    /// <summary>True when standard error is an interactive terminal that can redraw a line.</summary>
    public static bool IsInteractive =>
        Console.Out is not JsonLineWriter && !Console.IsErrorRedirected && !string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal) &&
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>Runs <paramref name="work"/> while sampling <paramref name="sample"/> to draw progress.</summary>
    public async Task<T> RunAsync<T>(Func<ProgressSnapshot> sample, Func<Task<T>> work)
    {
        return IsInteractive ? await RunLiveAsync(sample, work).ConfigureAwait(false) : await RunPlainAsync(sample, work).ConfigureAwait(false);
    }

    private async Task<T> RunLiveAsync<T>(Func<ProgressSnapshot> sample, Func<Task<T>> work)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(_label, autoStart: true);
                var running = work();
                while (!running.IsCompleted)
                {
                    Update(task, sample());
                    await Task.WhenAny(running, Task.Delay(250)).ConfigureAwait(false);
                }

                Update(task, sample());
                if (!task.IsIndeterminate)
                {
                    task.Value = task.MaxValue;
                }

                task.StopTask();
                return await running.ConfigureAwait(false);
            }).ConfigureAwait(false);
    }

    private void Update(ProgressTask task, ProgressSnapshot s)
    {
        task.IsIndeterminate = s.Total is null;
        if (s.Total is { } total)
        {
            task.MaxValue = Math.Max(1, total);
            task.Value = Math.Min(s.Done, total);
        }

        task.Description = Markup.Escape(Line(s));
    }

    private async Task<T> RunPlainAsync<T>(Func<ProgressSnapshot> sample, Func<Task<T>> work)
    {
        var running = work();
        while (!running.IsCompleted)
        {
            await Task.WhenAny(running, Task.Delay(PlainInterval)).ConfigureAwait(false);
            if (!running.IsCompleted)
            {
                var snapshot = sample();
                if (Console.Out is JsonLineWriter json)
                {
                    // Progress is information, with its numbers as fields for the collector.
                    json.WriteEvent(Line(snapshot), Fields(snapshot));
                }
                else
                {
                    await _plain.WriteLineAsync(Line(snapshot)).ConfigureAwait(false);
                }
            }
        }

        return await running.ConfigureAwait(false);
    }

    /// <summary>"run: 12,345/176,581 files · 2,345 files/s · 81.2 MB/s · 12 invalid · ETA 1:10".</summary>
    public string Line(ProgressSnapshot s)
    {
        var c = CultureInfo.InvariantCulture;
        var count = s.Total is { } total ? string.Create(c, $"{s.Done:N0}/{total:N0}") : s.Done.ToString("N0", c);
        var line = string.Create(c, $"{_label}: {count} {_unit} · {s.FilesPerSecond:N0} {_unit}/s");
        if (_filesAndBytes)
        {
            line += string.Create(c, $" · {s.MegabytesPerSecond:N1} MB/s · {s.Invalid:N0} invalid");
        }

        if (s.Eta is { } eta)
        {
            line += " · ETA " + FormatDuration(eta);
        }

        if (!string.IsNullOrEmpty(s.Detail))
        {
            line += " · " + s.Detail;
        }

        return line;
    }

    private IEnumerable<KeyValuePair<string, object?>> Fields(ProgressSnapshot s)
    {
        yield return new("done", s.Done);
        yield return new("total", s.Total);
        yield return new("per_second", s.FilesPerSecond);
        if (_filesAndBytes)
        {
            yield return new("mb_per_second", s.MegabytesPerSecond);
            yield return new("invalid", s.Invalid);
        }

        yield return new("eta_seconds", s.Eta?.TotalSeconds);
        yield return new("unit", _unit);
    }

    public static string FormatDuration(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
