using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Scale.Chaos.Experiments;

/// <summary>
/// An experiment in the Chaos Toolkit format (https://chaostoolkit.org/reference/api/experiment/): title,
/// description, tags, configuration, controls, steady-state-hypothesis, method, rollbacks. Values of the form
/// <c>${key}</c> are taken from the configuration; with <c>--short</c>, the configuration is first overlaid with the
/// experiment's <c>extensions[name=scale].short</c> object. Scale's additions are listed in docs/chaos.md.
/// </summary>
public sealed partial class Experiment
{
    private Experiment(string source, JsonObject document)
    {
        Source = source;
        Document = document;
        Title = RequiredString(document, "title", "");
        Description = document["description"]?.GetValue<string>() ?? "";
        Tags = document["tags"] is JsonArray tags ? tags.Select(t => t?.GetValue<string>() ?? "").ToList() : [];
        Configuration = document["configuration"] as JsonObject ?? [];
        Controls = Activities(document["controls"], "controls", control: true);
        if (document["steady-state-hypothesis"] is JsonObject hypothesis)
        {
            HypothesisTitle = hypothesis["title"]?.GetValue<string>() ?? "";
            Hypothesis = Activities(hypothesis["probes"], "steady-state-hypothesis.probes");
            foreach (var probe in Hypothesis)
            {
                if (probe.Type != ActivityType.Probe || probe.Tolerance is null)
                {
                    throw Invalid($"{probe.Path}: a steady-state line is a probe with a tolerance");
                }
            }
        }
        else
        {
            HypothesisTitle = "";
            Hypothesis = [];
        }

        Method = Activities(document["method"], "method");
        if (Method.Count == 0)
        {
            throw Invalid("method: an experiment needs at least one activity");
        }

        Rollbacks = Activities(document["rollbacks"], "rollbacks");
    }

    /// <summary>The file it was read from (for messages).</summary>
    public string Source { get; }

    /// <summary>The experiment after the short overlay and substitution, as it is copied into the journal.</summary>
    public JsonObject Document { get; }

    public string Title { get; }

    public string Description { get; }

    public IReadOnlyList<string> Tags { get; }

    public JsonObject Configuration { get; }

    public IReadOnlyList<Activity> Controls { get; }

    public string HypothesisTitle { get; }

    public IReadOnlyList<Activity> Hypothesis { get; }

    public IReadOnlyList<Activity> Method { get; }

    public IReadOnlyList<Activity> Rollbacks { get; }

    /// <summary>Reads an experiment file (JSON), with its short form when <paramref name="shortForm"/>.</summary>
    public static Experiment Load(string path, bool shortForm)
    {
        if (!File.Exists(path))
        {
            throw new ChaosException($"no experiment file at {path}");
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new ChaosException($"{path} is not valid JSON: {ex.Message}");
        }

        return Parse(path, node as JsonObject ?? throw new ChaosException($"{path}: an experiment is a JSON object"), shortForm);
    }

    /// <summary>Reads an experiment from its JSON document.</summary>
    public static Experiment Parse(string source, JsonObject document, bool shortForm)
    {
        ArgumentNullException.ThrowIfNull(document);
        var copy = (JsonObject)document.DeepClone();
        var configuration = copy["configuration"] as JsonObject ?? [];
        if (shortForm)
        {
            var overlay = (copy["extensions"] as JsonArray)?.OfType<JsonObject>()
                .FirstOrDefault(e => e["name"]?.GetValue<string>() == "scale")?["short"] as JsonObject;
            if (overlay is null)
            {
                throw new ChaosException($"{source}: --short needs extensions[name=scale].short in the experiment");
            }

            foreach (var (key, value) in overlay)
            {
                configuration[key] = value?.DeepClone();
            }
        }

        foreach (var (key, value) in configuration.ToList())
        {
            // Chaos Toolkit's environment form: {"type": "env", "key": "NAME", "default": ...}.
            if (value is JsonObject { } env && env["type"]?.GetValue<string>() == "env")
            {
                var name = env["key"]?.GetValue<string>() ?? throw new ChaosException($"{source}: configuration.{key}: an env value needs a key");
                configuration[key] = Environment.GetEnvironmentVariable(name) is { } text ? JsonValue.Create(text) : env["default"]?.DeepClone()
                    ?? throw new ChaosException($"{source}: configuration.{key}: environment variable {name} is not set and there is no default");
            }
        }

        copy["configuration"] = configuration;
        foreach (var (key, value) in copy.ToList())
        {
            if (key is not ("configuration" or "extensions"))
            {
                copy[key] = Substitute(value, configuration, source);
            }
        }

        try
        {
            return new Experiment(source, copy);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            throw new ChaosException($"{source}: {ex.Message}");
        }
    }

