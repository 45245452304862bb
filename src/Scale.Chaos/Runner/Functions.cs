using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Scale.Chaos.Experiments;
using Scale.Chaos.Lab;
using Scale.Chaos.Probes;
using Scale.Chaos.Targets;
using Scale.Load;

namespace Scale.Chaos.Runner;

/// <summary>A Scale function's call: its arguments, the phase it runs in and, during the method, the window to use.</summary>
public sealed record FunctionCall(RunContext Context, JsonObject Arguments, Phase Phase, double? WindowOverride = null)
{
    /// <summary>What the function adds to the line's explanation should its tolerance fail (what the figure measured besides the service).</summary>
    public string? Note { get; set; }

    public string? Text(string name) => Arguments[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : Arguments[name]?.ToJsonString();

    public double Number(string name, double? fallback = null) =>
        Arguments[name] is { } node ? Experiment.Number(node, $"argument {name}")
        : fallback ?? throw new ChaosException($"argument {name} is required");
}

/// <summary>
/// Scale's probes, actions and controls, by the name an experiment gives in <c>provider.func</c>. Each is listed,
/// with its arguments and output, in docs/chaos.md.
/// </summary>
public static class Functions
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private static readonly Dictionary<string, Func<FunctionCall, CancellationToken, Task<JsonNode?>>> Registry = new(StringComparer.Ordinal)
    {
        // Probes on the steady load.
        ["success_ratio"] = (c, _) => Task.FromResult<JsonNode?>(Window(c).SuccessRatio),
        ["error_ratio"] = (c, _) => Task.FromResult<JsonNode?>(Window(c).ErrorRatio),
        ["latency_ms"] = (c, _) => Task.FromResult<JsonNode?>(Percentile(Window(c), c.Text("percentile") ?? "99")),
        ["achieved_rps"] = (c, _) => Task.FromResult<JsonNode?>(Rate(Window(c))),
        // Probes on the target.
        ["instances_ready"] = InstancesReadyAsync,
        ["all_ready"] = AllReadyAsync,
        ["primary"] = async (c, t) => (await c.Context.Target.DatabaseRolesAsync(t)).Primary,
        ["streaming_replicas"] = async (c, t) => (await c.Context.Target.DatabaseRolesAsync(t)).StreamingReplicas.Count,
        ["wait_for"] = WaitForAsync,
        ["prometheus"] = async (c, t) => await PrometheusAsync(c, c.Text("query") ?? throw new ChaosException("prometheus needs a query"), t),
        ["alert_state"] = async (c, t) => await AlertStateAsync(c, c.Text("alert") ?? throw new ChaosException("alert_state needs an alert"), t),
        ["store_digest"] = StoreDigestAsync,
        ["writes_lost"] = async (c, t) => await Writes(c).LostAsync(t),
        ["writes_two_primaries"] = WritesTwoPrimariesAsync,
        ["writes_unavailable_seconds"] = (c, _) => Task.FromResult<JsonNode?>(Math.Round(Writes(c).LongestGapSeconds(
            c.Context.TimestampAt(c.Context.MethodStartedAt ?? c.Context.SteadyFrom), c.Context.Options.Time.GetTimestamp()), 2)),
        ["writes_acknowledged"] = (c, _) => Task.FromResult<JsonNode?>(Writes(c).Acknowledged),
        ["traffic_share"] = TrafficShareAsync,
        ["fault_measurement"] = (c, _) => Task.FromResult<JsonNode?>(FaultMeasurement(c)),
        ["batch_result"] = (c, _) => Task.FromResult(BatchResult(c)),
        // Actions.
        ["terminate_zone"] = async (c, t) => Fault(c, await c.Context.Target.TerminateZoneAsync(c.Text("zone") ?? throw new ChaosException("terminate_zone needs a zone"), t)),
        ["kill_primary"] = async (c, t) =>
        {
            c.Context.State["primary_before_fault"] = (await c.Context.Target.DatabaseRolesAsync(t)).Primary ?? "";
            return Fault(c, await c.Context.Target.KillPrimaryAsync(t));
        },
        ["kill_batch_workers"] = async (c, t) => Fault(c, await c.Context.Target.KillBatchWorkersAsync((int)c.Number("count", 1), c.Context.Random, t)),
        ["stress_cpu"] = StressCpuAsync,
        ["stop_stress"] = async (c, t) => Fault(c, await c.Context.Target.Require<ICpuFaults>("stop_stress").StopStressAsync(t), fault: false),
        ["batch_run_with_kills"] = BatchRunAsync,
        ["zone_outage"] = ZoneOutageAsync,
        ["restore_zone"] = async (c, t) => await UndoAsync(c, "zone_outage", t) ?? Fault(c, await c.Context.Target.Require<IZoneFaults>("restore_zone").RestoreZoneAsync(await ZoneAsync(c, t), t), fault: false),
        ["partition_zone"] = PartitionZoneAsync,
        ["heal_partition"] = async (c, t) => await UndoAsync(c, "partition_zone", t) ?? Fault(c, await c.Context.Target.Require<IZoneFaults>("heal_partition").HealPartitionAsync(await ZoneAsync(c, t), t), fault: false),
        ["degrade_network"] = DegradeNetworkAsync,
        ["restore_network"] = async (c, t) => await UndoAsync(c, "degrade_network", t) ?? Fault(c, await c.Context.Target.Require<INetworkFaults>("restore_network").RestoreZoneNetworkAsync(await ZoneAsync(c, t), t), fault: false),
    };

