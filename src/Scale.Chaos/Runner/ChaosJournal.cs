using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Scale.Chaos.Runner;

/// <summary>
/// The journal of a run in Chaos Toolkit's shape (experiment, start, end, duration, status, deviated,
/// steady_states.before/after/during, run, rollbacks), so tools that read Chaos Toolkit journals read it; Scale's
/// evidence (a verdict per hypothesis line and phase, the timeline of faults and recoveries, the load's seconds) is in
/// <c>extensions[name=scale]</c>.
/// </summary>
public static class ChaosJournal
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    internal static JsonObject Build(ChaosResult result, JsonObject? before, JsonObject? after, JsonArray during, JsonArray runs, JsonArray rollbacks)
    {
        var load = result.Load;
        var scale = new JsonObject
        {
            ["name"] = "scale",
            ["target"] = result.Target,
            ["short"] = result.ShortForm,
            ["seed"] = result.Seed,
            ["hypothesis_held"] = result.HypothesisHeld,
            ["verdicts"] = new JsonArray(result.Verdicts.Select(v => (JsonNode)new JsonObject
            {
                ["line"] = v.Line,
                ["phase"] = v.Phase.ToString().ToLowerInvariant(),
                ["measured"] = v.Measured,
                ["tolerance"] = v.Tolerance,
                ["met"] = v.Met,
                ["explanation"] = v.Explanation,
            }).ToArray()),
            ["timeline"] = new JsonArray(result.Timeline.Select(e => (JsonNode)new JsonObject { ["at"] = e.At, ["kind"] = e.Kind, ["text"] = e.Text }).ToArray()),
            ["writes"] = result.Writes?.DeepClone(),
            ["load"] = load is null ? null : new JsonObject
            {
                ["target_rps"] = result.TargetRate,
                ["started_at"] = Math.Round(result.LoadStartedAt, 2),
                ["due"] = load.Due,
                ["completed"] = load.Completed,
                ["errors"] = load.ErrorCount,
                ["dropped"] = load.Dropped,
                ["errors_by_kind"] = JsonSerializer.SerializeToNode(load.Errors),
                ["status_codes"] = JsonSerializer.SerializeToNode(load.StatusCodes.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value)),
                ["p50_ms"] = load.Latency.P50Ms,
                ["p99_ms"] = load.Latency.P99Ms,
                ["max_ms"] = load.Latency.MaxMs,
                ["cpu_share_of_one_core"] = Math.Round(load.CpuShareOfOneCore, 3),
            },
            ["series"] = new JsonArray(result.Series.Select(s => (JsonNode)new JsonObject
            {
                ["second"] = s.Second,
                ["due"] = s.Due,
                ["completed"] = s.Completed,
                ["dropped"] = s.Dropped,
                ["errors"] = s.ErrorCount,
                ["p50_ms"] = s.Latency.P50Ms,
                ["p99_ms"] = s.Latency.P99Ms,
                ["max_ms"] = s.Latency.MaxMs,
            }).ToArray()),
        };
        return new JsonObject
        {
            ["chaoslib-version"] = null,
            ["scale-version"] = typeof(ChaosJournal).Assembly.GetName().Version?.ToString(),
            ["platform"] = RuntimeInformation.OSDescription,
            ["node"] = Environment.MachineName,
            ["experiment"] = result.Experiment.Document.DeepClone(),
            ["start"] = result.Start.ToString("O", CultureInfo.InvariantCulture),
            ["end"] = result.End.ToString("O", CultureInfo.InvariantCulture),
            ["duration"] = Math.Round((result.End - result.Start).TotalSeconds, 3),
            ["status"] = result.Status,
            ["deviated"] = result.Deviated,
            ["steady_states"] = new JsonObject { ["before"] = before, ["after"] = after, ["during"] = during },
            ["run"] = runs,
            ["rollbacks"] = rollbacks,
            ["extensions"] = new JsonArray(scale),
        };
    }

    public static void Write(ChaosResult result, string path)
    {
        ArgumentNullException.ThrowIfNull(result);
        File.WriteAllText(path, result.Journal.ToJsonString(Indented));
    }
}