    /// <summary>A configuration value as a number (for the runner's own settings).</summary>
    public double ConfigurationNumber(string key, double fallback) =>
        Configuration[key] is JsonValue value && Tolerance.AsNumber(value) is { } number ? number : fallback;

    private ChaosException Invalid(string message) => new($"{Source}: {message}");

    private List<Activity> Activities(JsonNode? node, string path, bool control = false)
    {
        if (node is null)
        {
            return [];
        }

        if (node is not JsonArray array)
        {
            throw Invalid($"{path} must be a list");
        }

        var result = new List<Activity>();
        for (var i = 0; i < array.Count; i++)
        {
            var item = array[i] as JsonObject ?? throw Invalid($"{path}[{i}] must be an object");
            result.Add(Activity.From(item, $"{path}[{i}]", control, Invalid));
        }

        return result;
    }

    private static string RequiredString(JsonObject node, string key, string path) =>
        node[key] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0
            ? text
            : throw new ChaosException($"{(path.Length == 0 ? "" : path + ".")}{key} is required");

    private static JsonNode? Substitute(JsonNode? node, JsonObject configuration, string source)
    {
        switch (node)
        {
            case JsonObject obj:
                var result = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    result[key] = Substitute(value, configuration, source);
                }

                return result;
            case JsonArray array:
                return new JsonArray(array.Select(item => Substitute(item, configuration, source)).ToArray());
            case JsonValue value when value.TryGetValue<string>(out var text) && text.Contains("${", StringComparison.Ordinal):
                var whole = WholeReference().Match(text);
                if (whole.Success)
                {
                    // "${rps}" alone keeps the configuration value's type (a number stays a number).
                    return Lookup(whole.Groups[1].Value).DeepClone();
                }

                return JsonValue.Create(Reference().Replace(text, m => Lookup(m.Groups[1].Value) switch
                {
                    JsonValue v when v.TryGetValue<string>(out var s) => s,
                    var v => v.ToJsonString(),
                }));
            default:
                return node?.DeepClone();
        }