    /// <summary>Every function's name, for messages and docs.</summary>
    public static IReadOnlyCollection<string> Names => Registry.Keys;

    /// <summary>Functions that run as controls (around the whole experiment) rather than as activities.</summary>
    public static IReadOnlyList<string> ControlNames { get; } = ["load", "write_prober", "safeguards"];

    public static Task<JsonNode?> InvokeAsync(string name, FunctionCall call, CancellationToken cancellationToken) =>
        Registry.TryGetValue(name, out var function)
            ? function(call, cancellationToken)
            : throw new ChaosException($"'{name}' is not a Scale function (functions: {string.Join(", ", Registry.Keys.Order(StringComparer.Ordinal))}; controls: {string.Join(", ", ControlNames)})");

    /// <summary>
    /// The load's seconds a probe looks at, in the load's own seconds: <c>window_seconds</c> N (the last N complete
    /// seconds), or <c>since</c> start (the end of the warm-up), method or fault, up to the last complete second.
    /// </summary>
    internal static LoadWindow Window(FunctionCall call)
    {
        var context = call.Context;
        var load = context.Load ?? throw new ChaosException("this probe measures the steady load: add the load control to the experiment");
        // While the load runs, the second being sent is incomplete: look up to the one before it. Once it has
        // stopped, every second is complete.
        var end = context.LoadRun is { IsCompleted: true } ? load.ElapsedSeconds + 1 : Math.Max(0, load.ElapsedSeconds - 1);
        var since = call.Text("since");
        int from;
        if (call.WindowOverride is { } seconds)
        {
            from = end - (int)seconds;
        }
        else if (since is not null)
        {
            var at = since switch
            {
                "start" => context.SteadyFrom,
                "method" => context.MethodStartedAt ?? context.Now,
                "fault" => context.LastFaultAt ?? context.MethodStartedAt ?? context.Now,
                _ => throw new ChaosException($"since must be start, method or fault, not '{since}'"),
            };
            from = (int)Math.Floor(at - context.LoadStartedAt);
        }
        else
        {
            from = end - (int)call.Number("window_seconds", 10);
        }

        return load.Window(Math.Max(from, (int)Math.Floor(context.SteadyFrom - context.LoadStartedAt)), end);
    }

    private static double Rate(LoadWindow window) => window.ToSecond > window.FromSecond ? Math.Round(window.Completed / (double)(window.ToSecond - window.FromSecond), 1) : 0;

