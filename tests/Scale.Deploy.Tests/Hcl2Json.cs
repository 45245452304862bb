using System.Diagnostics;
using System.Text.Json;
using Scale.Testing;

namespace Scale.Deploy.Tests;

/// <summary>
/// HashiCorp's HCL parser, as the npm package @cdktf/hcl2json ships it (the Go parser compiled to WebAssembly), run by
/// Node.js: Terraform files to the JSON form of their blocks and attributes (expressions kept as "${...}" strings),
/// expressions to their syntax tree, and the references an expression makes. Installed once into the tools folder
/// (SCALE_TOOLS_DIR, else &lt;repo&gt;/.cache/tools) like s3rver; tests/run installs the same version up front.
/// </summary>
public static class Hcl2Json
{
    /// <summary>The version installed and used; tests/run installs this one too.</summary>
    public const string Version = "0.21.0";

    private static readonly TimeSpan InstallLockTimeout = TimeSpan.FromMinutes(10);
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    // Reads the request (a JSON file named by the only argument), answers on standard output.
    private const string Script = """
        const fs = require('fs');
        const hcl = require(process.env.SCALE_HCL2JSON_MODULE);
        const request = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
        (async () => {
          const files = {};
          for (const file of request.files) files[file] = await hcl.parse(file, fs.readFileSync(file, 'utf8'));
          const texts = [];
          for (const text of request.texts) texts.push(await hcl.parse('snippet.tf', text));
          const expressions = [];
          for (const expression of request.expressions) expressions.push(await hcl.getExpressionAst('expression.tf', expression));
          const references = [];
          for (const expression of request.references) references.push((await hcl.getReferencesInExpression('expression.tf', expression)).map(r => r.value));
          process.stdout.write(JSON.stringify({ files, texts, expressions, references }));
        })().catch(e => { process.stderr.write(String((e && e.stack) || e)); process.exit(1); });
        """;

    /// <summary>Each file parsed: path => { "variable": { name: [ body ] }, "resource": { type: { name: [ body ] } }, ... }.</summary>
    public static async Task<IReadOnlyDictionary<string, JsonElement>> ParseFilesAsync(IEnumerable<string> paths)
    {
        var response = await RunAsync(new Request { Files = [.. paths] });
        return response.GetProperty("files").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
    }

    /// <summary>HCL text (a snippet of a file) parsed like a file.</summary>
    public static async Task<JsonElement> ParseTextAsync(string hcl)
    {
        var response = await RunAsync(new Request { Texts = [hcl] });
        return response.GetProperty("texts")[0].Clone();
    }

    /// <summary>
    /// The syntax tree of an expression: { type, meta, children }. A whole-value interpolation as the parsed JSON
    /// holds it ("${...}") is unwrapped first; a template ("${a}/*") is parsed as the quoted string it was.
    /// </summary>
    public static async Task<JsonElement> ExpressionAsync(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var unwrapped = Unwrap(expression);
        var source = unwrapped.Length != expression.Length || !expression.Contains("${", StringComparison.Ordinal) ? unwrapped : "\"" + expression + "\"";
        var response = await RunAsync(new Request { Expressions = [source] });
        return response.GetProperty("expressions")[0].Clone();
    }

    /// <summary>What an expression refers to ("var.x", "module.eks.cluster_name", "aws_s3_bucket.corpus.arn", ...).</summary>
    public static async Task<IReadOnlyList<string>> ReferencesAsync(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var wrapped = expression.Contains("${", StringComparison.Ordinal) ? expression : "${" + expression + "}";
        var response = await RunAsync(new Request { References = [wrapped] });
        return [.. response.GetProperty("references")[0].EnumerateArray().Select(r => r.GetString()!)];
    }

    /// <summary>"${expr}" as a whole value => "expr"; anything else (a template such as "${a}/*") unchanged.</summary>
    public static string Unwrap(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.StartsWith("${", StringComparison.Ordinal) || !value.EndsWith('}'))
        {
            return value;
        }

        // The interpolation opened at 0 must close at the very end, not earlier ("${a}-${b}").
        var depth = 0;
        for (var i = 1; i < value.Length; i++)
        {
            depth += value[i] switch { '{' => 1, '}' => -1, _ => 0 };
            if (depth == 0 && i < value.Length - 1)
            {
                return value;
            }
        }

        return value[2..^1];
    }

    private static async Task<JsonElement> RunAsync(Request request)
    {
        var module = await EnsureInstalledAsync();
        using var folder = new TempFolder("scale-hcl2json-");
        var requestFile = Path.Join(folder.Path, "request.json");
        await File.WriteAllTextAsync(requestFile, JsonSerializer.Serialize(new Dictionary<string, string[]>
        {
            ["files"] = request.Files,
            ["texts"] = request.Texts,
            ["expressions"] = request.Expressions,
            ["references"] = request.References,
        }));
        var result = await Tools.RunAsync("node", ["-e", Script, requestFile], TimeSpan.FromMinutes(2),
            new Dictionary<string, string> { ["SCALE_HCL2JSON_MODULE"] = module });
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"hcl2json failed: {result}");
        }

        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.Clone();
    }

    private static async Task<string> EnsureInstalledAsync()
    {
        var tools = S3ServerFixture.ToolsDirectory();
        var module = Path.Join(tools, "node_modules", "@cdktf", "hcl2json");
        if (InstalledVersion(module) == Version)
        {
            return module;
        }

        await InstallGate.WaitAsync();
        try
        {
            Directory.CreateDirectory(tools);
            // The same lock file as s3rver's installer: test assemblies run in parallel processes, and two npm
            // installs into one prefix at once can break each other.
            using var installLock = await AcquireLockAsync(Path.Join(tools, "s3rver-install.lock"));
            if (InstalledVersion(module) == Version)
            {
                return module;
            }

            await Tools.RequireAsync("node", "nodejs");
            await Tools.RequireAsync("npm", "npm");
            var result = await Tools.RunAsync("npm",
                ["install", "--prefix", tools, "--no-audit", "--no-fund", "--save-exact", "--loglevel=error", $"@cdktf/hcl2json@{Version}"],
                TimeSpan.FromMinutes(5));
            if (result.ExitCode != 0 || InstalledVersion(module) != Version)
            {
                throw new InvalidOperationException($"npm install @cdktf/hcl2json@{Version} into {tools} did not install it: {result}");
            }

            return module;
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static string? InstalledVersion(string module)
    {
        var manifest = Path.Join(module, "package.json");
        if (!File.Exists(manifest))
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(manifest));
        return document.RootElement.TryGetProperty("version", out var version) ? version.GetString() : null;
    }

    private static async Task<FileStream> AcquireLockAsync(string path)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < InstallLockTimeout)
            {
                await Task.Delay(200);
            }
        }
    }

    private sealed class Request
    {
        public string[] Files { get; init; } = [];

        public string[] Texts { get; init; } = [];

        public string[] Expressions { get; init; } = [];

        public string[] References { get; init; } = [];
    }
}
