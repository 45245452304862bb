using System.Text.Json;
using Scale.Testing;

namespace Scale.Deploy.Tests;

/// <summary>
/// deploy/terraform parsed once (by HashiCorp's HCL parser, see <see cref="Hcl2Json"/>): its *.tf files, and the
/// terraform.tfvars and backend examples. Blocks are looked up by kind across all files, as Terraform merges them.
/// </summary>
public sealed class TerraformConfig : IAsyncLifetime
{
    public const string TfvarsExample = "terraform.tfvars.example";

    public const string BackendExample = "backend.tf.example";

    private Dictionary<string, JsonElement> _files = [];
    private Dictionary<string, JsonElement> _examples = [];

    public static string Folder { get; } = Path.Join(Checkout.Root, "deploy", "terraform");

    /// <summary>The *.tf files of the folder (not .terraform/), by file name.</summary>
    public IReadOnlyDictionary<string, JsonElement> Files => _files;

    /// <summary>The example files, by file name.</summary>
    public IReadOnlyDictionary<string, JsonElement> Examples => _examples;

    public async Task InitializeAsync()
    {
        var tf = Directory.Exists(Folder)
            ? Directory.GetFiles(Folder).Where(f => f.EndsWith(".tf", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray()
            : [];
        var examples = new[] { TfvarsExample, BackendExample }.Select(e => Path.Join(Folder, e)).Where(File.Exists).ToArray();
        if (tf.Length + examples.Length == 0)
        {
            return;
        }

        var parsed = await Hcl2Json.ParseFilesAsync(tf.Concat(examples));
        _files = tf.ToDictionary(f => Path.GetFileName(f), f => parsed[f], StringComparer.Ordinal);
        _examples = examples.ToDictionary(f => Path.GetFileName(f), f => parsed[f], StringComparer.Ordinal);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Blocks with one label (variable, output, module, provider): name => body.</summary>
    public IReadOnlyDictionary<string, JsonElement> Named(string kind) =>
        _files.Values.Where(f => f.TryGetProperty(kind, out _))
            .SelectMany(f => f.GetProperty(kind).EnumerateObject())
            .ToDictionary(p => p.Name, p => Only(p.Value, $"{kind} \"{p.Name}\""), StringComparer.Ordinal);

    /// <summary>Blocks with two labels (resource, data): "type.name" => body.</summary>
    public IReadOnlyDictionary<string, JsonElement> Typed(string kind) =>
        _files.Values.Where(f => f.TryGetProperty(kind, out _))
            .SelectMany(f => f.GetProperty(kind).EnumerateObject())
            .SelectMany(type => type.Value.EnumerateObject().Select(name => (Key: $"{type.Name}.{name.Name}", Body: Only(name.Value, $"{kind} \"{type.Name}\" \"{name.Name}\""))))
            .ToDictionary(b => b.Key, b => b.Body, StringComparer.Ordinal);

    /// <summary>The terraform { } blocks of all files.</summary>
    public IReadOnlyList<JsonElement> TerraformBlocks =>
        [.. _files.Values.Where(f => f.TryGetProperty("terraform", out _)).SelectMany(f => f.GetProperty("terraform").EnumerateArray())];

    /// <summary>Every local value of all locals { } blocks: name => expression.</summary>
    public IReadOnlyDictionary<string, JsonElement> Locals =>
        _files.Values.Where(f => f.TryGetProperty("locals", out _))
            .SelectMany(f => f.GetProperty("locals").EnumerateArray())
            .SelectMany(block => block.EnumerateObject())
            .ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);

    public JsonElement Resource(string type, string name) => Find(Typed("resource"), $"{type}.{name}", "resource");

    public JsonElement Data(string type, string name) => Find(Typed("data"), $"{type}.{name}", "data");

    public JsonElement Module(string name) => Find(Named("module"), name, "module");

    public JsonElement Variable(string name) => Find(Named("variable"), name, "variable");

    public JsonElement Output(string name) => Find(Named("output"), name, "output");

    private static JsonElement Find(IReadOnlyDictionary<string, JsonElement> blocks, string key, string kind) =>
        blocks.TryGetValue(key, out var body) ? body : throw new Xunit.Sdk.XunitException($"deploy/terraform has no {kind} \"{key}\".");

    // Terraform's JSON form gives every block as a list of bodies; a name used twice is a Terraform error.
    private static JsonElement Only(JsonElement bodies, string what) =>
        bodies.ValueKind == JsonValueKind.Array && bodies.GetArrayLength() == 1
            ? bodies[0]
            : throw new Xunit.Sdk.XunitException($"{what} is declared {(bodies.ValueKind == JsonValueKind.Array ? bodies.GetArrayLength() : 0)} times.");
}