    private static double Percentile(LoadWindow window, string percentile) => percentile switch
    {
        "50" => window.Latency.P50Ms,
        "90" => window.Latency.P90Ms,
        "95" => window.Latency.P95Ms,
        "99" => window.Latency.P99Ms,
        "99.9" => window.Latency.P999Ms,
        "max" => window.Latency.MaxMs,
        "mean" => Math.Round(window.Latency.MeanMs, 3),
        _ => throw new ChaosException($"percentile must be 50, 90, 95, 99, 99.9, max or mean, not '{percentile}'"),
    };

    private static async Task<JsonNode?> InstancesReadyAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var instances = await Instances(call, cancellationToken);
        return instances.Count(i => i.Ready);
    }

    private static async Task<List<TargetInstance>> Instances(FunctionCall call, CancellationToken cancellationToken)
    {
        var kind = call.Text("kind") ?? "web+database";
        var kinds = kind.Split('+');
        return (await call.Context.Target.InstancesAsync(cancellationToken)).Where(i => kinds.Contains(i.Kind)).ToList();
    }

    /// <summary>
    /// True when every instance (of kind) is ready. Before and after the method, a "no" also puts the instances that
    /// were not ready, with what the target says of them, on the timeline: "false ≠ true" alone explains nothing.
    /// </summary>
    private static async Task<JsonNode?> AllReadyAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var watch = new ReadinessWatch();
        var ready = await ReadyShortfallAsync(call, watch, secondsAfterFault: 0, cancellationToken) == 0;
        if (!ready && call.Phase is Phase.Before or Phase.After)
        {
            call.Context.Event("check", $"{call.Phase.ToString().ToLowerInvariant()}: not every instance ready{watch.NotReady()}");
        }

        return ready;
    }

    private static async Task<int> ReadyShortfallAsync(FunctionCall call, ReadinessWatch watch, double secondsAfterFault, CancellationToken cancellationToken)
    {
        var instances = await Instances(call, cancellationToken);
        watch.Observe(instances, secondsAfterFault);
        var expected = call.Arguments["count"] is { } count ? (int)Experiment.Number(count, "count") : instances.Count;
        return Math.Max(0, expected - instances.Count(i => i.Ready));
    }

    /// <summary>
    /// Which instances a wait for readiness waited on: when each was last seen becoming ready, so the journal says what
    /// made a recovery slow (the database's rejoin or a web instance's warm-up), not only how long it took.
    /// </summary>
    private sealed class ReadinessWatch
    {
        private readonly Dictionary<string, double> _becameReady = new(StringComparer.Ordinal);
        private readonly HashSet<string> _waitedFor = new(StringComparer.Ordinal);
        private IReadOnlyList<TargetInstance> _latest = [];

        public void Observe(IReadOnlyList<TargetInstance> instances, double secondsAfterFault)
        {
            _latest = instances;
            foreach (var instance in instances)
            {
                if (!instance.Ready)
                {
                    _waitedFor.Add(instance.Name);
                    _becameReady.Remove(instance.Name);
                }
                else
                {
                    _becameReady.TryAdd(instance.Name, secondsAfterFault);
                }
            }
        }

        /// <summary>" (last ready: pg-a 29.1 s, web-a2 8.4 s)", the instances waited for, latest first; empty when none was.</summary>
        public string LastReady()
        {
            var last = _waitedFor.Where(_becameReady.ContainsKey).OrderByDescending(name => _becameReady[name]).ThenBy(name => name, StringComparer.Ordinal)
                .Select(name => string.Create(Invariant, $"{name} {_becameReady[name]:0.0} s")).ToList();
            return last.Count == 0 ? "" : $" (last ready: {string.Join(", ", last)})";
        }

        public bool WaitedFor(string instance) => _waitedFor.Contains(instance);

        /// <summary>" (not ready: pg-a: starting)", from the last look; empty when every instance was ready.</summary>
        public string NotReady()
        {
            var waiting = _latest.Where(i => !i.Ready).Select(i => i.Detail.Length == 0 ? i.Name : $"{i.Name}: {i.Detail}").ToList();
            return waiting.Count == 0 ? "" : $" (not ready: {string.Join("; ", waiting)})";
        }
    }

    /// <summary>
    /// Waits until a condition holds and returns the seconds from the last fault to that moment (null when it did not
    /// hold within timeout_seconds). Conditions: all_ready (every web and database instance ready, or kind=...),
    /// primary (a primary is there), new_primary (one other than before the fault), replicas_streaming (count, default
    /// 2), alert_firing (alert).
    /// </summary>
    private static async Task<JsonNode?> WaitForAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var context = call.Context;
        var condition = call.Text("condition") ?? throw new ChaosException("wait_for needs a condition (all_ready, primary, new_primary, replicas_streaming, alert_firing)");
        var timeout = call.Number("timeout_seconds", 60);
        var from = context.LastFaultAt ?? context.Now;
        var previousPrimary = context.State.TryGetValue("primary_before_fault", out var p) ? p as string : null;
        var readiness = condition == "all_ready" ? new ReadinessWatch() : null;
        var idle = readiness is not null ? context.Target as IIdlePriorityCpu : null;
        var bootsBefore = idle?.IdlePriorityBoots().Count ?? 0;
        while (true)
        {
            var met = condition switch
            {
                "all_ready" => await ReadyShortfallAsync(call, readiness!, context.Now - from, cancellationToken) == 0,
                "primary" => (await context.Target.DatabaseRolesAsync(cancellationToken)).Primary is not null,
                "new_primary" => (await context.Target.DatabaseRolesAsync(cancellationToken)).Primary is { } primary && primary != previousPrimary,
                "replicas_streaming" => (await context.Target.DatabaseRolesAsync(cancellationToken)).StreamingReplicas.Count >= (int)call.Number("count", 2),
                "alert_firing" => await AlertStateAsync(call, call.Text("alert") ?? throw new ChaosException("alert_firing needs an alert"), cancellationToken) == "firing",
                _ => throw new ChaosException($"unknown wait_for condition '{condition}' (all_ready, primary, new_primary, replicas_streaming, alert_firing)"),
            };
            var elapsed = context.Now - from;
            if (met)
            {
                // The target reads a booting instance when it sees it ready, which can be a moment after this wait did.
                for (var settle = 0; idle is not null && settle < 20 && idle.IdlePriorityBooting().Any(readiness!.WaitedFor); settle++)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), context.Options.Time, cancellationToken);
                }

                var boots = idle is null ? [] : idle.IdlePriorityBoots().Skip(bootsBefore).Where(b => readiness!.WaitedFor(b.Instance)).ToList();
                context.Event("recovery", string.Create(Invariant, $"{Describe(condition, call)} {elapsed:0.0} s after the fault{readiness?.LastReady()}{BootsAtIdlePriority(boots)}"));
                call.Note = IdleBootNote(boots);
                return Math.Round(elapsed, 1);
            }

            if (elapsed > timeout)
            {
                context.Event("timeout", string.Create(Invariant, $"{Describe(condition, call)}: not within {timeout:0} s{readiness?.NotReady()}"));
                return null;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), context.Options.Time, cancellationToken);
        }

        static string Describe(string condition, FunctionCall call) => condition switch
        {
            "all_ready" => $"all {call.Text("kind") ?? "web and database"} instances ready",
            "primary" => "a primary",
            "new_primary" => "a new primary",
            "replicas_streaming" => "replicas streaming",
            "alert_firing" => $"{call.Text("alert")} firing",
            _ => condition,
        };
    }

    /// <summary>"; booted at idle priority: web-c2 ready after 58.1 s, 6.1 s on a CPU and 40.3 s waiting for one"; empty without boots.</summary>
    private static string BootsAtIdlePriority(List<IdlePriorityBoot> boots) =>
        boots.Count == 0 ? "" : "; booted at idle priority: " + string.Join(", ", boots.Select(Describe));

    private static string Describe(IdlePriorityBoot boot) =>
        string.Create(Invariant, $"{boot.Instance} ready after {boot.Booting.TotalSeconds:0.0} s, {boot.Running.TotalSeconds:0.0} s on a CPU and {boot.Waiting.TotalSeconds:0.0} s waiting for one");

    /// <summary>
    /// Whether the instances a readiness wait waited for were short of CPU while they booted at idle priority, for the
    /// line's explanation should it fail: idle priority yields to every other task, so an instance that waited for a
    /// CPU longer than it ran took as long as the machine's spare CPU allowed. Null without such boots.
    /// </summary>
    internal static string? IdleBootNote(IReadOnlyList<IdlePriorityBoot> boots)
    {
        if (boots.Count == 0)
        {
            return null;
        }

        var starved = boots.Where(b => b.Starved).ToList();
        return starved.Count > 0
            ? $"the instances booting at idle priority waited for a CPU longer than they ran ({string.Join(", ", starved.Select(Describe))}): idle priority yields to all other work, so this time measures the CPU this machine had left beside the load, not the service (a zone of its own machines would not wait)"
            : $"the instances booting at idle priority were not short of CPU ({string.Join(", ", boots.Select(Describe))}): the time is the service's";
    }

    private static Uri PrometheusUrl(FunctionCall call)
    {
        if (call.Text("prometheus_url") is { } url)
        {
            return new Uri(url.TrimEnd('/') + "/");
        }

        if (call.Context.Target is IPrometheusSource source)
        {
            return source.PrometheusUrl;
        }

        throw new ChaosException("give prometheus_url (in the probe's arguments or the configuration) for this target");
    }

    private static async Task<JsonNode?> PrometheusAsync(FunctionCall call, string query, CancellationToken cancellationToken)
    {
        var url = new Uri(PrometheusUrl(call), "api/v1/query?query=" + Uri.EscapeDataString(query));
        using var document = await GetJsonAsync(url, cancellationToken);
        var result = document.RootElement.GetProperty("data").GetProperty("result");
        if (result.ValueKind != JsonValueKind.Array || result.GetArrayLength() == 0)
        {
            return null;
        }

        var text = result[0].GetProperty("value")[1].GetString();
        return double.TryParse(text, NumberStyles.Float, Invariant, out var value) && double.IsFinite(value) ? value : null;
    }

    private static async Task<string> AlertStateAsync(FunctionCall call, string alert, CancellationToken cancellationToken)
    {
        using var document = await GetJsonAsync(new Uri(PrometheusUrl(call), "api/v1/alerts"), cancellationToken);
        var states = document.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray()
            .Where(a => a.GetProperty("labels").TryGetProperty("alertname", out var name) && name.GetString() == alert)
            .Select(a => a.GetProperty("state").GetString())
            .ToList();
        return states.Contains("firing") ? "firing" : states.Contains("pending") ? "pending" : "inactive";
    }

    private static async Task<JsonDocument> GetJsonAsync(Uri url, CancellationToken cancellationToken)
    {
        try
        {
            return JsonDocument.Parse(await Http.GetStringAsync(url, cancellationToken));
        }
        catch (HttpRequestException ex)
        {
            throw new ChaosException($"Prometheus at {url.GetLeftPart(UriPartial.Authority)} did not answer: {ex.Message}");
        }
    }

    private static async Task<JsonNode?> StoreDigestAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var db = call.Text("db") ?? (call.Context.Target as IStoreAccess)?.StoreConnectionString
            ?? throw new ChaosException("store_digest needs db (a connection string) for this target");
        var digest = await StoreDigest.ComputeAsync(db, cancellationToken);
        call.Context.Log.WriteLine(string.Create(Invariant, $"  store: {digest.Songs} songs, {digest.InvalidFiles} invalid files, {digest.SimilarEntries} similar-list entries, digest {digest.Digest[..12]}"));
        return digest.Digest;
    }

    /// <summary>
    /// The writes that prove two servers accepted writes at the same moment (0: never two primaries), from the write
    /// history checked against the database; each overlap is logged with its servers and interval.
    /// </summary>
    private static async Task<JsonNode?> WritesTwoPrimariesAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var verdict = await Writes(call).CheckHistoryAsync(cancellationToken);
        foreach (var overlap in verdict.Overlaps)
        {
            call.Context.Log.WriteLine(string.Create(Invariant,
                $"  two primaries: {overlap.First.Label} and {overlap.Second.Label} from {overlap.From.TotalSeconds:0.00} s to {overlap.To.TotalSeconds:0.00} s of the prober's clock, proven by {overlap.ProvingWrites} writes"));
        }

        call.Context.Log.WriteLine($"  write history: {verdict.Epochs.Count} epochs ({string.Join("; ", verdict.Epochs.Select(e => $"{e.Label}: {e.Writes} writes"))})");
        return verdict.Overlaps.Sum(o => o.ProvingWrites);
    }

    private static WriteProber Writes(FunctionCall call) =>
        call.Context.Writes ?? throw new ChaosException("this probe reads the write prober: add the write_prober control to the experiment");

    private static LabTarget Lab(FunctionCall call, string function) =>
        call.Context.Target as LabTarget ?? throw new ChaosException($"{function} runs on the lab target only (it starts the batch job's workers on this machine; docs/chaos.md)");

    /// <summary>
    /// The zone an action hits: <c>zone</c> as given, or <c>primary</c> for the zone of the database primary at this
    /// moment (remembered, so the undo hits the same zone).
    /// </summary>
    private static async Task<string> ZoneAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var zone = call.Text("zone") ?? throw new ChaosException("this action needs a zone (a, b, c, or primary for the primary's zone)");
        if (zone != "primary")
        {
            return zone;
        }

        if (call.Context.State.TryGetValue("primary_zone", out var remembered) && call.Phase is Phase.Rollback)
        {
            return (string)remembered;
        }

        var primary = (await call.Context.Target.DatabaseRolesAsync(cancellationToken)).Primary
            ?? throw new ChaosException("zone primary: no database primary is running now");
        var instance = (await call.Context.Target.InstancesAsync(cancellationToken)).FirstOrDefault(i => i.Name == primary);
        var found = instance?.Zone ?? throw new ChaosException($"zone primary: the zone of {primary} is not known");
        call.Context.State["primary_zone"] = found;
        return found;
    }

    /// <summary>Runs a timed fault's pending undo now (a rollback); null when there was none to run.</summary>
    private static async Task<JsonNode?> UndoAsync(FunctionCall call, string fault, CancellationToken cancellationToken)
    {
        _ = cancellationToken;
        return await call.Context.UndoNowAsync(fault)
            ? JsonSerializer.SerializeToNode(new { action = fault, detail = "undone by the rollback" })
            : null;
    }

    /// <summary>
    /// Holds a fault for <c>seconds</c> (when given), then undoes it, while the method goes on: the run's probes see
    /// the outage and the return. Without seconds the fault stays until a rollback undoes it.
    /// </summary>
    private static void HoldFor(FunctionCall call, string fault, Func<CancellationToken, Task<FaultReport>> undo)
    {
        if (call.Context.Target.DryRun)
        {
            return;
        }

        var seconds = call.Arguments["seconds"] is { } node ? Experiment.Number(node, "argument seconds") : (double?)null;
        call.Context.ScheduleUndo(fault, seconds is { } s ? TimeSpan.FromSeconds(s) : Timeout.InfiniteTimeSpan, undo);
    }

    private static async Task<JsonNode?> ZoneOutageAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var zones = call.Context.Target.Require<IZoneFaults>("zone_outage");
        var zone = await ZoneAsync(call, cancellationToken);
        call.Context.State["primary_before_fault"] = (await call.Context.Target.DatabaseRolesAsync(cancellationToken)).Primary ?? "";
        var report = await zones.ZoneOutageAsync(zone, cancellationToken);
        HoldFor(call, "zone_outage", t => zones.RestoreZoneAsync(zone, t));
        return Fault(call, report with { Detail = report.Detail + HeldFor(call) });
    }

    private static async Task<JsonNode?> PartitionZoneAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var zones = call.Context.Target.Require<IZoneFaults>("partition_zone");
        var zone = await ZoneAsync(call, cancellationToken);
        var scope = call.Text("from") ?? "zones";
        if (scope is not ("zones" or "all"))
        {
            throw new ChaosException($"partition_zone: from must be zones (the other zones) or all (also the load balancer), not '{scope}'");
        }

        call.Context.State["primary_before_fault"] = (await call.Context.Target.DatabaseRolesAsync(cancellationToken)).Primary ?? "";
        var report = await zones.PartitionZoneAsync(zone, scope == "all", cancellationToken);
        HoldFor(call, "partition_zone", t => zones.HealPartitionAsync(zone, t));
        return Fault(call, report with { Detail = report.Detail + HeldFor(call) });
    }

    private static async Task<JsonNode?> DegradeNetworkAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var network = call.Context.Target.Require<INetworkFaults>("degrade_network");
        var zone = await ZoneAsync(call, cancellationToken);
        call.Context.State["traffic_at_fault"] = call.Context.Target is ICpuFaults traffic ? await traffic.RequestsByInstanceAsync(cancellationToken) : new Dictionary<string, long>();
        var report = await network.DegradeZoneNetworkAsync(zone, call.Number("delay_ms", 100), call.Number("jitter_ms", 0), call.Number("loss_percent", 0), cancellationToken);
        HoldFor(call, "degrade_network", t => network.RestoreZoneNetworkAsync(zone, t));
        return Fault(call, report with { Detail = report.Detail + HeldFor(call) });
    }

    private static string HeldFor(FunctionCall call) =>
        call.Arguments["seconds"] is { } node ? string.Create(Invariant, $"; held for {Experiment.Number(node, "argument seconds"):0} s") : "; held until the rollback";

    private static async Task<JsonNode?> StressCpuAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var cpu = call.Context.Target.Require<ICpuFaults>("stress_cpu");
        var instance = call.Text("instance") ?? cpu.WebInstances[0];
        call.Context.State["traffic_at_fault"] = await cpu.RequestsByInstanceAsync(cancellationToken);
        var report = await cpu.StressCpuAsync(instance, call.Number("cores", 0.05), (int)call.Number("workers", 2), TimeSpan.FromSeconds(call.Number("seconds", 60)), cancellationToken);
        return Fault(call, report);
    }

    /// <summary>
    /// The share of the requests the load balancer sent since the fault to one web instance (<c>instance</c>) or to every
    /// instance of a zone (<c>zone</c>, or primary for the zone that held the primary at the fault).
    /// </summary>
    private static async Task<JsonNode?> TrafficShareAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var traffic = call.Context.Target.Require<ICpuFaults>("traffic_share");
        var zone = call.Text("zone") is { } given ? (given == "primary" && call.Context.State.TryGetValue("primary_zone", out var z) ? (string)z : given) : null;
        var instance = call.Text("instance") ?? traffic.WebInstances[0];
        var now = await traffic.RequestsByInstanceAsync(cancellationToken);
        var then = call.Context.State.TryGetValue("traffic_at_fault", out var t) ? (IReadOnlyDictionary<string, long>)t : new Dictionary<string, long>();
        var total = now.Sum(kv => kv.Value - then.GetValueOrDefault(kv.Key));
        var mine = now.Where(kv => zone is null ? kv.Key == instance : kv.Key.StartsWith($"web-{zone}", StringComparison.Ordinal))
            .Sum(kv => kv.Value - then.GetValueOrDefault(kv.Key));
        var members = zone is null ? 1 : now.Keys.Count(k => k.StartsWith($"web-{zone}", StringComparison.Ordinal));
        var share = total == 0 ? 0 : (double)mine / total;
        var who = zone is null ? instance : $"zone {zone}'s {members} instances";
        call.Context.Log.WriteLine(string.Create(Invariant, $"  {who} got {mine} of {total} requests since the fault ({share:P1}; an even share is {(double)members / Math.Max(1, now.Count):P1})"));
        return Math.Round(share, 4);
    }

    private static JsonNode? FaultMeasurement(FunctionCall call)
    {
        var action = call.Text("action") ?? throw new ChaosException("fault_measurement needs the action whose report it reads");
        var name = call.Text("name") ?? throw new ChaosException("fault_measurement needs the measurement's name");
        if (!call.Context.Faults.TryGetValue(action, out var report))
        {
            throw new ChaosException($"fault_measurement: {action} has not run yet");
        }

        return report.Measurements.TryGetValue(name, out var value) ? Math.Round(value, 3)
            : throw new ChaosException($"fault_measurement: {action} measured {string.Join(", ", report.Measurements.Keys)}, not {name}");
    }

    private static async Task<JsonNode?> BatchRunAsync(FunctionCall call, CancellationToken cancellationToken)
    {
        var lab = Lab(call, "batch_run_with_kills");
        var settings = new BatchRunSettings((int)call.Number("files", 2000), (int)call.Number("shards", 4), (int)call.Number("kills", 3), (int)call.Number("batch", 50));
        if (lab.DryRun)
        {
            return $"dry run: would run {settings.Shards} shard workers over {settings.Files} files twice, killing {settings.Kills} at random moments in the second run";
        }

        var outcome = await new LabBatchRun(lab, settings, call.Context.Random, (kind, text) =>
        {
            if (kind == "fault")
            {
                call.Context.LastFaultAt = call.Context.Now;
            }

            call.Context.Event(kind, text);
        }, call.Context.Log).RunAsync(cancellationToken);
        call.Context.State["batch"] = outcome;
        call.Context.Log.WriteLine(string.Create(Invariant,
            $"  clean run {outcome.CleanSeconds:0.0} s, digest {outcome.Clean.Digest[..12]} ({outcome.Clean.Songs} songs); with {outcome.KillsMade} kills and {outcome.Restarts} restarts {outcome.KilledSeconds:0.0} s, digest {outcome.Killed.Digest[..12]} ({outcome.Killed.Songs} songs)"));
        return JsonSerializer.SerializeToNode(new
        {
            clean_completed = outcome.CleanCompleted,
            killed_completed = outcome.KilledCompleted,
            kills = outcome.KillsMade,
            restarts = outcome.Restarts,
            clean_seconds = Math.Round(outcome.CleanSeconds, 1),
            killed_seconds = Math.Round(outcome.KilledSeconds, 1),
            clean = outcome.Clean,
            killed = outcome.Killed,
            equal = outcome.Equal,
        });
    }

    private static JsonNode? BatchResult(FunctionCall call)
    {
        if (!call.Context.State.TryGetValue("batch", out var value) || value is not BatchOutcome outcome)
        {
            throw new ChaosException("batch_result: batch_run_with_kills has not run yet");
        }

        return (call.Text("field") ?? "equal") switch
        {
            "equal" => outcome.Equal,
            "completed" => outcome.CleanCompleted && outcome.KilledCompleted,
            "kills" => outcome.KillsMade,
            "restarts" => outcome.Restarts,
            "songs" => outcome.Killed.Songs,
            "lost_songs" => outcome.Clean.Songs - outcome.Killed.Songs,
            var field => throw new ChaosException($"batch_result field must be equal, completed, kills, restarts, songs or lost_songs, not '{field}'"),
        };
    }

    private static JsonNode? Fault(FunctionCall call, FaultReport report, bool fault = true)
    {
        var context = call.Context;
        context.Faults[report.Action] = report;
        if (fault && !context.Target.DryRun)
        {
            context.LastFaultAt = context.Now;
        }

        context.Event(fault ? "fault" : "rollback", report.Detail);
        return JsonSerializer.SerializeToNode(new { action = report.Action, hit = report.Hit, detail = report.Detail, measurements = report.Measurements, labels = report.Labels });
    }
}
