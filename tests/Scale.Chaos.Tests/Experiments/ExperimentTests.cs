using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Scale.Chaos.Experiments;
using Scale.Chaos.Runner;
using Scale.Testing;

namespace Scale.Chaos.Tests.Experiments;

/// <summary>
/// The experiment format: the shipped experiments in both forms, <c>${key}</c> substitution, the short overlay,
/// environment values, and the validation messages a person fixes an experiment from.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ExperimentTests
{
    private static string ExperimentsFolder => Path.Join(Checkout.Root, "deploy", "chaos", "experiments");

    public static TheoryData<string> ShippedExperiments()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(ExperimentsFolder, "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public void ShippedExperiments_Folder_HoldsTheFourExperiments()
    {
        var names = Directory.GetFiles(ExperimentsFolder, "*.json").Select(f => Path.GetFileName(f)).ToHashSet(StringComparer.Ordinal);

        Assert.Superset(new HashSet<string>(StringComparer.Ordinal) { "batch-worker-loss.json", "cpu-exhaustion.json", "primary-loss.json", "zone-loss.json" }, names);
        Assert.Equal(names.Count, ShippedExperiments().Count);
    }

    [Theory]
    [MemberData(nameof(ShippedExperiments))]
    public void Load_ShippedExperimentInBothForms_HasHypothesisMethodAndADifferentShortConfiguration(string file)
    {
        var path = Path.Join(ExperimentsFolder, file);

        var full = Experiment.Load(path, shortForm: false);
        var brief = Experiment.Load(path, shortForm: true);

        foreach (var experiment in new[] { full, brief })
        {
            Assert.False(string.IsNullOrWhiteSpace(experiment.Title));
            Assert.False(string.IsNullOrWhiteSpace(experiment.HypothesisTitle));
            Assert.NotEmpty(experiment.Hypothesis);
            Assert.All(experiment.Hypothesis, probe => Assert.NotNull(probe.Tolerance));
            Assert.NotEmpty(experiment.Method);
        }

        Assert.Equal(full.Title, brief.Title);
        Assert.Equal(full.Method.Select(a => a.Name), brief.Method.Select(a => a.Name));
        Assert.NotEqual(full.Configuration.ToJsonString(), brief.Configuration.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(ShippedExperiments))]
    public void Load_ShippedExperimentInBothForms_LeavesNoReferenceUnresolved(string file)
    {
        foreach (var shortForm in new[] { false, true })
        {
            var experiment = Experiment.Load(Path.Join(ExperimentsFolder, file), shortForm);

            foreach (var (key, value) in experiment.Document)
            {
                if (key is not ("configuration" or "extensions"))
                {
                    Assert.DoesNotContain("${", value?.ToJsonString() ?? "", StringComparison.Ordinal);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(ShippedExperiments))]
    public void Load_ShortForm_ReplacesEveryWholeReferenceWithTheShortValue(string file)
    {
        var path = Path.Join(ExperimentsFolder, file);
        var original = (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
        var overlay = (JsonObject)((JsonArray)original["extensions"]!).OfType<JsonObject>().Single(e => e["name"]?.GetValue<string>() == "scale")["short"]!;

        var brief = Experiment.Load(path, shortForm: true);

        Assert.All(overlay, entry => Assert.True(JsonNode.DeepEquals(entry.Value, brief.Configuration[entry.Key]), $"configuration.{entry.Key} is {brief.Configuration[entry.Key]?.ToJsonString()}, the short form says {entry.Value?.ToJsonString()}"));
        var references = 0;
        foreach (var (key, value) in original)
        {
            if (key is not ("configuration" or "extensions"))
            {
                references += CompareReferences(value, brief.Document[key], brief.Configuration, key);
            }
        }

        Assert.True(references > 0, $"{file} uses no ${{...}} reference");
    }

    [Fact]
    public void Load_ZoneLoss_TakesTheLoadAndPausesFromTheFormAskedFor()
    {
        var path = Path.Join(ExperimentsFolder, "zone-loss.json");

        var full = Experiment.Load(path, shortForm: false);
        var brief = Experiment.Load(path, shortForm: true);

        var fullRps = full.Controls.Single(c => c.Provider.Function == "load").Provider.Arguments["rps"]!;
        var shortRps = brief.Controls.Single(c => c.Provider.Function == "load").Provider.Arguments["rps"]!;
        Assert.Equal(JsonValueKind.Number, fullRps.GetValueKind());
        Assert.Equal(JsonValueKind.Number, shortRps.GetValueKind());
        Assert.Equal(500, fullRps.GetValue<double>());
        Assert.Equal(200, shortRps.GetValue<double>());
        Assert.Equal(230, full.Method[^1].PauseAfter);
        Assert.Equal(45, brief.Method[^1].PauseAfter);
        Assert.Equal(500, full.ConfigurationNumber("rps", 0));
        Assert.Equal(200, brief.ConfigurationNumber("rps", 0));
        // Not in the short overlay: the same in both forms.
        var p99 = brief.Hypothesis.Single(p => p.Name == "p99-latency-ms");
        Assert.Equal(30, p99.AllowedDegradationSeconds);
        Assert.Equal("[0, 30]", brief.Method.Single(a => a.Name == "instances-self-heal-seconds").Tolerance!.Describe());
        Assert.Equal("a", brief.Method[0].Provider.Arguments["zone"]!.GetValue<string>());
    }

    [Fact]
    public void Load_CpuExhaustion_SubstitutesInsideALongerString()
    {
        var experiment = Experiment.Load(Path.Join(ExperimentsFolder, "cpu-exhaustion.json"), shortForm: true);

        var query = experiment.Method.Single(a => a.Name == "starved-instance-p99-ms").Provider.Arguments["query"]!.GetValue<string>();

        Assert.Contains("component=\"web-a1\"", query, StringComparison.Ordinal);
        Assert.DoesNotContain("${", query, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ShippedExperiments_UseOnlyScaleFunctionsThatExist()
    {
        var unknown = new List<string>();
        var used = 0;
        foreach (var path in Directory.GetFiles(ExperimentsFolder, "*.json"))
        {
            var experiment = Experiment.Load(path, shortForm: false);
            foreach (var control in experiment.Controls)
            {
                used++;
                if (!Functions.ControlNames.Contains(control.Provider.Function))
                {
                    unknown.Add($"{Path.GetFileName(path)} {control.Path}: control {control.Provider.Function}");
                }

                // Safeguard probes are activities inside a control's arguments.
                foreach (var probe in (control.Provider.Arguments["probes"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    if (probe["provider"]?["type"]?.GetValue<string>() == "scale" && probe["provider"]?["func"]?.GetValue<string>() is { } func)
                    {
                        used++;
                        if (!Functions.Names.Contains(func))
                        {
                            unknown.Add($"{Path.GetFileName(path)} {control.Path} safeguard {probe["name"]}: {func}");
                        }
                    }
                }
            }

            foreach (var activity in experiment.Hypothesis.Concat(experiment.Method).Concat(experiment.Rollbacks).Where(a => a.Provider.Type == "scale"))
            {
                used++;
                if (!Functions.Names.Contains(activity.Provider.Function))
                {
                    unknown.Add($"{Path.GetFileName(path)} {activity.Path}: {activity.Provider.Function}");
                }
            }
        }

        Assert.True(used > 10, $"only {used} scale functions found in the experiments");
        Assert.Empty(unknown);
    }

    [Fact]
    public void Parse_WholeReference_KeepsTheConfigurationValuesType()
    {
        var document = Document("""
            {
              "configuration": { "rps": 500, "zone": "a", "on": true },
              "method": [ { "type": "action", "name": "act", "provider": { "type": "scale", "func": "terminate_zone",
                "arguments": { "rps": "${rps}", "zone": "x-${zone}", "label": "${rps}/s in ${zone}", "on": "${on}", "list": ["${rps}", "${zone}"] } } } ]
            }
            """);

        var arguments = Experiment.Parse("test.json", document, shortForm: false).Method[0].Provider.Arguments;

        Assert.Equal(JsonValueKind.Number, arguments["rps"]!.GetValueKind());
        Assert.Equal(500, arguments["rps"]!.GetValue<double>());
        Assert.Equal(JsonValueKind.String, arguments["zone"]!.GetValueKind());
        Assert.Equal("x-a", arguments["zone"]!.GetValue<string>());
        Assert.Equal("500/s in a", arguments["label"]!.GetValue<string>());
        Assert.Equal(JsonValueKind.True, arguments["on"]!.GetValueKind());
        Assert.Equal("""[500,"a"]""", arguments["list"]!.ToJsonString());
    }

    [Fact]
    public void Parse_DoesNotChangeTheDocumentGiven()
    {
        var document = Document("""
            {
              "configuration": { "zone": "a" },
              "extensions": [ { "name": "scale", "short": { "zone": "b" } } ],
              "method": [ { "type": "action", "name": "act", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "${zone}" } } } ]
            }
            """);
        var before = document.ToJsonString();

        var experiment = Experiment.Parse("test.json", document, shortForm: true);

        Assert.Equal("b", experiment.Method[0].Provider.Arguments["zone"]!.GetValue<string>());
        Assert.Equal(before, document.ToJsonString());
    }

    [Fact]
    public void Parse_UnknownReference_ThrowsNamingTheKey()
    {
        var document = Document("""
            {
              "configuration": { "zone": "a" },
              "method": [ { "type": "action", "name": "act", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "zone-${zoen}" } } } ]
            }
            """);

        var error = Assert.Throws<ChaosException>(() => Experiment.Parse("typo.json", document, shortForm: false));

        Assert.Contains("${zoen}", error.Message, StringComparison.Ordinal);
        Assert.Contains("configuration.zoen", error.Message, StringComparison.Ordinal);
        Assert.StartsWith("typo.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ShortWithoutExtensions_ThrowsSayingWhatIsMissing()
    {
        var document = Document("""
            { "configuration": { "zone": "a" }, "method": [ { "type": "action", "name": "act", "provider": { "type": "process", "path": "/bin/true" } } ] }
            """);

        Assert.NotNull(Experiment.Parse("long-only.json", document, shortForm: false));
        var error = Assert.Throws<ChaosException>(() => Experiment.Parse("long-only.json", document, shortForm: true));

        Assert.Contains("--short", error.Message, StringComparison.Ordinal);
        Assert.Contains("extensions[name=scale].short", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ShortWithAnotherExtensionOnly_Throws()
    {
        var document = Document("""
            { "extensions": [ { "name": "other", "short": { "zone": "b" } } ],
              "method": [ { "type": "action", "name": "act", "provider": { "type": "process", "path": "/bin/true" } } ] }
            """);

        Assert.Throws<ChaosException>(() => Experiment.Parse("other.json", document, shortForm: true));
    }

    [Fact]
    public void Parse_PythonProvider_ThrowsSayingWhatScaleRuns()
    {
        var document = Document("""
            { "method": [ { "type": "action", "name": "kill-it", "provider": { "type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods" } } ] }
            """);

        var error = Assert.Throws<ChaosException>(() => Experiment.Parse("python.json", document, shortForm: false));

        Assert.Contains("method[0]", error.Message, StringComparison.Ordinal);
        Assert.Contains("kill-it", error.Message, StringComparison.Ordinal);
        Assert.Contains("scale, http and process", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "type": "actoin", "name": "a", "provider": { "type": "process", "path": "/bin/true" } }""", "method[1] (a)", "actoin")]
    [InlineData("""{ "type": "action", "provider": { "type": "process", "path": "/bin/true" } }""", "method[1].name", "required")]
    [InlineData("""{ "type": "action", "name": "a" }""", "method[1] (a)", "provider is required")]
    [InlineData("""{ "type": "action", "name": "a", "provider": { "type": "scale" } }""", "method[1] (a).provider", "func")]
    [InlineData("""{ "type": "action", "name": "a", "provider": { "type": "process" } }""", "method[1] (a).provider", "path")]
    [InlineData("""{ "type": "action", "name": "a", "provider": { "type": "http" } }""", "method[1] (a).provider", "url")]
    [InlineData("""{ "type": "action", "name": "a", "provider": { "type": "ssh", "path": "x" } }""", "method[1] (a).provider", "ssh")]
    [InlineData("""{ "type": "probe", "name": "a", "tolerance": { "type": "between" }, "provider": { "type": "process", "path": "/bin/true" } }""", "method[1] (a).tolerance", "between")]
    [InlineData("""{ "type": "probe", "name": "a", "tolerance": { "type": "range", "range": [5, 1] }, "provider": { "type": "process", "path": "/bin/true" } }""", "method[1] (a).tolerance", "empty")]
    [InlineData("""{ "type": "action", "name": "a", "pauses": { "after": "soon" }, "provider": { "type": "process", "path": "/bin/true" } }""", "method[1].pauses.after", "number")]
    public void Parse_InvalidActivity_ThrowsWithTheActivitysPath(string activity, string path, string detail)
    {
        var document = Document($$"""
            { "method": [ { "type": "action", "name": "fine", "provider": { "type": "process", "path": "/bin/true" } }, {{activity}} ] }
            """);

        var error = Assert.Throws<ChaosException>(() => Experiment.Parse("bad.json", document, shortForm: false));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(detail, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HypothesisProbeWithoutTolerance_ThrowsWithItsPath()
    {
        var document = Document("""
            {
              "steady-state-hypothesis": { "title": "t", "probes": [
                { "type": "probe", "name": "fine", "tolerance": 0, "provider": { "type": "process", "path": "/bin/true" } },
                { "type": "probe", "name": "no-tolerance", "provider": { "type": "process", "path": "/bin/true" } } ] },
              "method": [ { "type": "action", "name": "act", "provider": { "type": "process", "path": "/bin/true" } } ]
            }
            """);

        var error = Assert.Throws<ChaosException>(() => Experiment.Parse("bad.json", document, shortForm: false));

        Assert.Contains("steady-state-hypothesis.probes[1]", error.Message, StringComparison.Ordinal);
        Assert.Contains("tolerance", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HypothesisAction_Throws()
    {
        var document = Document("""
            {
              "steady-state-hypothesis": { "title": "t", "probes": [
                { "type": "action", "name": "act-in-hypothesis", "tolerance": 0, "provider": { "type": "process", "path": "/bin/true" } } ] },
              "method": [ { "type": "action", "name": "act", "provider": { "type": "process", "path": "/bin/true" } } ]
            }
            """);

        var error = Assert.Throws<ChaosException>(() => Experiment.Parse("bad.json", document, shortForm: false));

        Assert.Contains("steady-state-hypothesis.probes[0]", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "title": "t", "method": [] }""", "method")]
    [InlineData("""{ "title": "t" }""", "method")]
    [InlineData("""{ "method": [ { "type": "action", "name": "act", "provider": { "type": "process", "path": "/bin/true" } } ] }""", "title")]
    [InlineData("""{ "title": "t", "method": { "type": "action" } }""", "method must be a list")]
    [InlineData("""{ "title": "t", "method": [ 3 ] }""", "method[0] must be an object")]
    public void Parse_InvalidExperiment_Throws(string json, string detail)
    {
        var document = (JsonObject)JsonNode.Parse(json)!;

        var error = Assert.Throws<ChaosException>(() => Experiment.Parse("bad.json", document, shortForm: false));

        Assert.Contains(detail, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EnvConfiguration_UsesTheVariableWhenSet()
    {
        var name = "SCALE_CHAOS_TEST_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "eu-west-1b");
        try
        {
            var experiment = Experiment.Parse("env.json", EnvDocument(name, "\"a\""), shortForm: false);

            Assert.Equal("eu-west-1b", experiment.Configuration["zone"]!.GetValue<string>());
            Assert.Equal("eu-west-1b", experiment.Method[0].Provider.Arguments["zone"]!.GetValue<string>());
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void Parse_EnvConfigurationUnset_UsesTheDefaultWithItsType()
    {
        var name = "SCALE_CHAOS_TEST_" + Guid.NewGuid().ToString("N");

        var experiment = Experiment.Parse("env.json", EnvDocument(name, "42"), shortForm: false);

        var zone = experiment.Method[0].Provider.Arguments["zone"]!;
        Assert.Equal(JsonValueKind.Number, zone.GetValueKind());
        Assert.Equal(42, zone.GetValue<double>());
    }

    [Fact]
    public void Parse_EnvConfigurationUnsetWithoutDefault_ThrowsNamingTheVariable()
    {
        var name = "SCALE_CHAOS_TEST_" + Guid.NewGuid().ToString("N");

        var error = Assert.Throws<ChaosException>(() => Experiment.Parse("env.json", EnvDocument(name, null), shortForm: false));

        Assert.Contains(name, error.Message, StringComparison.Ordinal);
        Assert.Contains("configuration.zone", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EnvConfigurationInTheShortOverlay_IsResolvedToo()
    {
        var name = "SCALE_CHAOS_TEST_" + Guid.NewGuid().ToString("N");
        var document = Document($$"""
            {
              "configuration": { "zone": "a" },
              "extensions": [ { "name": "scale", "short": { "zone": { "type": "env", "key": "{{name}}", "default": "c" } } } ],
              "method": [ { "type": "action", "name": "act", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "${zone}" } } } ]
            }
            """);

        var experiment = Experiment.Parse("env.json", document, shortForm: true);

        Assert.Equal("c", experiment.Method[0].Provider.Arguments["zone"]!.GetValue<string>());
    }

    [Fact]
    public void Load_MissingFileOrInvalidJson_ThrowsChaosException()
    {
        using var folder = new TempFolder("scale-chaos-experiment-");
        var broken = Path.Join(folder.Path, "broken.json");
        File.WriteAllText(broken, "{ \"title\": ");

        Assert.Contains("no experiment file", Assert.Throws<ChaosException>(() => Experiment.Load(Path.Join(folder.Path, "missing.json"), shortForm: false)).Message, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", Assert.Throws<ChaosException>(() => Experiment.Load(broken, shortForm: false)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Activity_ReadsPausesDuringAndBackground()
    {
        var document = Document("""
            {
              "configuration": { "allowed": 7 },
              "steady-state-hypothesis": { "title": "t", "probes": [
                { "type": "probe", "name": "watched", "tolerance": 0, "during": { "allowed-degradation-seconds": "${allowed}" }, "provider": { "type": "process", "path": "/bin/true" } },
                { "type": "probe", "name": "watched-strictly", "tolerance": 0, "during": {}, "provider": { "type": "process", "path": "/bin/true" } },
                { "type": "probe", "name": "after-only", "tolerance": 0, "provider": { "type": "process", "path": "/bin/true" } } ] },
              "method": [ { "type": "action", "name": "act", "background": true, "pauses": { "before": 1.5, "after": "2" }, "provider": { "type": "process", "path": "/bin/true" } } ]
            }
            """);

        var experiment = Experiment.Parse("t.json", document, shortForm: false);

        Assert.Equal(new double?[] { 7, 0, null }, experiment.Hypothesis.Select(p => p.AllowedDegradationSeconds));
        Assert.Equal(1.5, experiment.Method[0].PauseBefore);
        Assert.Equal(2, experiment.Method[0].PauseAfter);
        Assert.True(experiment.Method[0].Background);
        Assert.Equal(ActivityType.Probe, experiment.Hypothesis[0].Type);
        Assert.Equal(ActivityType.Action, experiment.Method[0].Type);
    }

    private static JsonObject Document(string json)
    {
        var document = (JsonObject)JsonNode.Parse(json)!;
        document["title"] ??= "test experiment";
        return document;
    }

    private static JsonObject EnvDocument(string variable, string? defaultJson) => Document($$"""
        {
          "configuration": { "zone": { "type": "env", "key": "{{variable}}"{{(defaultJson is null ? "" : $", \"default\": {defaultJson}")}} } },
          "method": [ { "type": "action", "name": "act", "provider": { "type": "scale", "func": "terminate_zone", "arguments": { "zone": "${zone}" } } } ]
        }
        """);

    /// <summary>Walks the file as written and as parsed side by side; each whole "${key}" must have become the configuration's value.</summary>
    private static int CompareReferences(JsonNode? written, JsonNode? parsed, JsonObject configuration, string path)
    {
        switch (written)
        {
            case JsonObject obj:
                var parsedObject = Assert.IsType<JsonObject>(parsed);
                return obj.Sum(entry => CompareReferences(entry.Value, parsedObject[entry.Key], configuration, $"{path}.{entry.Key}"));
            case JsonArray array:
                var parsedArray = Assert.IsType<JsonArray>(parsed);
                Assert.Equal(array.Count, parsedArray.Count);
                return array.Select((item, i) => CompareReferences(item, parsedArray[i], configuration, $"{path}[{i}]")).Sum();
            case JsonValue value when value.TryGetValue<string>(out var text) && WholeReference().Match(text) is { Success: true } match:
                var expected = configuration[match.Groups[1].Value];
                Assert.True(JsonNode.DeepEquals(expected, parsed), $"{path}: {text} became {parsed?.ToJsonString()}, the configuration says {expected?.ToJsonString()}");
                return 1;
            default:
                return 0;
        }
    }

    [GeneratedRegex(@"^\$\{([A-Za-z0-9_\-]+)\}$")]
    private static partial Regex WholeReference();
}
