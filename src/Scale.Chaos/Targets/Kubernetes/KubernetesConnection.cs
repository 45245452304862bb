using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;

namespace Scale.Chaos.Targets.Kubernetes;

/// <summary>Finds the client configuration and turns the client's exceptions into <see cref="ChaosException"/>s a person can act on.</summary>
internal static class KubernetesConnection
{
    /// <summary>
    /// The configuration for <paramref name="options"/>: its kubeconfig file; else the files in $KUBECONFIG (merged,
    /// first wins); else ~/.kube/config; else, inside a pod, the pod's ServiceAccount (in-cluster).
    /// </summary>
    public static KubernetesClientConfiguration Configure(KubernetesTargetOptions options)
    {
        try
        {
            if (options.KubeconfigPath is { } path)
            {
                if (!File.Exists(path))
                {
                    throw new ChaosException($"Kubernetes: the kubeconfig file '{path}' does not exist.");
                }

                return KubernetesClientConfiguration.BuildConfigFromConfigFile(path, options.Context);
            }

            var fromEnvironment = (Environment.GetEnvironmentVariable("KUBECONFIG") ?? "")
                .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(File.Exists)
                .Select(file => new FileInfo(file))
                .ToArray();
            if (fromEnvironment.Length == 1 || (fromEnvironment.Length > 1 && options.Context is not null))
            {
                // With a context asked for: the first file that defines it (the client merges several files only
                // without a context override).
                var file = options.Context is null
                    ? fromEnvironment[0]
                    : fromEnvironment.FirstOrDefault(candidate => Defines(candidate, options.Context)) ?? fromEnvironment[0];
                return KubernetesClientConfiguration.BuildConfigFromConfigFile(file, options.Context);
            }

            if (fromEnvironment.Length > 1)
            {
                // The client's own merge of $KUBECONFIG, first occurrence wins, as kubectl does.
                return KubernetesClientConfiguration.BuildDefaultConfig();
            }

            if (File.Exists(KubernetesClientConfiguration.KubeConfigDefaultLocation))
            {
                return KubernetesClientConfiguration.BuildConfigFromConfigFile(
                    KubernetesClientConfiguration.KubeConfigDefaultLocation, options.Context);
            }

            if (KubernetesClientConfiguration.IsInCluster())
            {
                if (options.Context is not null)
                {
                    throw new ChaosException(
                        $"Kubernetes: context '{options.Context}' was asked for, but there is no kubeconfig (no $KUBECONFIG, no {KubernetesClientConfiguration.KubeConfigDefaultLocation}); inside a pod only the in-cluster ServiceAccount is available.");
                }

                return KubernetesClientConfiguration.InClusterConfig();
            }

            throw new ChaosException(
                $"Kubernetes: no kubeconfig ($KUBECONFIG is unset or names no existing file, {KubernetesClientConfiguration.KubeConfigDefaultLocation} does not exist) and not running in a pod. For EKS run `aws eks update-kubeconfig --region REGION --name CLUSTER` first (docs/chaos-k8s.md).");
        }
        catch (KubeConfigException e)
        {
            throw new ChaosException($"Kubernetes: cannot use the kubeconfig{ContextText(options.Context)}: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new ChaosException($"Kubernetes: cannot read the kubeconfig: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ChaosException($"Kubernetes: cannot read the kubeconfig: {e.Message}", e);
        }
    }

    /// <summary>
    /// Runs one API call; <paramref name="what"/> says what it does in words ("list pods app=x in namespace scale").
    /// HTTP errors, an unreachable server, timeouts and credential failures become <see cref="ChaosException"/>.
    /// </summary>
    public static async Task<T> CallAsync<T>(IKubernetes client, string what, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (HttpOperationException e)
        {
            throw FromResponse(what, e);
        }
        catch (HttpRequestException e)
        {
            throw new ChaosException($"Kubernetes: cannot {what}: the API server at {client.BaseUri} cannot be reached ({e.Message}).", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ChaosException($"Kubernetes: cannot {what}: the API server at {client.BaseUri} did not answer in time.", e);
        }
        catch (KubernetesClientException e)
        {
            throw new ChaosException($"Kubernetes: cannot {what}: the client failed before the request was answered ({e.Message}); check the kubeconfig's credentials (for EKS: the AWS credentials `aws eks get-token` uses).", e);
        }
        catch (KubeConfigException e)
        {
            throw new ChaosException($"Kubernetes: cannot {what}: the credentials could not be obtained ({e.Message}).", e);
        }
    }

    private static ChaosException FromResponse(string what, HttpOperationException e)
    {
        var status = e.Response?.StatusCode ?? 0;
        var serverMessage = StatusMessage(e.Response?.Content);
        var hint = status switch
        {
            HttpStatusCode.Unauthorized => "unauthorized: the API server rejected the credentials (an expired token? for EKS run `aws eks update-kubeconfig` again and check the AWS identity)",
            HttpStatusCode.Forbidden => "forbidden: the identity lacks the RBAC permission; docs/chaos-k8s.md lists the Role and ClusterRole it needs",
            HttpStatusCode.NotFound => "not found: check the namespace and names (--namespace, the Cluster name) and that the resource type is installed",
            _ => "the API server refused the request",
        };
        var code = status == 0 ? "no HTTP status" : $"HTTP {(int)status} {status}";
        var message = $"Kubernetes: cannot {what}: {code}, {hint}.";
        if (serverMessage is not null)
        {
            message += $" The API server says: {serverMessage}";
        }

        return new ChaosException(message, e);
    }

    /// <summary>The message of a metav1 Status body, or a short excerpt of whatever else the server sent.</summary>
    private static string? StatusMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("message", out var text)
                && text.ValueKind == JsonValueKind.String)
            {
                return text.GetString();
            }
        }
        catch (JsonException)
        {
        }

        var trimmed = body.Trim();
        return trimmed.Length <= 200 ? trimmed : trimmed[..200] + "...";
    }

    private static bool Defines(FileInfo file, string context) =>
        KubernetesClientConfiguration.LoadKubeConfig(file).Contexts?.Any(candidate => string.Equals(candidate.Name, context, StringComparison.Ordinal)) == true;

    private static string ContextText(string? context) => context is null ? "" : $" (context '{context}')";
}
