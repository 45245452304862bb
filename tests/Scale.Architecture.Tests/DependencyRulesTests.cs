using System.Xml.Linq;
using Scale.Testing;

namespace Scale.Architecture.Tests;

/// <summary>
/// The tree's design as rules a build can break. The product (what runs in a pod: corpus, extraction, similarity,
/// store, pipeline, web and the scale program) never depends on the operations tools (load generator, lab, chaos
/// runner), so its image carries none of them; stages other than extraction name instruments without the parser.
/// Today's exceptions are listed in <see cref="KnownViolations"/>: each is an edge that still exists (a stale entry
/// fails), and the list only shrinks (issue 16).
/// </summary>
public sealed class DependencyRulesTests
{
    private static readonly string[] Product = ["Scale.Midi", "Scale.Corpus", "Scale.Similarity", "Scale.Store", "Scale.Pipeline", "Scale.Web", "Scale.Cli"];

    /// <summary>The synthetic-corpus generator: a developer tool the product program may carry (`scale synth`, `scale demo`).</summary>
    private static readonly string[] Tools = ["Scale.Synth"];

    private static readonly string[] Operations = ["Scale.Load", "Scale.Lab", "Scale.Chaos"];

    /// <summary>Stages that must name instruments without the MIDI parser (issue 16: a kernel project for the domain types).</summary>
    private static readonly string[] StagesWithoutTheParser = ["Scale.Corpus", "Scale.Similarity", "Scale.Web"];

    /// <summary>Packages only operations tools may bring: the Kubernetes client (and what it pulls in) and the load generator's histogram.</summary>
    private static readonly string[] OperationsPackages = ["KubernetesClient", "HdrHistogram"];

    /// <summary>Edges that break a rule today, to be removed one by one; the rules fail on any edge not listed here.</summary>
    private static readonly HashSet<(string From, string To)> KnownViolations =
    [
        ("Scale.Cli", "Scale.Load"), ("Scale.Cli", "Scale.Lab"), ("Scale.Cli", "Scale.Chaos"),
        ("Scale.Corpus", "Scale.Midi"), ("Scale.Similarity", "Scale.Midi"), ("Scale.Web", "Scale.Midi"),
    ];

    private static readonly ProjectGraph Source = ProjectGraph.Read(Path.Join(Checkout.Root, "src"));

    [Fact]
    public void EverySourceProject_BelongsToProductToolsOrOperations()
    {
        var classified = Product.Concat(Tools).Concat(Operations).ToHashSet(StringComparer.Ordinal);

        var unclassified = Source.Projects.Keys.Where(name => !classified.Contains(name)).Order(StringComparer.Ordinal).ToList();

        Assert.True(unclassified.Count == 0, $"add each to Product, Tools or Operations in this test: {string.Join(", ", unclassified)}");
        var gone = classified.Where(name => !Source.Projects.ContainsKey(name)).ToList();
        Assert.True(gone.Count == 0, $"no such project any more, remove from this test: {string.Join(", ", gone)}");
    }

    [Fact]
    public void ProductAndTools_NeverDependOnOperations()
    {
        var violations = Product.Concat(Tools)
            .SelectMany(name => Source.Closure(name, KnownViolations).Where(Operations.Contains).Select(ops => $"{name} -> {ops}"))
            .ToList();

        Assert.True(violations.Count == 0, $"the product must not carry operations code: {string.Join("; ", violations)}");
    }

    [Fact]
    public void ProductAndTools_UseNoOperationsPackage()
    {
        var violations = Product.Concat(Tools)
            .SelectMany(name => Source.Closure(name, KnownViolations).Append(name))
            .Distinct(StringComparer.Ordinal)
            .SelectMany(name => Source.Projects[name].Packages.Where(OperationsPackages.Contains).Select(package => $"{name} uses {package}"))
            .ToList();

        Assert.True(violations.Count == 0, string.Join("; ", violations));
    }

    [Fact]
    public void StagesOtherThanExtraction_DoNotDependOnTheParser()
    {
        // Direct references: the store may keep the parser's summary of a file, and a stage reading the store gets the
        // parser with it; what this rule forbids is a stage using the parser's assembly for its own words.
        var violations = StagesWithoutTheParser
            .Where(name => Source.Projects[name].References.Any(r => r == "Scale.Midi" && !KnownViolations.Contains((name, r))))
            .ToList();

        Assert.True(violations.Count == 0, $"depend on the parser: {string.Join(", ", violations)}");
    }

    [Fact]
    public void KnownViolations_AreEdgesThatStillExist()
    {
        var stale = KnownViolations.Where(edge => !Source.Projects.TryGetValue(edge.From, out var project) || !project.References.Contains(edge.To)).ToList();

        Assert.True(stale.Count == 0, $"fixed, remove from KnownViolations: {string.Join(", ", stale.Select(e => $"{e.From} -> {e.To}"))}");
    }

    [Fact]
    public void EveryProjectInTheTree_IsInTheSolution()
    {
        var root = Checkout.Root;
        var inSolution = XDocument.Load(Path.Join(root, "Scale.slnx")).Descendants("Project")
            .Select(p => p.Attribute("Path")!.Value.Replace('\\', '/'))
            .ToHashSet(StringComparer.Ordinal);

        // A project missing from Scale.slnx is silently neither built nor tested by tests/run.
        var missing = new[] { "src", "tests", "bench" }
            .SelectMany(folder => ProjectGraph.Read(Path.Join(root, folder)).Projects.Values)
            .Select(p => Path.GetRelativePath(root, p.Path).Replace('\\', '/'))
            .Where(path => !inSolution.Contains(path))
            .ToList();

        Assert.True(missing.Count == 0, $"not in Scale.slnx: {string.Join(", ", missing)}");
    }
}
