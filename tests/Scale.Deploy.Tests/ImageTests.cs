using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Scale.Testing;

namespace Scale.Deploy.Tests;

/// <summary>
/// The image, without a Docker engine: the Dockerfile's rules (pinned official bases, chiseled runtime, non-root,
/// exec-form entry point, no secrets, every project restored), a build context exactly as .dockerignore leaves it,
/// the Dockerfile's publish command run on that context, and the published program serving; the build script.
/// </summary>
public sealed partial class ImageTests
{
    private static readonly string Root = Checkout.Root;
    private static readonly Dictionary<string, string> DotnetEnvironment = new() { ["DOTNET_NOLOGO"] = "1" };
    private static readonly Dockerfile File_ = Dockerfile.Parse(File.ReadAllText(Path.Join(Root, "Dockerfile")));

    [Fact]
    public void BaseImages_AreOfficialDotnetImages_PinnedToFullVersions_TheRuntimeChiseled()
    {
        var images = File_.Stages.Select(stage => File_.ImageOf(stage[0])).ToArray();
        Assert.Equal(2, images.Length);
        Assert.All(images, image => Assert.Matches(PinnedDotnetImage(), image));
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:", images[0], StringComparison.Ordinal);
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:", images[1], StringComparison.Ordinal);
        Assert.Contains("chiseled", images[1], StringComparison.Ordinal);
        // The runtime is the one the tests ran on: the SDK and runtime majors agree.
        Assert.Equal(Version(images[0]).Major, Version(images[1]).Major);
        Assert.Equal(Environment.Version.Major, Version(images[1]).Major);
    }

