using System.Diagnostics;
using Activity = Scale.Chaos.Experiments.Activity;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Scale.Chaos.Experiments;
using Scale.Chaos.Probes;
using Scale.Chaos.Targets;
using Scale.Load;

namespace Scale.Chaos.Runner;

/// <summary>One hypothesis line's verdict in one phase, with what was measured.</summary>
public sealed record Verdict(string Line, Phase Phase, string Measured, string Tolerance, bool Met, string Explanation);

/// <summary>The result of a run: Chaos Toolkit's journal fields plus Scale's evidence (verdicts, timeline, per-second load).</summary>
public sealed record ChaosResult
{
    public required Experiment Experiment { get; init; }

    public required string Target { get; init; }

    public required bool ShortForm { get; init; }

    public required int Seed { get; init; }

    public required DateTimeOffset Start { get; init; }

    public required DateTimeOffset End { get; init; }

    /// <summary>completed, failed (the hypothesis did not hold before the method, or an activity failed), aborted (a safeguard), interrupted.</summary>
    public required string Status { get; init; }

    /// <summary>A hypothesis line failed during or after the method, or a method probe missed its tolerance.</summary>
    public required bool Deviated { get; init; }

    public required JsonObject Journal { get; init; }

    public required IReadOnlyList<Verdict> Verdicts { get; init; }

    public required IReadOnlyList<TimelineEvent> Timeline { get; init; }

    /// <summary>The steady load's seconds, shifted to run seconds by <see cref="LoadStartedAt"/>.</summary>
    public required IReadOnlyList<LoadSecond> Series { get; init; }

    public required double LoadStartedAt { get; init; }

    public double? TargetRate { get; init; }

    public LoadReport? Load { get; init; }

    /// <summary>The write prober's history (epochs, overlaps, lost and failed writes), when the experiment had one.</summary>
    public JsonObject? Writes { get; init; }

    /// <summary>Every hypothesis line held and the run completed.</summary>
    public bool HypothesisHeld => Status == "completed" && !Deviated;
}

