using System.Globalization;
using System.Text.Json.Nodes;

namespace Scale.Chaos.Experiments;

/// <summary>The verdict on one measured value: met or not, and why, in words.</summary>
public sealed record ToleranceVerdict(bool Met, string Explanation);

/// <summary>
/// A hypothesis line's tolerance. Chaos Toolkit's: a literal (bool, number, string: equal), a list (one of), an object
/// <c>{"type": "range", "range": [min, max]}</c> (inclusive; <c>null</c> for an open end). Scale's:
/// <c>{"type": "relative-to-before", "max-factor": 2, "min-factor": 1.5, "floor": 25}</c> (the value against the same
/// line's steady-state value before the method; <c>floor</c> is an absolute bound below which any value passes, so a
/// 1 ms baseline does not turn 2.5 ms into a failure) and <c>{"type": "equals-before"}</c>. A probe whose output is an
/// object with a <c>status</c> (http, process) is judged on its status.
/// </summary>
public abstract record Tolerance
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Whether it needs the line's value before the method.</summary>
    public virtual bool UsesBefore => false;

    public abstract ToleranceVerdict Check(JsonNode? value, JsonNode? before);

    /// <summary>How it reads in the report.</summary>
    public abstract string Describe();

    internal static Tolerance From(JsonNode node) => node switch
    {
        JsonArray list => new OneOf(list.Select(v => v?.DeepClone()).ToList()),
        JsonObject obj => (obj["type"]?.GetValue<string>()) switch
        {
            "range" => Range.From(obj),
            "relative-to-before" => new RelativeToBefore(
                Optional(obj, "max-factor"), Optional(obj, "min-factor"), Optional(obj, "floor") ?? 0),
            "equals-before" => new EqualsBefore(),
            var other => throw new ChaosException($"unknown tolerance type '{other}' (range, relative-to-before, equals-before, or a literal or list)"),
        },
        JsonValue literal => new Equal(literal.DeepClone()),
        _ => throw new ChaosException("a tolerance is a value, a list or an object"),
    };

    internal static JsonNode? Judged(JsonNode? value) =>
        value is JsonObject obj && obj["status"] is { } status ? status : value;

    // Whatever .NET type is behind the value (an int from a counter, a double from a ratio, a parsed JSON number).
    internal static double? AsNumber(JsonNode? node) => node switch
    {
        JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.Number
            && double.TryParse(value.ToJsonString(), NumberStyles.Float, Invariant, out var number) && double.IsFinite(number) => number,
        JsonValue value when value.GetValueKind() is System.Text.Json.JsonValueKind.True => 1,
        JsonValue value when value.GetValueKind() is System.Text.Json.JsonValueKind.False => 0,
        _ => null,
    };

    internal static string Show(JsonNode? node) => node switch
    {
        null => "no value",
        JsonValue v when AsNumber(v) is { } d && v.GetValueKind() == System.Text.Json.JsonValueKind.Number => d.ToString("0.####", Invariant),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    private static double? Optional(JsonObject obj, string key) =>
        obj[key] is { } node ? Experiment.Number(node, key) : null;

    private sealed record Equal(JsonNode Expected) : Tolerance
    {
        public override ToleranceVerdict Check(JsonNode? value, JsonNode? before)
        {
            var judged = Judged(value);
            var met = JsonNode.DeepEquals(judged, Expected)
                || (AsNumber(judged) is { } a && AsNumber(Expected) is { } b && a == b);
            return new ToleranceVerdict(met, $"{Show(judged)} {(met ? "=" : "≠")} {Show(Expected)}");
        }

        public override string Describe() => $"= {Show(Expected)}";
    }

    private sealed record OneOf(List<JsonNode?> Values) : Tolerance
    {
        public override ToleranceVerdict Check(JsonNode? value, JsonNode? before)
        {
            var judged = Judged(value);
            var met = Values.Any(v => JsonNode.DeepEquals(v, judged) || (AsNumber(v) is { } a && AsNumber(judged) is { } b && a == b));
            return new ToleranceVerdict(met, $"{Show(judged)} {(met ? "in" : "not in")} {Describe()}");
        }

        public override string Describe() => "[" + string.Join(", ", Values.Select(Show)) + "]";
    }

    private sealed record Range(double? Min, double? Max) : Tolerance
    {
        public static Range From(JsonObject obj)
        {
            if (obj["range"] is not JsonArray { Count: 2 } bounds)
            {
                throw new ChaosException("a range tolerance needs \"range\": [min, max]");
            }

            var min = bounds[0] is null ? (double?)null : Experiment.Number(bounds[0], "range[0]");
            var max = bounds[1] is null ? (double?)null : Experiment.Number(bounds[1], "range[1]");
            if (min > max)
            {
                throw new ChaosException($"range [{min}, {max}] is empty");
            }

            return new Range(min, max);
        }

        public override ToleranceVerdict Check(JsonNode? value, JsonNode? before)
        {
            if (AsNumber(Judged(value)) is not { } number)
            {
                return new ToleranceVerdict(false, $"{Show(Judged(value))}, not a number in {Describe()}");
            }

            var met = (Min is null || number >= Min) && (Max is null || number <= Max);
            return new ToleranceVerdict(met, $"{Show(Judged(value))} {(met ? "in" : "outside")} {Describe()}");
        }

        public override string Describe() =>
            string.Create(Invariant, $"[{(Min is { } min ? min.ToString("0.####", Invariant) : "-∞")}, {(Max is { } max ? max.ToString("0.####", Invariant) : "∞")}]");
    }

    private sealed record RelativeToBefore(double? MaxFactor, double? MinFactor, double Floor) : Tolerance
    {
        public override bool UsesBefore => true;

        public override ToleranceVerdict Check(JsonNode? value, JsonNode? before)
        {
            if (AsNumber(Judged(value)) is not { } number)
            {
                return new ToleranceVerdict(false, $"{Show(Judged(value))}, not a number");
            }

            if (AsNumber(Judged(before)) is not { } reference)
            {
                return new ToleranceVerdict(false, "no steady-state value before the method to compare with");
            }

            if (MaxFactor is { } max)
            {
                var bound = Math.Max(reference * max, Floor);
                var met = number <= bound;
                return new ToleranceVerdict(met, string.Create(Invariant, $"{number:0.###} {(met ? "≤" : ">")} {bound:0.###} (max({max}× before {reference:0.###}, floor {Floor}))"));
            }

            var least = reference * (MinFactor ?? 1);
            var risen = number >= least;
            return new ToleranceVerdict(risen, string.Create(Invariant, $"{number:0.###} {(risen ? "≥" : "<")} {least:0.###} ({MinFactor ?? 1}× before {reference:0.###})"));
        }

        public override string Describe() => MaxFactor is { } max
            ? string.Create(Invariant, $"≤ max({max}× before, {Floor})")
            : string.Create(Invariant, $"≥ {MinFactor ?? 1}× before");
    }

    private sealed record EqualsBefore : Tolerance
    {
        public override bool UsesBefore => true;

        public override ToleranceVerdict Check(JsonNode? value, JsonNode? before)
        {
            var met = before is not null && JsonNode.DeepEquals(Judged(value), Judged(before));
            return new ToleranceVerdict(met, met ? $"{Show(Judged(value))}, as before" : $"{Show(Judged(value))}, before it was {Show(Judged(before))}");
        }

        public override string Describe() => "= the value before the method";
    }
}