    [Fact]
    public void FinalStage_RunsAsANonRootUser_InExecForm_ExposingTheWebPort()
    {
        var final = File_.Stages[^1];
        var user = Assert.Single(final, i => i.Keyword == "USER").Arguments;
        var uid = int.Parse(user.Split(':')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(uid >= 1000, $"USER {user} is not an unprivileged user");
        var entry = Assert.Single(final, i => i.Keyword == "ENTRYPOINT").Arguments;
        Assert.Equal(["dotnet", "/app/scale.dll"], JsonSerializer.Deserialize<string[]>(entry)!);
        Assert.Equal(["serve"], JsonSerializer.Deserialize<string[]>(Assert.Single(final, i => i.Keyword == "CMD").Arguments)!);
        Assert.Contains(final, i => i.Keyword == "EXPOSE" && i.Arguments.Split(' ').Contains("8080"));
        // Only the published program comes from the build stage: no SDK, no sources.
        Assert.All(final.Where(i => i.Keyword is "COPY" or "ADD"), i => Assert.Equal("COPY --from=build /app ./", $"{i.Keyword} {i.Arguments}"));
        Assert.DoesNotContain(final, i => i.Keyword == "RUN");
    }

    [Fact]
    public void NoSecrets_NoRemoteAdds_NoLatest()
    {
        var text = File.ReadAllText(Path.Join(Root, "Dockerfile"));
        Assert.DoesNotMatch(new Regex("password=|secret_access_key|aws_access_key_id", RegexOptions.IgnoreCase), text);
        foreach (var instruction in File_.Instructions.Where(i => i.Keyword is "ENV" or "ARG"))
        {
            Assert.DoesNotMatch(new Regex(@"(PASSWORD|SECRET|TOKEN|ACCESS_KEY)\w*=", RegexOptions.IgnoreCase), instruction.Arguments);
        }

        Assert.DoesNotContain(File_.Instructions, i => i.Keyword == "ADD");
        Assert.DoesNotContain(":latest", text, StringComparison.Ordinal);
    }

    [Fact]
    public void RestoreLayer_CopiesEveryProjectUnderSrc()
    {
        var restore = File_.Instructions.ToList().FindIndex(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet restore", StringComparison.Ordinal));
        Assert.True(restore > 0);
        var copied = File_.Instructions.Take(restore).Where(i => i.Keyword == "COPY").SelectMany(i => i.Arguments.Split(' ')[..^1]).ToHashSet(StringComparer.Ordinal);
        var projects = Directory.GetFiles(Path.Join(Root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/'));
        Assert.All(projects, project => Assert.Contains(project, copied));
    }

    [Fact]
    public void DockerIgnore_LetsInOnlyTheBuildFilesAndSources()
    {
        var rules = File.ReadAllLines(Path.Join(Root, ".dockerignore")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        Assert.Equal("**", rules[0]);
        Assert.Equal(["**", "!global.json", "!Directory.Build.props", "!Directory.Packages.props", "!src/**", "!deploy/monitoring/rules/scale.rules.yml", "!deploy/monitoring/postgres-exporter-queries.yaml", "src/**/bin/", "src/**/obj/"], rules);
    }

    /// <summary>
    /// The build stage's restore and publish, on a copy of the build context (what .dockerignore lets in), for this
    /// machine's architecture; then the published program starts, serves /healthz, and reports the commit.
    /// </summary>
    [Fact]
    public async Task PublishStep_OnTheBuildContext_GivesAProgramThatServes()
    {
        using var context = new TempFolder("scale-image-");
        foreach (var file in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props" })
        {
            File.Copy(Path.Join(Root, file), Path.Join(context.Path, file));
        }

        CopySources(Path.Join(Root, "src"), Path.Join(context.Path, "src"));
        // The monitoring files src/Scale.Lab embeds, and nothing else of deploy/ (.dockerignore).
        foreach (var file in new[] { "deploy/monitoring/rules/scale.rules.yml", "deploy/monitoring/postgres-exporter-queries.yaml" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Join(context.Path, file))!);
            File.Copy(Path.Join(Root, file), Path.Join(context.Path, file));
        }
        var publish = File_.Instructions.Single(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal)).Arguments;
        var restore = File_.Instructions.Single(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet restore", StringComparison.Ordinal)).Arguments;
        var arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64";
        var output = Path.Join(context.Path, "app");
        foreach (var command in new[] { restore, publish })
        {
            var line = command.Replace("\"$TARGETARCH\"", arch, StringComparison.Ordinal)
                .Replace("\"$SCALE_COMMIT\"", "image-test", StringComparison.Ordinal)
                .Replace("-o /app", $"-o {output}", StringComparison.Ordinal);
            var result = await Tools.RunAsync("bash", ["-c", line], TimeSpan.FromMinutes(5), DotnetEnvironment, context.Path);
            Assert.True(result.ExitCode == 0, $"{line}\n{result.Output}");
        }

        Assert.True(File.Exists(Path.Join(output, "scale.dll")));
        Assert.False(File.Exists(Path.Join(output, "scale")), "UseAppHost=false: the image starts dotnet /app/scale.dll");
        // IRSA on EKS: the AWS SDK loads its STS client by name to trade the pod's web identity token for credentials.
        Assert.True(File.Exists(Path.Join(output, "AWSSDK.SecurityToken.dll")), "AWSSDK.SecurityToken is published (IRSA)");

        // The program as the image runs it: dotnet /app/scale.dll serve, its environment from the Dockerfile.
        var db = Path.Join(context.Path, "data", "scale.db");
        Directory.CreateDirectory(Path.GetDirectoryName(db)!);
        var corpus = Path.Join(context.Path, "corpus");
        var synth = await Tools.RunAsync("dotnet", [Path.Join(output, "scale.dll"), "synth", "--files", "100", "--out", corpus], TimeSpan.FromMinutes(2), DotnetEnvironment, context.Path);
        Assert.True(synth.ExitCode == 0, synth.Output);
        var run = await Tools.RunAsync("dotnet", [Path.Join(output, "scale.dll"), "run", "--source", corpus, "--db", db], TimeSpan.FromMinutes(3), DotnetEnvironment, context.Path);
        Assert.True(run.ExitCode == 0, run.Output);
        var port = Tools.FreePort();
        using var serve = Process.Start(new ProcessStartInfo("dotnet", [Path.Join(output, "scale.dll"), "serve"])
        {
            WorkingDirectory = context.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["SCALE_URLS"] = $"http://127.0.0.1:{port}", ["SCALE_DB"] = db, ["SCALE_LOG_FORMAT"] = "json", ["DOTNET_EnableDiagnostics"] = "0" },
        })!;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            string? metrics = null;
            for (var attempt = 0; attempt < 100 && metrics is null; attempt++)
            {
                try
                {
                    metrics = await http.GetStringAsync(new Uri("metrics", UriKind.Relative));
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(200);
                }
            }

            Assert.NotNull(metrics);
            Assert.Contains("commit=\"image-test\"", metrics, StringComparison.Ordinal);
            // /readyz is 503 "warming up" until the warm-up has sent every main route through the pipeline (bounded).
            var ready = System.Net.HttpStatusCode.ServiceUnavailable;
            for (var attempt = 0; attempt < 150 && ready != System.Net.HttpStatusCode.OK; attempt++)
            {
                using var readyz = await http.GetAsync(new Uri("readyz", UriKind.Relative));
                ready = readyz.StatusCode;
                if (ready != System.Net.HttpStatusCode.OK)
                {
                    await Task.Delay(200);
                }
            }

            Assert.Equal(System.Net.HttpStatusCode.OK, ready);
        }
        finally
        {
            serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task BuildScript_DryRun_PrintsAMultiArchBuildxCommand_AndPassesShellcheck()
    {
        var script = Path.Join(Root, "deploy", "image", "build.sh");
        var dry = await Tools.RunAsync("bash", [script, "--image", "registry.example/scale", "--tag", "v1", "--push", "--dry-run"], TimeSpan.FromSeconds(30), DotnetEnvironment, Root);
        Assert.True(dry.ExitCode == 0, dry.Output);
        Assert.Contains("docker buildx build", dry.Output, StringComparison.Ordinal);
        Assert.Contains("linux/amd64\\,linux/arm64", dry.Output, StringComparison.Ordinal);
        Assert.Contains("--tag registry.example/scale:v1 --push", dry.Output, StringComparison.Ordinal);
        Assert.Contains("SCALE_COMMIT=", dry.Output, StringComparison.Ordinal);

        var load = await Tools.RunAsync("bash", [script, "--load", "--dry-run"], TimeSpan.FromSeconds(30), DotnetEnvironment, Root);
        Assert.Equal(2, load.ExitCode);
        Assert.Contains("--load takes one platform", load.Output, StringComparison.Ordinal);

        var shellcheck = await Tools.RunAsync("shellcheck", [script, Path.Join(Root, "deploy", "monitoring", "render.sh")], TimeSpan.FromSeconds(60), DotnetEnvironment, Root);
        Assert.True(shellcheck.ExitCode == 0, shellcheck.Output);
    }

    [GeneratedRegex(@"^mcr\.microsoft\.com/dotnet/(sdk|aspnet|runtime|runtime-deps):\d+\.\d+\.\d+(-[a-z0-9-]+)?$")]
    private static partial Regex PinnedDotnetImage();

    private static Version Version(string image) => System.Version.Parse(image.Split(':')[1].Split('-')[0]);

    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Join(to, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.GetDirectories(from).Where(d => Path.GetFileName(d) is not ("bin" or "obj")))
        {
            CopySources(directory, Path.Join(to, Path.GetFileName(directory)));
        }
    }
}
