using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Scale.Chaos.Targets;

namespace Scale.Chaos.Tests.Kubernetes;

/// <summary>One request the API server got.</summary>
public sealed record RecordedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Query, string Body, string? Authorization)
{
    public string? QueryValue(string name) => Query.TryGetValue(name, out var value) ? value : null;

    public override string ToString() => $"{Method} {Path}{(Query.Count > 0 ? "?" + string.Join("&", Query.Select(pair => $"{pair.Key}={pair.Value}")) : "")}";
}

/// <summary>
/// A loopback Kestrel server that answers the Kubernetes API paths the target uses with recorded responses, and
/// records every request. Pod lists are served by label selector (an unknown selector gets an empty PodList, as the
/// API does), nodes from the recorded NodeList, the CloudNativePG Cluster from its recording; a DELETE of a pod
/// answers the pod (the API's answer to a deletion with grace period 0). <see cref="Fail"/> makes a path answer an
/// error Status instead.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RecordedKubernetesApi : IAsyncDisposable
{
    private const string Namespace = "scale";

    private readonly WebApplication app;
    private readonly ConcurrentQueue<RecordedRequest> requests = new();
    private readonly ConcurrentDictionary<string, string> podLists = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (int Status, string Body)> failures = new(StringComparer.Ordinal);
    private readonly JsonArray nodes = Recorded.Json(Recorded.Nodes)["items"]!.AsArray();

    private RecordedKubernetesApi(WebApplication app) => this.app = app;

    /// <summary>http://127.0.0.1:PORT</summary>
    public Uri Address { get; private set; } = null!;

    public IReadOnlyList<RecordedRequest> Requests => [.. requests];

    public IReadOnlyList<RecordedRequest> Deletes => [.. requests.Where(request => request.Method == "DELETE")];

    /// <summary>The Cluster object served at .../clusters/scale-db; null: 404.</summary>
    public string? Cluster { get; set; } = Recorded.Text(Recorded.HealthyCluster);

    /// <summary>The deployed layout: six web pods, three database instances, the extract Job's pods, the healthy Cluster.</summary>
    public static Task<RecordedKubernetesApi> StartAsync() => StartAsync(pods =>
    {
        pods[KubernetesTargetOptions.DefaultWebSelector] = Recorded.Text(Recorded.WebPods);
        pods[new KubernetesTargetOptions().DatabaseSelector] = Recorded.Text(Recorded.DatabasePods);
        pods[KubernetesTargetOptions.DefaultBatchSelector] = Recorded.Text(Recorded.BatchPods);
    });

    public static async Task<RecordedKubernetesApi> StartAsync(Action<IDictionary<string, string>> podLists)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var api = new RecordedKubernetesApi(app);
        podLists(api.podLists);
        api.Map();
        await app.StartAsync();
        api.Address = new Uri(app.Urls.Single());
        return api;
    }

    /// <summary>Serves <paramref name="podList"/> (PodList JSON) for pods listed with <paramref name="selector"/>.</summary>
    public void Pods(string selector, string podList) => podLists[selector] = podList;

    /// <summary>Answers <paramref name="method"/> <paramref name="path"/> with <paramref name="status"/> and <paramref name="body"/> (a recorded Status).</summary>
    public void Fail(string method, string path, HttpStatusCode status, string body) => failures[$"{method} {path}"] = ((int)status, body);

    /// <summary>A client configuration for this server, as a kubeconfig would give it.</summary>
    public KubernetesClientConfiguration Configuration() => new() { Host = Address.ToString() };

    public KubernetesTarget Target(KubernetesTargetOptions? options = null, TextWriter? log = null) =>
        new(options ?? new KubernetesTargetOptions(), Configuration(), log ?? TextWriter.Null);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private void Map()
    {
        app.Use(async (context, next) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var query = context.Request.Query.ToDictionary(pair => pair.Key, pair => pair.Value.ToString(), StringComparer.Ordinal);
            var path = context.Request.Path.Value ?? "";
            requests.Enqueue(new RecordedRequest(context.Request.Method, path, query, body, context.Request.Headers.Authorization.FirstOrDefault()));
            if (failures.TryGetValue($"{context.Request.Method} {path}", out var failure))
            {
                await WriteAsync(context, failure.Status, failure.Body);
                return;
            }

            await next(context);
        });

        app.MapGet("/api/v1/namespaces/{ns}/pods", (string ns, HttpContext context) =>
        {
            var selector = context.Request.Query["labelSelector"].ToString();
            var list = ns == Namespace && podLists.TryGetValue(selector, out var text)
                ? text
                : """{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"4817265"},"items":[]}""";
            return Json(200, list);
        });

        app.MapGet("/api/v1/nodes/{name}", (string name) =>
        {
            var node = nodes.FirstOrDefault(item => (string?)item!["metadata"]!["name"] == name);
            if (node is null)
            {
                return Json(404, NotFound("nodes", "", name));
            }

            var copy = node.DeepClone().AsObject();
            copy.Insert(0, "kind", "Node");
            copy.Insert(1, "apiVersion", "v1");
            return Json(200, copy.ToJsonString());
        });

        app.MapGet("/apis/postgresql.cnpg.io/v1/namespaces/{ns}/clusters/{name}", (string ns, string name) =>
            ns == Namespace && name == "scale-db" && Cluster is { } cluster
                ? Json(200, cluster)
                : Json(404, NotFound("clusters", "postgresql.cnpg.io", name)));

        app.MapDelete("/api/v1/namespaces/{ns}/pods/{name}", (string ns, string name) =>
        {
            var pod = ns == Namespace
                ? podLists.Values
                    .SelectMany(list => JsonNode.Parse(list)!["items"]!.AsArray())
                    .FirstOrDefault(item => (string?)item!["metadata"]!["name"] == name)
                : null;
            if (pod is null)
            {
                return Json(404, NotFound("pods", "", name));
            }

            var copy = pod.DeepClone().AsObject();
            copy.Insert(0, "kind", "Pod");
            copy.Insert(1, "apiVersion", "v1");
            copy["metadata"]!["deletionTimestamp"] = "2025-06-12T09:45:00Z";
            copy["metadata"]!["deletionGracePeriodSeconds"] = 0;
            return Json(200, copy.ToJsonString());
        });

        app.MapFallback(() => Json(404, NotFound("", "", "the path")));
    }

    private static IResult Json(int status, string body) => Results.Text(body, "application/json", statusCode: status);

    private static Task WriteAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>The Status the API server answers for a missing object.</summary>
    private static string NotFound(string kind, string group, string name)
    {
        var resource = group.Length > 0 ? $"{kind}.{group}" : kind;
        return new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = $"{resource} \"{name}\" not found",
            ["reason"] = "NotFound",
            ["details"] = group.Length > 0
                ? new JsonObject { ["name"] = name, ["group"] = group, ["kind"] = kind }
                : new JsonObject { ["name"] = name, ["kind"] = kind },
            ["code"] = 404,
        }.ToJsonString();
    }
}
