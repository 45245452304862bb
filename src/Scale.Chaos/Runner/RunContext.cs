using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Scale.Chaos.Experiments;
using Scale.Chaos.Probes;
using Scale.Chaos.Targets;
using Scale.Load;

namespace Scale.Chaos.Runner;

/// <summary>How a run goes: short form or full, the seed of its random choices, where progress goes, the clock.</summary>
public sealed record ChaosRunOptions
{
    public bool ShortForm { get; init; }

    /// <summary>Seeds every random choice (which worker dies when), so a run can be repeated.</summary>
    public int Seed { get; init; } = 1;

    public TextWriter Log { get; init; } = TextWriter.Null;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Reads the machine's CPU times (for the machine-capacity verdict); null where it cannot be known.</summary>
    public Func<CpuTimes?> ReadMachineCpu { get; init; } = MachineCpu.Read;

    /// <summary>The machine's cores, to say how much it had.</summary>
    public int MachineCores { get; init; } = Environment.ProcessorCount;
}

/// <summary>A moment of the run worth marking on the charts: a fault, a recovery, a rollback, a guard, a phase.</summary>
/// <param name="At">Seconds since the run started.</param>
/// <param name="Kind">fault, recovery, rollback, guard, timeout, error or phase.</param>
/// <param name="Text">What happened, in words.</param>
public sealed record TimelineEvent(double At, string Kind, string Text);

/// <summary>When a hypothesis line is checked.</summary>
public enum Phase
{
    Before,
    During,
    After,
    Method,
    Rollback,
    Guard,
}

/// <summary>What a run's activities share: the target, the load and write probers, the timeline, earlier values.</summary>
public sealed class RunContext
{
    private readonly long _start;
    private readonly object _gate = new();
    private readonly List<TimelineEvent> _events = [];

    internal RunContext(Experiment experiment, IChaosTarget target, ChaosRunOptions options)
    {
        Experiment = experiment;
        Target = target;
        Options = options;
        Random = new Random(options.Seed);
        _start = options.Time.GetTimestamp();
    }

    public Experiment Experiment { get; }

    public IChaosTarget Target { get; }

    public ChaosRunOptions Options { get; }

    public Random Random { get; }

    public TextWriter Log => Options.Log;

    /// <summary>Seconds since the run started.</summary>
    public double Now => Options.Time.GetElapsedTime(_start).TotalSeconds;

    /// <summary>The clock's timestamp of a moment given in run seconds.</summary>
    public long TimestampAt(double runSeconds) => _start + (long)(runSeconds * Options.Time.TimestampFrequency);

    public LoadGenerator? Load { get; internal set; }

    internal Task<LoadReport>? LoadRun { get; set; }

    internal CancellationTokenSource? LoadStop { get; set; }

    /// <summary>When the load started, in run seconds.</summary>
    public double LoadStartedAt { get; internal set; }

    /// <summary>When the warm-up ended (the steady state is measured from here), in run seconds.</summary>
    public double SteadyFrom { get; internal set; }

    /// <summary>The machine's CPU times when the steady state began, and when the method began and ended.</summary>
    /// <summary>
    /// The machine's CPU times now, with what the target ran at idle priority counted apart from busy
    /// (<see cref="IIdlePriorityCpu"/>); null where the machine's cannot be read.
    /// </summary>
    internal CpuTimes? ReadCpu()
    {
        var machine = Options.ReadMachineCpu();
        return machine is { } cpu && Target is IIdlePriorityCpu idle && idle.IdlePriorityCpuTime() is { } used
            ? cpu.WithIdlePriority(used)
            : machine;
    }

    internal CpuTimes? CpuAtSteady { get; set; }

    internal CpuTimes? CpuAtMethodStart { get; set; }

    internal CpuTimes? CpuAtMethodEnd { get; set; }

    /// <summary>The machine's CPU times once a second while the method ran (with its start), for the verdict after it.</summary>
    internal List<(double At, CpuTimes Cpu)> CpuSamples { get; } = [];

