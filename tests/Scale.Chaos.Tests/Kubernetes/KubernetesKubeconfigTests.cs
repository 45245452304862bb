using System.Security.Cryptography;
using Scale.Chaos.Targets;
using Scale.Testing;

namespace Scale.Chaos.Tests.Kubernetes;

/// <summary>Building the Kubernetes target from a kubeconfig file, as `aws eks update-kubeconfig` writes one.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KubernetesKubeconfigTests
{
    [Fact]
    public async Task KubernetesTarget_KubeconfigWithNamedContext_TalksToItsServerWithItsToken()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        using var folder = new TempFolder("scale-chaos-kubeconfig-");
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var path = WriteKubeconfig(folder, api.Address, token, currentContext: "elsewhere");

        await using var target = new KubernetesTarget(new KubernetesTargetOptions { KubeconfigPath = path, Context = "loopback" }, TextWriter.Null);
        var roles = await target.DatabaseRolesAsync(CancellationToken.None);

        Assert.Equal("scale-db-2", roles.Primary);
        Assert.Equal(api.Address, target.ApiServer);
        Assert.All(api.Requests, request => Assert.Equal($"Bearer {token}", request.Authorization));
    }

    [Fact]
    public async Task KubernetesTarget_KubeconfigWithoutContextOption_UsesTheCurrentContext()
    {
        await using var api = await RecordedKubernetesApi.StartAsync();
        using var folder = new TempFolder("scale-chaos-kubeconfig-");
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var path = WriteKubeconfig(folder, api.Address, token, currentContext: "loopback");

        await using var target = new KubernetesTarget(new KubernetesTargetOptions { KubeconfigPath = path }, TextWriter.Null);
        var instances = await target.InstancesAsync(CancellationToken.None);

        Assert.Equal(16, instances.Count);
        Assert.NotEmpty(api.Requests);
    }

    [Fact]
    public void KubernetesTarget_UnknownContext_ThrowsChaosException()
    {
        using var folder = new TempFolder("scale-chaos-kubeconfig-");
        var path = WriteKubeconfig(folder, new Uri("http://127.0.0.1:9/"), "unused", currentContext: "loopback");

        var error = Assert.Throws<ChaosException>(() => new KubernetesTarget(new KubernetesTargetOptions { KubeconfigPath = path, Context = "prod" }, TextWriter.Null));

        Assert.StartsWith("Kubernetes: cannot use the kubeconfig (context 'prod'):", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KubernetesTarget_MissingKubeconfigFile_ThrowsChaosException()
    {
        using var folder = new TempFolder("scale-chaos-kubeconfig-");
        var path = Path.Join(folder.Path, "missing");

        var error = Assert.Throws<ChaosException>(() => new KubernetesTarget(new KubernetesTargetOptions { KubeconfigPath = path }, TextWriter.Null));

        Assert.Equal($"Kubernetes: the kubeconfig file '{path}' does not exist.", error.Message);
    }

    private static string WriteKubeconfig(TempFolder folder, Uri server, string token, string currentContext)
    {
        var path = Path.Join(folder.Path, "config");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
              - name: loopback
                cluster:
                  server: {server.ToString().TrimEnd('/')}
              - name: elsewhere
                cluster:
                  server: http://127.0.0.1:9
            contexts:
              - name: loopback
                context:
                  cluster: loopback
                  user: chaos
                  namespace: scale
              - name: elsewhere
                context:
                  cluster: elsewhere
                  user: chaos
            current-context: {currentContext}
            users:
              - name: chaos
                user:
                  token: {token}
            """);
        return path;
    }
}