/// <summary>
/// Runs an experiment the way Chaos Toolkit does (controls around it; steady state before; the method; steady state
/// after; rollbacks, always) and does what Chaos Toolkit leaves to plugins: the steady-state lines marked
/// <c>during</c> are checked every second while the method runs, each with its allowed degradation, and safeguards
/// abort the method (then roll back) when breached for long enough.
/// </summary>
public sealed class ChaosRunner(IChaosTarget target, ChaosRunOptions options)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly TimeSpan RollbackTimeout = TimeSpan.FromMinutes(2);

    public async Task<ChaosResult> RunAsync(Experiment experiment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        var context = new RunContext(experiment, target, options);
        if (target is ITimelineSource source)
        {
            source.OnEvent = context.Event;
        }

        var log = options.Log;
        var start = options.Time.GetUtcNow();
        var verdicts = new List<Verdict>();
        var runs = new JsonArray();
        var rollbacks = new JsonArray();
        var during = new JsonArray();
        JsonObject? before = null;
        JsonObject? after = null;
        var status = "completed";
        var activityFailed = false;
        var safeguards = new List<Safeguard>();
        LoadReport? loadReport = null;
        double? targetRate = null;
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        string? abortReason = null;
        log.WriteLine($"scale chaos: {experiment.Title} ({(options.ShortForm ? "short form" : "full form")}, target {target.Name}{(target.DryRun ? ", dry run" : "")})");
        try
        {
            foreach (var control in experiment.Controls)
            {
                var rate = await StartControlAsync(context, control, safeguards, cancellationToken);
                targetRate ??= rate;
            }

            log.WriteLine($"scale chaos: steady state before: {experiment.HypothesisTitle}");
            (before, var beforeMet) = await SteadyStateAsync(context, Phase.Before, verdicts, cancellationToken);
            if (context.Load is not null && MachineCapacity.Before(context.CpuAtSteady, context.ReadCpu(), options.MachineCores, beforeMet, targetRate) is { } capacity)
            {
                verdicts.Add(capacity);
                LogVerdict(capacity.Met, capacity.Line, capacity.Explanation);
            }

            if (!beforeMet)
            {
                status = "failed";
                log.WriteLine("scale chaos: the steady state does not hold before the method: the method is not run");
            }
            else
            {
                var methodStart = context.Now;
                context.MethodStartedAt = methodStart;
                context.CpuAtMethodStart = context.ReadCpu();
                if (context.CpuAtMethodStart is { } cpuAtStart)
                {
                    context.CpuSamples.Add((methodStart, cpuAtStart));
                }

                context.Event("phase", "method starts");
                using var stopMonitor = new CancellationTokenSource();
                var lines = experiment.Hypothesis.Where(p => p.AllowedDegradationSeconds is not null).Select(p => new DuringLine(p)).ToList();
                var monitor = MonitorAsync(context, lines, safeguards, during, reason =>
                {
                    abortReason ??= reason;
                    abort.Cancel();
                }, stopMonitor.Token);
                var background = new List<Task<bool>>();
                try
                {
                    foreach (var activity in experiment.Method)
                    {
                        if (activity.Background)
                        {
                            background.Add(RunActivityAsync(context, activity, Phase.Method, runs, verdicts, abort.Token));
                            continue;
                        }

                        activityFailed |= !await RunActivityAsync(context, activity, Phase.Method, runs, verdicts, abort.Token);
                    }

                    foreach (var task in background)
                    {
                        activityFailed |= !await task;
                    }
                }
                finally
                {
                    context.MethodEndedAt = context.Now;
                    context.CpuAtMethodEnd = context.ReadCpu();
                    await stopMonitor.CancelAsync();
                    await monitor;
                }

                foreach (var line in lines)
                {
                    verdicts.Add(line.Verdict());
                }

                if (context.Load is not null && MachineCapacity.During(context.CpuAtMethodStart, context.CpuAtMethodEnd, options.MachineCores) is { } capacityDuring)
                {
                    verdicts.Add(capacityDuring);
                    LogVerdict(capacityDuring.Met, capacityDuring.Line, capacityDuring.Explanation);
                }

                context.Event("phase", "method ends");
                log.WriteLine("scale chaos: steady state after");
                (after, var afterMet) = await SteadyStateAsync(context, Phase.After, verdicts, abort.Token);
                if (context.Load is not null && CapacityAfter(context, afterMet, targetRate) is { } capacityAfter)
                {
                    verdicts.Add(capacityAfter);
                    LogVerdict(capacityAfter.Met, capacityAfter.Line, capacityAfter.Explanation);
                }

                if (activityFailed)
                {
                    status = "failed";
                }
            }
        }
        catch (OperationCanceledException) when (abortReason is not null)
        {
            status = "aborted";
            context.Event("guard", $"aborted: {abortReason}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            status = "interrupted";
            context.Event("phase", "interrupted");
        }
        finally
        {
            // Rollbacks always run, whatever happened, each with a bound of its own.
            foreach (var rollback in experiment.Rollbacks)
            {
                using var timeout = new CancellationTokenSource(RollbackTimeout);
                await RunActivityAsync(context, rollback, Phase.Rollback, rollbacks, verdicts, timeout.Token);
            }

            // A fault held for a set time and not undone by a rollback (an aborted run) is undone now.
            await context.UndoAllAsync();
            loadReport = await StopControlsAsync(context);
        }

        if (abortReason is not null)
        {
            status = "aborted";
        }

        var deviated = verdicts.Any(v => !v.Met && v.Phase is Phase.During or Phase.After or Phase.Method);
        var end = options.Time.GetUtcNow();
        var series = loadReport?.Series ?? [];
        var result = new ChaosResult
        {
            Experiment = experiment,
            Target = target.Name,
            ShortForm = options.ShortForm,
            Seed = options.Seed,
            Start = start,
            End = end,
            Status = status,
            Deviated = deviated,
            Verdicts = verdicts,
            Timeline = context.Events,
            Series = series,
            LoadStartedAt = context.LoadStartedAt,
            TargetRate = targetRate,
            Load = loadReport,
            Writes = context.WritesJournal,
            Journal = [],
        };
        return result with { Journal = ChaosJournal.Build(result, before, after, during, runs, rollbacks) };
    }

    private async Task<double?> StartControlAsync(RunContext context, Activity control, List<Safeguard> safeguards, CancellationToken cancellationToken)
    {
        var call = new FunctionCall(context, control.Provider.Arguments, Phase.Before);
        switch (control.Provider.Function)
        {
            case "load":
                var url = call.Text("url") is { } given ? new Uri(given)
                    : new Uri(target.ServiceUrl ?? throw new ChaosException("the load control needs a url for this target"), call.Text("path") ?? "/");
                var rate = call.Number("rps", 100);
                var targets = await LoadTargetsAsync(url, call, cancellationToken);
                var load = new LoadGenerator(new LoadOptions
                {
                    Target = url,
                    Targets = targets,
                    RequestsPerSecond = rate,
                    // Until stopped: the run decides when the load ends.
                    Duration = TimeSpan.FromHours(12),
                    Concurrency = (int)call.Number("concurrency", 50),
                    KeepAlive = true,
                    Timeout = TimeSpan.FromSeconds(call.Number("timeout_seconds", 10)),
                });
                context.Load = load;
                context.LoadStop = new CancellationTokenSource();
                context.LoadStartedAt = context.Now;
                context.LoadRun = load.RunAsync(cancellationToken: context.LoadStop.Token);
                var warmup = call.Number("warmup_seconds", 5);
                var steady = call.Number("steady_seconds", 10);
                context.Event("phase", string.Create(Invariant, $"load starts: {rate} requests/s over {targets.Count} URLs of {url.GetLeftPart(UriPartial.Authority)} (warm-up {warmup:0} s, then {steady:0} s of steady state)"));
                await Task.Delay(TimeSpan.FromSeconds(warmup), options.Time, cancellationToken);
                context.SteadyFrom = context.Now;
                context.CpuAtSteady = context.ReadCpu();
                await Task.Delay(TimeSpan.FromSeconds(steady + 1), options.Time, cancellationToken);
                return rate;
            case "write_prober":
                var connection = call.Text("db") ?? (target as IStoreAccess)?.WriteConnectionString
                    ?? throw new ChaosException("the write_prober control needs db (a connection string to the primary) for this target");
                List<WriteEndpoint> endpoints = [new WriteEndpoint(WriteProber.MainEndpointName, connection, Direct: false)];
                if (call.Arguments["direct"] is JsonValue direct && direct.TryGetValue<bool>(out var useDirect) && useDirect)
                {
                    // Each member at its own address too: a server that accepts a write there acted as a primary then,
                    // whatever the load balancer thought.
                    endpoints.AddRange(target.Require<IStoreAccess>("write_prober direct").DirectWriteConnectionStrings
                        .Select(d => new WriteEndpoint(d.Name, d.ConnectionString, Direct: true)));
                }

                var prober = new WriteProber(endpoints, call.Number("rate", 20), options.Time);
                await prober.StartAsync(cancellationToken);
                context.Writes = prober;
                context.Event("phase", string.Create(Invariant, $"write prober starts: {call.Number("rate", 20)} writes/s to {string.Join(", ", endpoints.Select(e => e.Name))}"));
                return null;
            case "safeguards":
                if (control.Provider.Arguments["probes"] is not JsonArray probes)
                {
                    throw new ChaosException($"{control.Path}: safeguards need arguments.probes");
                }

                for (var i = 0; i < probes.Count; i++)
                {
                    var probe = Activity.From((JsonObject)probes[i]!, $"{control.Path}.provider.arguments.probes[{i}]", control: false, m => new ChaosException($"{context.Experiment.Source}: {m}"));
                    if (probe.Tolerance is null)
                    {
                        throw new ChaosException($"{context.Experiment.Source}: {probe.Path}: a safeguard needs a tolerance");
                    }

                    if (probe.Tolerance.UsesBefore)
                    {
                        throw new ChaosException($"{context.Experiment.Source}: {probe.Path}: a safeguard's tolerance cannot refer to a value before the method (it has none): use a range");
                    }

                    var breachedFor = probe.Raw["breached_for_seconds"] is { } b ? Experiment.Number(b, "breached_for_seconds") : 0;
                    safeguards.Add(new Safeguard(probe, breachedFor));
                }

                return null;
            default:
                throw new ChaosException($"{context.Experiment.Source}: {control.Path}: unknown control '{control.Provider.Function}' (controls: {string.Join(", ", Functions.ControlNames)})");
        }
    }

    /// <summary>
    /// The load's URLs: <c>paths</c> taken in turn, each <c>{song}</c> replaced by songs of the store (with similar
    /// songs first, from the service's own API), so the mix reads the database as users do; or just <c>path</c>.
    /// </summary>
    private static async Task<List<Uri>> LoadTargetsAsync(Uri url, FunctionCall call, CancellationToken cancellationToken)
    {
        if (call.Arguments["paths"] is not JsonArray paths)
        {
            return [url];
        }

        var baseUrl = new Uri(url.GetLeftPart(UriPartial.Authority));
        var templates = paths.Select(p => p?.GetValue<string>() ?? "/").ToList();
        List<string> songs = [];
        if (templates.Any(t => t.Contains("{song}", StringComparison.Ordinal)))
        {
            var count = (int)call.Number("songs", 50);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            try
            {
                using var list = JsonDocument.Parse(await http.GetStringAsync(new Uri(baseUrl, string.Create(Invariant, $"/api/songs?sort=-similar&pageSize={Math.Clamp(count, 1, 200)}")), cancellationToken));
                songs = list.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!).ToList();
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or TaskCanceledException)
            {
                throw new ChaosException($"the load's paths need songs from {baseUrl}api/songs, which did not answer with a song list: {ex.Message}");
            }

            if (songs.Count == 0)
            {
                throw new ChaosException($"the store behind {baseUrl} has no songs to load");
            }
        }

        // Interleaved (catalogue, song, similar, catalogue, ...) so every second carries the same mix.
        var rounds = Math.Max(1, songs.Count);
        var result = new List<Uri>();
        for (var i = 0; i < rounds; i++)
        {
            foreach (var template in templates)
            {
                result.Add(new Uri(baseUrl, songs.Count == 0 ? template : template.Replace("{song}", songs[i], StringComparison.Ordinal)));
            }
        }

        return result;
    }

    private static async Task<LoadReport?> StopControlsAsync(RunContext context)
    {
        LoadReport? report = null;
        if (context.LoadRun is { } run && context.LoadStop is { } stop)
        {
            await stop.CancelAsync();
            report = await run;
            stop.Dispose();
            context.Load?.Dispose();
        }

        if (context.Writes is { } writes)
        {
            await writes.DisposeAsync();
            try
            {
                // After the prober stopped: the history is final.
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
                var verdict = await writes.CheckHistoryAsync(timeout.Token);
                var journal = writes.WriteHistoryJson();
                journal["check"] = verdict.ToJson();
                context.WritesJournal = journal;
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or OperationCanceledException or InvalidOperationException)
            {
                context.WritesJournal = new JsonObject { ["error"] = $"the write history could not be checked: {ex.Message}" };
            }
        }

        return report;
    }

    private async Task<(JsonObject Journal, bool Met)> SteadyStateAsync(RunContext context, Phase phase, List<Verdict> verdicts, CancellationToken cancellationToken)
    {
        var probes = new JsonArray();
        var met = true;
        foreach (var probe in context.Experiment.Hypothesis)
        {
            var entry = await ExecuteAsync(context, probe, phase, null, cancellationToken);
            var value = entry.Output;
            ToleranceVerdict verdict;
            if (entry.Error is not null)
            {
                verdict = new ToleranceVerdict(false, entry.Error);
            }
            else if (phase == Phase.Before && probe.Tolerance!.UsesBefore)
            {
                // Relative lines are measured before, to be compared with later.
                verdict = new ToleranceVerdict(true, $"steady-state value {Tolerance.Show(value)}");
            }
            else
            {
                verdict = probe.Tolerance!.Check(value, context.Before.GetValueOrDefault(probe.Name));
            }

            if (phase == Phase.Before)
            {
                context.Before[probe.Name] = value?.DeepClone();
            }

            met &= verdict.Met;
            verdicts.Add(new Verdict(probe.Name, phase, Tolerance.Show(value), probe.Tolerance!.Describe(), verdict.Met, verdict.Explanation));
            LogVerdict(verdict.Met, probe.Name, verdict.Explanation);
            var json = entry.ToJson(probe);
            json["tolerance_met"] = verdict.Met;
            probes.Add(json);
        }

        return (new JsonObject { ["steady_state_met"] = met, ["probes"] = probes }, met);
    }

    private void LogVerdict(bool met, string line, string explanation) =>
        options.Log.WriteLine($"  {(met ? "ok  " : "FAIL")} {line}: {explanation}");

    private async Task<bool> RunActivityAsync(RunContext context, Activity activity, Phase phase, JsonArray journal, List<Verdict> verdicts, CancellationToken cancellationToken)
    {
        if (activity.PauseBefore > 0)
        {
            options.Log.WriteLine(string.Create(Invariant, $"  pause {activity.PauseBefore:0} s"));
            await Task.Delay(TimeSpan.FromSeconds(activity.PauseBefore), options.Time, cancellationToken);
        }

        options.Log.WriteLine($"  {(activity.Type == ActivityType.Action ? "action" : "probe")} {activity.Name}");
        var entry = await ExecuteAsync(context, activity, phase, null, cancellationToken);
        var json = entry.ToJson(activity);
        var succeeded = entry.Error is null;
        if (activity.Tolerance is { } tolerance)
        {
            // A method probe may be judged against a steady-state line's value before the method ("compare-with").
            var reference = activity.Raw["compare-with"]?.GetValue<string>() is { } line ? context.Before.GetValueOrDefault(line) : null;
            var verdict = succeeded ? tolerance.Check(entry.Output, reference) : new ToleranceVerdict(false, entry.Error!);
            if (!verdict.Met && entry.Note is { } note)
            {
                verdict = verdict with { Explanation = $"{verdict.Explanation}; {note}" };
            }

            json["tolerance_met"] = verdict.Met;
            lock (verdicts)
            {
                verdicts.Add(new Verdict(activity.Name, phase == Phase.Rollback ? Phase.Rollback : Phase.Method, Tolerance.Show(entry.Output), tolerance.Describe(), verdict.Met, verdict.Explanation));
            }

            LogVerdict(verdict.Met, activity.Name, verdict.Explanation);
        }
        else if (!succeeded)
        {
            options.Log.WriteLine($"  FAIL {activity.Name}: {entry.Error}");
            context.Event("error", $"{activity.Name}: {entry.Error}");
        }

        lock (journal)
        {
            journal.Add(json);
        }

        if (activity.PauseAfter > 0)
        {
            options.Log.WriteLine(string.Create(Invariant, $"  pause {activity.PauseAfter:0} s"));
            await Task.Delay(TimeSpan.FromSeconds(activity.PauseAfter), options.Time, cancellationToken);
        }

        return succeeded;
    }

    private async Task<ActivityRun> ExecuteAsync(RunContext context, Activity activity, Phase phase, double? window, CancellationToken cancellationToken)
    {
        var started = options.Time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        try
        {
            var call = new FunctionCall(context, activity.Provider.Arguments, phase, window);
            var output = activity.Provider.Type switch
            {
                "scale" => await Functions.InvokeAsync(activity.Provider.Function, call, cancellationToken),
                "http" => await ExternalProviders.HttpAsync(activity.Provider, cancellationToken),
                "process" => await ExternalProviders.ProcessAsync(activity.Provider, cancellationToken),
                _ => throw new ChaosException($"unknown provider type {activity.Provider.Type}"),
            };
            return new ActivityRun(started, clock.Elapsed, output, null) { Note = call.Note };
        }
        catch (ChaosException ex)
        {
            return new ActivityRun(started, clock.Elapsed, null, ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A timeout of the activity's own (an HTTP client's), not the run being stopped: the activity failed.
            return new ActivityRun(started, clock.Elapsed, null, string.Create(Invariant, $"timed out after {clock.Elapsed.TotalSeconds:0.0} s"));
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or Npgsql.NpgsqlException or TimeoutException or InvalidOperationException or JsonException or k8s.Autorest.HttpOperationException)
        {
            return new ActivityRun(started, clock.Elapsed, null, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>
    /// The machine-capacity verdict after the method, over the span the lines after it look back on: the longest
    /// window_seconds of the hypothesis' probes (10 s where none is given, the load probes' default), from the CPU
    /// sample taken that long ago (or the method's start, when the method was shorter).
    /// </summary>
    private Verdict? CapacityAfter(RunContext context, bool afterMet, double? targetRate)
    {
        var window = context.Experiment.Hypothesis
            .Select(p => p.Provider.Arguments["window_seconds"] is { } w ? Experiment.Number(w, "window_seconds") : 10)
            .DefaultIfEmpty(10)
            .Max();
        var now = context.Now;
        var samples = context.CpuSamples;
        if (samples.Count == 0)
        {
            return null;
        }

        var from = samples.LastOrDefault(s => s.At <= now - window, samples[0]);
        return MachineCapacity.After(from.Cpu, context.ReadCpu(), options.MachineCores, afterMet, targetRate, now - from.At);
    }

    private async Task MonitorAsync(RunContext context, List<DuringLine> lines, List<Safeguard> safeguards, JsonArray journal, Action<string> abort, CancellationToken cancellationToken)
    {
        // With a load running, the loop also samples the machine's CPU for the capacity verdict after the method.
        if (lines.Count == 0 && safeguards.Count == 0 && context.Load is null)
        {
            return;
        }

        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), options.Time, cancellationToken);
                var now = context.Now;
                if (context.Load is not null && context.ReadCpu() is { } cpu)
                {
                    context.CpuSamples.Add((now, cpu));
                }

                var probes = new JsonArray();
                var met = true;
                foreach (var line in lines)
                {
                    var entry = await ExecuteAsync(context, line.Probe, Phase.During, line.WindowSeconds, cancellationToken);
                    var verdict = entry.Error is not null ? new ToleranceVerdict(false, entry.Error)
                        : line.Probe.Tolerance!.Check(entry.Output, context.Before.GetValueOrDefault(line.Probe.Name));
                    line.Record(now, entry.Output, verdict);
                    met &= verdict.Met;
                    probes.Add(new JsonObject { ["activity"] = new JsonObject { ["name"] = line.Probe.Name }, ["output"] = entry.Output?.DeepClone(), ["tolerance_met"] = verdict.Met });
                }

                if (lines.Count > 0)
                {
                    journal.Add(new JsonObject { ["at"] = Math.Round(now, 1), ["steady_state_met"] = met, ["probes"] = probes });
                }

                foreach (var guard in safeguards)
                {
                    var entry = await ExecuteAsync(context, guard.Probe, Phase.Guard, null, cancellationToken);
                    var verdict = entry.Error is not null ? new ToleranceVerdict(false, entry.Error) : guard.Probe.Tolerance!.Check(entry.Output, null);
                    if (guard.Breached(now, verdict.Met))
                    {
                        abort(string.Create(Invariant, $"safeguard {guard.Probe.Name} breached for {guard.BreachedForSeconds:0} s ({verdict.Explanation})"));
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The method ended.
        }
    }

    private sealed record ActivityRun(DateTimeOffset Start, TimeSpan Duration, JsonNode? Output, string? Error)
    {
        /// <summary>The function's note (<see cref="FunctionCall.Note"/>), added to a failed line's explanation.</summary>
        public string? Note { get; init; }

        public JsonObject ToJson(Activity activity)
        {
            var json = new JsonObject
            {
                ["activity"] = activity.Raw.DeepClone(),
                ["output"] = Output?.DeepClone(),
                ["start"] = Start.ToString("O", Invariant),
                ["end"] = (Start + Duration).ToString("O", Invariant),
                ["duration"] = Math.Round(Duration.TotalSeconds, 3),
                ["status"] = Error is null ? "succeeded" : "failed",
            };
            if (Error is not null)
            {
                json["exception"] = new JsonArray(Error);
            }

            return json;
        }
    }

    /// <summary>A steady-state line watched during the method: it may fail for its allowed degradation, consecutively, and no longer.</summary>
    private sealed class DuringLine(Activity probe)
    {
        private double? _failingSince;
        private double _longest;
        private double? _breachedAt;
        private string _worst = "";
        private int _samples;
        private int _failed;

        public Activity Probe { get; } = probe;

        public double WindowSeconds { get; } = probe.Raw["during"]?["window-seconds"] is { } w ? Experiment.Number(w, "during.window-seconds") : 5;

        private double Allowed => Probe.AllowedDegradationSeconds ?? 0;

        public void Record(double now, JsonNode? value, ToleranceVerdict verdict)
        {
            _samples++;
            if (verdict.Met)
            {
                _failingSince = null;
                return;
            }

            _failed++;
            _failingSince ??= now - 1;
            var stretch = now - _failingSince.Value;
            if (stretch >= _longest)
            {
                _longest = stretch;
                _worst = verdict.Explanation;
            }

            if (stretch > Allowed && _breachedAt is null)
            {
                _breachedAt = now;
            }
        }

        public Verdict Verdict()
        {
            var met = _breachedAt is null;
            var measured = string.Create(Invariant, $"longest failing stretch {_longest:0} s ({_failed} of {_samples} s)");
            var explanation = _failed == 0
                ? string.Create(Invariant, $"held every second ({_samples} checks)")
                : string.Create(Invariant, $"failed for {_longest:0} s at most, {(met ? "within" : "beyond")} the allowed {Allowed:0} s; worst: {_worst}");
            return new Verdict(Probe.Name, Phase.During, measured, string.Create(Invariant, $"{Probe.Tolerance!.Describe()}, degraded ≤ {Allowed:0} s"), met, explanation);
        }
    }

    /// <summary>A guard: breached when its tolerance fails for this long without a break.</summary>
    private sealed class Safeguard(Activity probe, double breachedForSeconds)
    {
        private double? _failingSince;

        public Activity Probe { get; } = probe;

        public double BreachedForSeconds { get; } = breachedForSeconds;

        public bool Breached(double now, bool met)
        {
            if (met)
            {
                _failingSince = null;
                return false;
            }

            _failingSince ??= now - 1;
            return now - _failingSince.Value >= BreachedForSeconds;
        }
    }
}
