using Scale.Deploy.Tests.Kubernetes;
using Scale.Testing;

namespace Scale.Deploy.Tests;

/// <summary>
/// deploy/up.sh and deploy/down.sh without AWS or a cluster: their dry runs print every step in order and render
/// exactly what would be applied; real runs check prerequisites first and stop with a clear message before touching
/// anything. Each script runs with a PATH holding only the programs named per test (a folder of links), so no real
/// aws, terraform, helm or docker can ever be reached; where a run must find one, a stand-in records that it was
/// called and fails.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DeployScriptTests : IDisposable
{
    private static readonly string Root = Checkout.Root;
    private static readonly string[] BaseTools = ["bash", "kubectl", "git", "sed", "grep", "head", "cat", "mkdir", "dirname", "rm", "tr", "base64", "sleep", "env", "awk"];
    private readonly TempFolder _work = new("scale-deploy-scripts");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Scripts_PassBashSyntaxCheck_AndShellcheck()
    {
        var scripts = Directory.GetFiles(Path.Join(Root, "deploy"), "*.sh", SearchOption.AllDirectories)
            .Where(s => !s.Contains(".generated", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        Assert.Contains(scripts, s => s.EndsWith("up.sh", StringComparison.Ordinal));
        Assert.Contains(scripts, s => s.EndsWith("down.sh", StringComparison.Ordinal));
        foreach (var script in scripts)
        {
            var syntax = await Tools.RunAsync("bash", ["-n", script], TimeSpan.FromSeconds(30));
            Assert.True(syntax.ExitCode == 0, $"{script}: {syntax.Output}");
        }

        var shellcheck = await Tools.RunAsync(await Tools.RequireAsync("shellcheck", "shellcheck"), ["-x", .. scripts], TimeSpan.FromMinutes(1), workingDirectory: Path.Join(Root, "deploy"));
        Assert.True(shellcheck.ExitCode == 0, shellcheck.Output);
    }

    [Fact]
    public async Task UpDryRun_Eks_PrintsEveryStepInOrder_AndRendersTheDeployTimeManifests()
    {
        var result = await RunAsync("up.sh", ["--env", "eks", "--dry-run", "--corpus", "/data/lmd_full", "--backups"], BaseTools);

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("Dry run: nothing below is done.", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("missing aws terraform helm", result.Stdout, StringComparison.Ordinal);
        AssertInOrder(result.Stdout,
            "terraform -chdir=", "init -input=false",
            "apply -input=false -auto-approve -var region=eu-west-1 -var name=scale",
            "aws eks update-kubeconfig",
            "docker login", "image/build.sh --image <image_repository> --tag", "--push",
            "helm upgrade --install cnpg cnpg/cloudnative-pg --version 0.29.1",
            "secret monitoring/grafana-admin",
            "helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack --version 87.12.5",
            "kubectl apply --server-side -f", "wait cluster/scale-db --for=condition=Ready",
            "rollout status deployment/scale-web",
            "aws s3 sync /data/lmd_full s3://<corpus_bucket>/lmd_full",
            "job/scale-db-migrate", "job/scale-extract", "job/scale-similar",
            "app:     http://", "grafana: http://", "undo:    deploy/down.sh --env eks");

        // What would be applied: the overlay with the pushed image, the corpus address and the IRSA role.
        var app = Manifests.Load("generated eks app", await File.ReadAllTextAsync(Path.Join(Root, "deploy", ".generated", "eks", "app.yaml")));
        var batch = Manifests.Load("generated eks batch", await File.ReadAllTextAsync(Path.Join(Root, "deploy", ".generated", "eks", "batch.yaml")));
        var commit = (await Tools.RunAsync("git", ["rev-parse", "--short=12", "HEAD"], TimeSpan.FromSeconds(10), workingDirectory: Root)).Stdout.Trim();
        Assert.Equal($"<image_repository>:{commit}", Assert.Single(app.Named<k8s.Models.V1Deployment>("scale-web").Spec.Template.Spec.Containers).Image);
        Assert.All(batch.PodTemplates.SelectMany(t => t.AllContainers), c => Assert.Equal($"<image_repository>:{commit}", c.Image));
        Assert.Equal("<batch_role_arn>", batch.Named<k8s.Models.V1ServiceAccount>("scale-batch").Metadata.Annotations["eks.amazonaws.com/role-arn"]);
        var settings = batch.All<k8s.Models.V1ConfigMap>().Single().Data;
        Assert.Equal("s3://<corpus_bucket>/lmd_full", settings["SCALE_SOURCE"]);
        Assert.Equal("<region>", settings["AWS_REGION"]);
        Assert.Contains(app.All<k8s.Models.V1Service>(), s => s.Spec.Type == "LoadBalancer");
        Assert.Single(app.All<CnpgScheduledBackup>());
    }

    [Fact]
    public async Task UpDryRun_Local_UsesTheGivenImage_AndNoAws()
    {
        var kubeconfig = WriteKubeconfig("kind-scale");
        var result = await RunAsync("up.sh", ["--env", "local", "--dry-run", "--image", "registry.example/scale:1.2.3"], BaseTools, new() { ["KUBECONFIG"] = kubeconfig });

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("kubectl context: kind-scale", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("terraform", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("aws ", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("build.sh", result.Stdout, StringComparison.Ordinal);
        AssertInOrder(result.Stdout, "using registry.example/scale:1.2.3", "helm upgrade --install cnpg", "helm upgrade --install kube-prometheus-stack",
            "kubectl apply --server-side", "job/scale-db-migrate", "job/scale-extract", "job/scale-similar", "port-forward svc/scale-web 8080:80");
        var batch = Manifests.Load("generated local batch", await File.ReadAllTextAsync(Path.Join(Root, "deploy", ".generated", "local", "batch.yaml")));
        Assert.All(batch.PodTemplates.SelectMany(t => t.AllContainers), c => Assert.Equal("registry.example/scale:1.2.3", c.Image));
        Assert.Null(batch.Named<k8s.Models.V1ServiceAccount>("scale-batch").Metadata.Annotations);
    }

    [Fact]
    public async Task Up_WithoutItsPrerequisites_StopsFirst_NamingEachMissingToolAndWhereToGetIt()
    {
        var result = await RunAsync("up.sh", ["--env", "eks"], BaseTools);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("deploy/up.sh: missing prerequisites: aws terraform helm docker", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("helm: Helm 3: https://helm.sh/docs/intro/install/", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("terraform: Terraform >= 1.6", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("[2]", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_WithoutAwsCredentials_StopsBeforeTerraform()
    {
        var log = Path.Join(_work.Path, "calls.log");
        var result = await RunAsync("up.sh", ["--env", "eks"], BaseTools, standIns: ["aws", "terraform", "helm", "docker"], callLog: log);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the AWS CLI has no working credentials", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(["aws sts get-caller-identity --query Arn --output text"], await File.ReadAllLinesAsync(log));
    }

    [Fact]
    public async Task UpLocal_RefusesAClusterThatIsNotKindOrMinikube()
    {
        var log = Path.Join(_work.Path, "calls.log");
        var kubeconfig = WriteKubeconfig("production-eu");
        var result = await RunAsync("up.sh", ["--env", "local"], BaseTools, new() { ["KUBECONFIG"] = kubeconfig }, ["helm", "docker"], log);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the current kubectl context is 'production-eu', not a kind (kind-*) or minikube cluster", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(log), "nothing was run");
    }

    [Theory]
    [InlineData(new string[0], "--env eks or --env local is required")]
    [InlineData(new[] { "--env", "gke" }, "--env must be eks or local, not 'gke'")]
    [InlineData(new[] { "--env", "eks", "--image", "scale:latest" }, "--image must be pinned to a version")]
    [InlineData(new[] { "--env", "eks", "--image", "scale" }, "--image must name a tag")]
    [InlineData(new[] { "--env", "local", "--corpus", "/tmp" }, "--corpus is for --env eks")]
    [InlineData(new[] { "--env", "eks", "--frobnicate" }, "unknown option '--frobnicate'")]
    [InlineData(new[] { "--env", "local", "--backups" }, "--backups is for --env eks")]
    public async Task Up_RejectsBadOptions_WithAClearMessage(string[] arguments, string message)
    {
        var result = await RunAsync("up.sh", arguments, BaseTools);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("[1]", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DownDryRun_Eks_RemovesInReverse_LoadBalancersBeforeTheVpc()
    {
        var result = await RunAsync("down.sh", ["--env", "eks", "--dry-run"], BaseTools);

        Assert.True(result.ExitCode == 0, result.Output);
        AssertInOrder(result.Stdout,
            "aws eks update-kubeconfig",
            "delete service scale-web-public",
            "delete namespace scale",
            "delete clusterrolebinding,clusterrole -l app.kubernetes.io/part-of=scale",
            "helm uninstall kube-prometheus-stack",
            "delete namespace monitoring",
            "helm uninstall cnpg",
            "apply -input=false -auto-approve -var region=eu-west-1 -var name=scale -var force_destroy_bucket=true",
            "destroy -input=false -auto-approve -var region=eu-west-1 -var name=scale -var force_destroy_bucket=true",
            "Done: nothing of Scale's is left on eks");
    }

    [Fact]
    public async Task Down_WithoutATerminalOrYes_RefusesAndRunsNothing()
    {
        var log = Path.Join(_work.Path, "calls.log");
        var result = await RunAsync("down.sh", ["--env", "eks"], BaseTools, standIns: ["aws", "terraform", "helm"], callLog: log);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("pass --yes to delete the deployment", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(log), "nothing was run");
    }

    private static void AssertInOrder(string text, params string[] parts)
    {
        var at = 0;
        foreach (var part in parts)
        {
            var found = text.IndexOf(part, at, StringComparison.Ordinal);
            Assert.True(found >= 0, $"'{part}' missing after position {at} in:\n{text}");
            at = found + part.Length;
        }
    }

    private string WriteKubeconfig(string context)
    {
        var path = Path.Join(_work.Path, $"kubeconfig-{context}");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
              - name: c
                cluster:
                  server: https://127.0.0.1:1
            users:
              - name: u
                user: {"{}"}
            contexts:
              - name: {context}
                context:
                  cluster: c
                  user: u
            current-context: {context}
            """);
        return path;
    }

    /// <summary>
    /// Runs a deploy script with PATH = a fresh folder holding links to <paramref name="tools"/> only, plus
    /// stand-ins (shell scripts that append their command line to <paramref name="callLog"/> and exit 97).
    /// </summary>
    private async Task<ToolResult> RunAsync(string script, string[] arguments, string[] tools, Dictionary<string, string>? environment = null, string[]? standIns = null, string? callLog = null)
    {
        var bin = Path.Join(_work.Path, $"bin-{Guid.NewGuid():N}");
        Directory.CreateDirectory(bin);
        foreach (var tool in tools)
        {
            var real = Tools.Find(tool)
                ?? throw new InvalidOperationException($"{tool} is not on PATH");
            File.CreateSymbolicLink(Path.Join(bin, tool), real);
        }

        var bash = File.ResolveLinkTarget(Path.Join(bin, "bash"), returnFinalTarget: true)?.FullName ?? Path.Join(bin, "bash");
        foreach (var standIn in standIns ?? [])
        {
            var path = Path.Join(bin, standIn);
            File.WriteAllText(path, $"#!{bash}\necho \"{standIn} $*\" >> '{callLog}'\nexit 97\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var variables = new Dictionary<string, string>(environment ?? []) { ["PATH"] = bin, ["HOME"] = _work.Path };
        variables.TryAdd("KUBECONFIG", Path.Join(_work.Path, "no-kubeconfig"));
        return await Tools.RunAsync(bash, [Path.Join(Root, "deploy", script), .. arguments], TimeSpan.FromMinutes(2), variables, Root);
    }
}
