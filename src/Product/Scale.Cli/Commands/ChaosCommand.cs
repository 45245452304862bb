using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using Scale.Chaos;
using Scale.Chaos.Experiments;
using Scale.Chaos.Lab;
using Scale.Chaos.Report;
using Scale.Chaos.Runner;
using Scale.Chaos.Targets;
using Scale.Lab;

namespace Scale.Cli.Commands;

/// <summary>
/// <c>scale chaos run EXPERIMENT --target lab|k8s [--short] [--journal FILE] [--report FILE]</c> and
/// <c>scale chaos list</c>: Chaos Toolkit experiments with verdicts a program computes (docs/chaos.md).
/// Exit codes: 0 the hypothesis held; 1 it did not (deviated, failed, aborted); 2 the experiment or target is wrong.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class ChaosCommand
{
    public static Command Create()
    {
        var experiment = new Argument<string>("EXPERIMENT") { Description = "An experiment file (Chaos Toolkit JSON), or the name of one in deploy/chaos/experiments (`scale chaos list` shows them)." };
        var target = new Option<string>("--target") { Description = "lab (the local lab, `scale lab up`) or k8s (the cluster of the current kubeconfig context).", DefaultValueFactory = _ => "lab" };
        target.AcceptOnlyFromAmong("lab", "k8s");
        var shortForm = new Option<bool>("--short") { Description = "The short form (under 2 minutes) instead of the full one (the original's 300 s steady state)." };
        var journal = new Option<string>("--journal") { Description = "Where the journal goes (Chaos Toolkit's JSON format).", DefaultValueFactory = _ => "journal.json" };
        var report = new Option<string?>("--report") { Description = "Also write a self-contained HTML report with per-second charts and the verdicts." };
        var seed = new Option<int>("--seed") { Description = "Seeds the random choices (which worker dies when).", DefaultValueFactory = _ => 1 };
        var variables = new Option<string[]>("--var") { Description = "Override a configuration value: --var zone=b (repeatable), as Chaos Toolkit's --var.", AllowMultipleArgumentsPerToken = false };
        var dryRun = new Option<bool>("--dry-run") { Description = "Faults list what they would hit and change nothing." };
        var labDir = new Option<string>("--dir")
        {
            Description = "The lab's folder (lab target). Env: SCALE_LAB_DIR.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_LAB_DIR") is { Length: > 0 } dir ? dir : Path.Join(Path.GetTempPath(), $"scale-lab-{Environment.UserName}"),
        };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "k8s target: the kubeconfig file (default $KUBECONFIG or ~/.kube/config; in a pod, its ServiceAccount)." };
        var context = new Option<string?>("--context") { Description = "k8s target: the kubeconfig context (default: the current one)." };
        var ns = new Option<string>("--namespace") { Description = "k8s target: the namespace of Scale's pods.", DefaultValueFactory = _ => "scale" };
        var url = new Option<string?>("--url") { Description = "k8s target: the service's public URL, where the steady load goes (deploy/up.sh prints it)." };

        var run = new Command("run", "Run an experiment: steady state before, the method with the steady state watched every second, steady state after, rollbacks always; a verdict per hypothesis line.")
        {
            experiment, target, shortForm, journal, report, seed, variables, dryRun, labDir, kubeconfig, context, ns, url,
        };
        run.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var loaded = Load(parse.GetValue(experiment)!, parse.GetValue(shortForm), parse.GetValue(variables) ?? []);
                await using var chosen = CreateTarget(parse.GetValue(target)!, parse.GetValue(dryRun), parse.GetValue(labDir)!, parse.GetValue(kubeconfig), parse.GetValue(context), parse.GetValue(ns)!, parse.GetValue(url));
                var runner = new ChaosRunner(chosen, new ChaosRunOptions { ShortForm = parse.GetValue(shortForm), Seed = parse.GetValue(seed), Log = Console.Error });
                var result = await runner.RunAsync(loaded, cancellationToken);
                var journalPath = parse.GetValue(journal)!;
                ChaosJournal.Write(result, journalPath);
                if (parse.GetValue(report) is { } reportPath)
                {
                    HtmlReport.Write(result, reportPath);
                }

                Summarize(result, journalPath, parse.GetValue(report));
                return result.HypothesisHeld ? ExitCodes.Success : ExitCodes.Failure;
            }
            catch (ChaosException ex)
            {
                await Console.Error.WriteLineAsync($"scale chaos: {ex.Message}");
                return ExitCodes.BadInput;
            }
        });

        var list = new Command("list", "The experiments in deploy/chaos/experiments, with their titles and tags.");
        list.SetAction(_ =>
        {
            var folder = ExperimentsFolder();
            if (folder is null)
            {
                Console.Error.WriteLine("scale chaos: no deploy/chaos/experiments folder found (set SCALE_CHAOS_EXPERIMENTS)");
                return ExitCodes.BadInput;
            }

            foreach (var file in Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal))
            {
                var parsed = Experiment.Load(file, shortForm: false);
                Console.WriteLine($"{Path.GetFileNameWithoutExtension(file),-20} {parsed.Title} [{string.Join(", ", parsed.Tags)}]");
            }

            return ExitCodes.Success;
        });

        return new Command("chaos", "Chaos experiments with verdicts: zone outage, partition and latency, zone loss, primary loss, CPU exhaustion, batch worker loss, on the lab or Kubernetes (docs/chaos.md).") { run, list };
    }

    private static Experiment Load(string nameOrPath, bool shortForm, string[] variables)
    {
        var path = File.Exists(nameOrPath) ? nameOrPath
            : ExperimentsFolder() is { } folder && File.Exists(Path.Join(folder, nameOrPath + ".json")) ? Path.Join(folder, nameOrPath + ".json")
            : throw new ChaosException($"no experiment '{nameOrPath}': give a file, or one of {string.Join(", ", Known())}");
        if (variables.Length == 0)
        {
            return Experiment.Load(path, shortForm);
        }

        var document = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new ChaosException($"{path}: an experiment is a JSON object");
        var configuration = document["configuration"] as JsonObject ?? [];
        var overlay = (document["extensions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(e => e["name"]?.GetValue<string>() == "scale")?["short"] as JsonObject;
        foreach (var variable in variables)
        {
            var parts = variable.Split('=', 2);
            if (parts.Length != 2 || parts[0].Length == 0)
            {
                throw new ChaosException($"--var takes key=value, not '{variable}'");
            }

            // A number stays a number; a JSON list or object (--var 'paths=["/test_db"]') stays one; anything else is text.
            JsonNode value = double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? JsonValue.Create(number)
                : parts[1].TrimStart().StartsWith('[') || parts[1].TrimStart().StartsWith('{') ? ParseJsonVariable(parts[0], parts[1])
                : JsonValue.Create(parts[1]);
            configuration[parts[0]] = value;
            // Given on the command line, it wins over the short form too.
            if (shortForm && overlay is not null)
            {
                overlay[parts[0]] = value.DeepClone();
            }
        }

        document["configuration"] = configuration;
        return Experiment.Parse(path, document, shortForm);
    }

    private static JsonNode ParseJsonVariable(string key, string text)
    {
        try
        {
            return JsonNode.Parse(text) ?? throw new ChaosException($"--var {key}: null is not a value");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new ChaosException($"--var {key}: '{text}' looks like JSON but is not ({ex.Message})");
        }
    }

    private static IEnumerable<string> Known() =>
        ExperimentsFolder() is { } folder ? Directory.GetFiles(folder, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!
        : ["(no deploy/chaos/experiments folder found: set SCALE_CHAOS_EXPERIMENTS)"];

    /// <summary>deploy/chaos/experiments of the checkout the program runs from or is run in, or $SCALE_CHAOS_EXPERIMENTS.</summary>
    private static string? ExperimentsFolder()
    {
        if (Environment.GetEnvironmentVariable("SCALE_CHAOS_EXPERIMENTS") is { Length: > 0 } given)
        {
            return Directory.Exists(given) ? given : null;
        }

        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Join(folder.FullName, "deploy", "chaos", "experiments");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static IChaosTarget CreateTarget(string name, bool dryRun, string labDir, string? kubeconfig, string? context, string ns, string? url)
    {
        if (name == "lab")
        {
            return new LabTarget(new LabOptions { Directory = labDir, ScaleProgram = Assembly.GetEntryAssembly()!.Location }, Console.Error, dryRun);
        }

        return new KubernetesTarget(new KubernetesTargetOptions
        {
            KubeconfigPath = kubeconfig,
            Context = context,
            Namespace = ns,
            ServiceUrl = url is null ? null : new Uri(url),
            DryRun = dryRun,
        }, Console.Error);
    }

    private static void Summarize(ChaosResult result, string journal, string? report)
    {
        Console.WriteLine($"{result.Experiment.Title}: {(result.HypothesisHeld ? "the hypothesis held" : $"the hypothesis did not hold ({result.Status}{(result.Deviated ? ", deviated" : "")})")}");
        foreach (var verdict in result.Verdicts)
        {
            Console.WriteLine($"  {(verdict.Met ? "ok  " : "FAIL")} {verdict.Phase.ToString().ToLowerInvariant(),-8} {verdict.Line}: {verdict.Explanation}");
        }

        Console.WriteLine($"journal: {journal}{(report is null ? "" : $", report: {report}")}");
    }
}