    public WriteProber? Writes { get; internal set; }

    /// <summary>The write history for the journal, once the prober stopped.</summary>
    internal JsonObject? WritesJournal { get; set; }

    public double? MethodStartedAt { get; internal set; }

    public double? MethodEndedAt { get; internal set; }

    /// <summary>When the last fault action hit, in run seconds.</summary>
    public double? LastFaultAt { get; internal set; }

    /// <summary>Each steady-state line's value before the method, by probe name (for relative tolerances).</summary>
    public ConcurrentDictionary<string, JsonNode?> Before { get; } = new(StringComparer.Ordinal);

    /// <summary>The last report of each action, by function name (for fault_measurement).</summary>
    public ConcurrentDictionary<string, FaultReport> Faults { get; } = new(StringComparer.Ordinal);

    /// <summary>Anything an action leaves for later probes (HAProxy counters at the fault, the batch outcome).</summary>
    public ConcurrentDictionary<string, object> State { get; } = new(StringComparer.Ordinal);

    private readonly Dictionary<string, PendingUndo> _pending = new(StringComparer.Ordinal);

    /// <summary>
    /// Undoes a fault after <paramref name="after"/> (a zone kept down for 60 s, then restored), unless a rollback does
    /// it first with <see cref="UndoNowAsync"/>; whatever is still pending when the run ends is undone then.
    /// </summary>
    public void ScheduleUndo(string key, TimeSpan after, Func<CancellationToken, Task<FaultReport>> undo)
    {
        var pending = new PendingUndo(undo);
        lock (_gate)
        {
            _pending[key] = pending;
        }

        pending.Timer = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(after, Options.Time, pending.Cancel.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await RunUndoAsync(key, pending, "recovery");
        });
    }

    /// <summary>Runs the pending undo of <paramref name="key"/> now; false when none is pending (already undone, or never scheduled).</summary>
    public async Task<bool> UndoNowAsync(string key)
    {
        PendingUndo? pending;
        lock (_gate)
        {
            _pending.TryGetValue(key, out pending);
        }

        if (pending is null)
        {
            return false;
        }

        await pending.Cancel.CancelAsync();
        await RunUndoAsync(key, pending, "rollback");
        return true;
    }

    /// <summary>Undoes everything still pending (the run ends, whatever happened).</summary>
    internal async Task UndoAllAsync()
    {
        List<string> keys;
        lock (_gate)
        {
            keys = _pending.Keys.ToList();
        }

        foreach (var key in keys)
        {
            await UndoNowAsync(key);
        }
    }

    private async Task RunUndoAsync(string key, PendingUndo pending, string kind)
    {
        // Once: a timer and a rollback may race for it.
        if (Interlocked.Exchange(ref pending.Started, 1) == 1)
        {
            await pending.Done.Task;
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            var report = await pending.Undo(timeout.Token);
            Faults[report.Action] = report;
            Event(kind, report.Detail);
        }
#pragma warning disable CA1031 // An undo that fails is recorded on the timeline; the run goes on to undo the rest.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Event("error", $"undoing {key} failed: {ex.Message}");
        }
        finally
        {
            lock (_gate)
            {
                _pending.Remove(key);
            }

            pending.Done.TrySetResult();
            pending.Cancel.Dispose();
        }
    }

    private sealed class PendingUndo(Func<CancellationToken, Task<FaultReport>> undo)
    {
        public int Started;

        public Func<CancellationToken, Task<FaultReport>> Undo { get; } = undo;

        public CancellationTokenSource Cancel { get; } = new();

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task? Timer { get; set; }
    }

    public IReadOnlyList<TimelineEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return _events.ToList();
            }
        }
    }

    public void Event(string kind, string text)
    {
        var entry = new TimelineEvent(Math.Round(Now, 2), kind, text);
        lock (_gate)
        {
            _events.Add(entry);
        }

        Log.WriteLine($"  [{entry.At,7:0.0} s] {kind}: {text}");
    }
}