        JsonNode Lookup(string key) => configuration[key] ?? throw new ChaosException($"{source}: ${{{key}}} is used but configuration.{key} is not set");
    }

    [GeneratedRegex(@"^\$\{([A-Za-z0-9_\-]+)\}$")]
    private static partial Regex WholeReference();

    [GeneratedRegex(@"\$\{([A-Za-z0-9_\-]+)\}")]
    private static partial Regex Reference();

    internal static double Number(JsonNode? node, string what)
    {
        if (node is JsonValue value)
        {
            if (Tolerance.AsNumber(value) is { } number && value.GetValueKind() == JsonValueKind.Number)
            {
                return number;
            }

            if (value.TryGetValue<string>(out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
            {
                return parsed;
            }
        }

        throw new ChaosException($"{what} must be a number, not {node?.ToJsonString() ?? "nothing"}");
    }
}

public enum ActivityType
{
    Action,
    Probe,
}

/// <summary>
/// A probe or an action: its provider (Scale's own functions, or Chaos Toolkit's http and process providers),
/// its tolerance when it is a hypothesis line, and Scale's additions: <c>during</c> (check the line continuously
/// during the method, with an allowed degradation) and tolerances on method probes (checked once).
/// </summary>
public sealed record Activity
{
    public required string Path { get; init; }

    public required ActivityType Type { get; init; }

    public required string Name { get; init; }

    public required Provider Provider { get; init; }

    public Tolerance? Tolerance { get; init; }

    public double PauseBefore { get; init; }

    public double PauseAfter { get; init; }

    public bool Background { get; init; }

    /// <summary>Checked every second during the method; it may fail for this many consecutive seconds (null: not checked during).</summary>
    public double? AllowedDegradationSeconds { get; init; }

    /// <summary>The activity as written (after substitution), for the journal.</summary>
    public required JsonObject Raw { get; init; }

    internal static Activity From(JsonObject item, string path, bool control, Func<string, ChaosException> invalid)
    {
        var name = item["name"]?.GetValue<string>() ?? throw invalid($"{path}.name is required");
        var type = control ? ActivityType.Action : item["type"]?.GetValue<string>() switch
        {
            "action" => ActivityType.Action,
            "probe" => ActivityType.Probe,
            var other => throw invalid($"{path} ({name}): type must be action or probe, not '{other}'"),
        };
        var providerNode = item["provider"] as JsonObject ?? throw invalid($"{path} ({name}): provider is required");
        Provider provider;
        try
        {
            provider = Provider.From(providerNode);
        }
        catch (ChaosException ex)
        {
            throw invalid($"{path} ({name}).provider: {ex.Message}");
        }

        Tolerance? tolerance = null;
        if (item["tolerance"] is { } toleranceNode)
        {
            try
            {
                tolerance = Tolerance.From(toleranceNode);
            }
            catch (ChaosException ex)
            {
                throw invalid($"{path} ({name}).tolerance: {ex.Message}");
            }
        }

        double? degradation = null;
        if (item["during"] is JsonObject during)
        {
            degradation = during["allowed-degradation-seconds"] is { } seconds ? Experiment.Number(seconds, $"{path}.during.allowed-degradation-seconds") : 0;
        }

        var pauses = item["pauses"] as JsonObject;
        return new Activity
        {
            Path = path,
            Type = type,
            Name = name,
            Provider = provider,
            Tolerance = tolerance,
            PauseBefore = pauses?["before"] is { } before ? Experiment.Number(before, $"{path}.pauses.before") : 0,
            PauseAfter = pauses?["after"] is { } after ? Experiment.Number(after, $"{path}.pauses.after") : 0,
            Background = item["background"]?.GetValue<bool>() ?? false,
            AllowedDegradationSeconds = degradation,
            Raw = item,
        };
    }
}

/// <summary>Where an activity's work is done: <c>scale</c> (a function of Scale's, by name), <c>http</c> or <c>process</c> (Chaos Toolkit's).</summary>
public sealed record Provider(string Type, string Function, JsonObject Arguments, JsonObject Raw)
{
    internal static Provider From(JsonObject node)
    {
        var type = node["type"]?.GetValue<string>() ?? throw new ChaosException("type is required (scale, http or process)");
        var arguments = node["arguments"] as JsonObject ?? [];
        return type switch
        {
            "scale" => new Provider(type, node["func"]?.GetValue<string>() ?? throw new ChaosException("a scale provider names its func"), arguments, node),
            "http" => new Provider(type, node["url"]?.GetValue<string>() ?? throw new ChaosException("an http provider needs a url"), arguments, node),
            "process" => new Provider(type, node["path"]?.GetValue<string>() ?? throw new ChaosException("a process provider needs a path"), arguments, node),
            "python" => throw new ChaosException($"python providers ({node["module"]}) run in Chaos Toolkit itself; Scale runs scale, http and process providers (docs/chaos.md)"),
            _ => throw new ChaosException($"unknown provider type '{type}' (scale, http or process)"),
        };
    }
}
