using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Scale.Chaos.Targets;
using Scale.Testing;

namespace Scale.Chaos.Tests.Kubernetes;

/// <summary>One request the API server got.</summary>
public sealed record RecordedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Query, string Body, string? Authorization)
{
    /// <summary>The request's Content-Type (a PATCH says which patch format its body is).</summary>
    public string? ContentType { get; init; }

    /// <summary>A request that changes something: every method but GET.</summary>
    public bool Mutates => Method is not ("GET" or "HEAD");

    public string? QueryValue(string name) => Query.TryGetValue(name, out var value) ? value : null;

    public JsonNode BodyJson() => JsonNode.Parse(Body) ?? throw new InvalidOperationException($"{this}: empty body");

    public override string ToString() => $"{Method} {Path}{(Query.Count > 0 ? "?" + string.Join("&", Query.Select(pair => $"{pair.Key}={pair.Value}")) : "")}";
}

/// <summary>
/// A loopback Kestrel server that answers the Kubernetes API paths the target uses with recorded responses, and
/// records every request. Pod lists are served by label selector: a selector with a recorded list gets that list,
/// any other is evaluated over every recorded pod (equality, inequality and existence terms, as the API server
/// does), so a selector that matches nothing gets an empty PodList. Nodes come from the recorded NodeList, the
/// CloudNativePG Cluster from its recording, the NetworkPolicies from deploy/k8s/base/network-policies.yaml as the
/// API server would store them. A DELETE of a pod answers the pod (the API's answer to a deletion with grace period
/// 0). The objects the zone faults change are kept as state: a merge PATCH of a node or a pod applies RFC 7386 (and
/// a node's resourceVersion in the patch is a precondition: 409 when it is stale), NetworkPolicies can be created,
/// replaced and deleted. <see cref="Fail"/> makes a path answer an error Status instead.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RecordedKubernetesApi : IAsyncDisposable
{
    private const string Namespace = "scale";
    private const string BodyKey = "recorded-body";

    private readonly WebApplication app;
    private readonly ConcurrentQueue<RecordedRequest> requests = new();
    private readonly ConcurrentDictionary<string, string> podLists = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (int Status, string Body)> failures = new(StringComparer.Ordinal);
    private readonly JsonArray nodes = Recorded.Json(Recorded.Nodes)["items"]!.AsArray();
    private readonly ConcurrentDictionary<string, JsonObject> networkPolicies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Action<JsonObject>> nodeChangesBeforePatch = new(StringComparer.Ordinal);
    private readonly Lock stateLock = new();
    private long nextResourceVersion = 4900000;

    private RecordedKubernetesApi(WebApplication app) => this.app = app;

    /// <summary>http://127.0.0.1:PORT</summary>
    public Uri Address { get; private set; } = null!;

    public IReadOnlyList<RecordedRequest> Requests => [.. requests];

    public IReadOnlyList<RecordedRequest> Deletes => [.. requests.Where(request => request.Method == "DELETE")];

    /// <summary>Every request that changes something (POST, PUT, PATCH, DELETE), in the order they came.</summary>
    public IReadOnlyList<RecordedRequest> Mutations => [.. requests.Where(request => request.Mutates)];

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
        api.NetworkPolicies(DeployedNetworkPolicies());
        api.Map();
        await app.StartAsync();
        api.Address = new Uri(app.Urls.Single());
        return api;
    }

    /// <summary>Serves <paramref name="podList"/> (PodList JSON) for pods listed with <paramref name="selector"/>.</summary>
    public void Pods(string selector, string podList) => podLists[selector] = podList;

    /// <summary>Answers <paramref name="method"/> <paramref name="path"/> with <paramref name="status"/> and <paramref name="body"/> (a recorded Status).</summary>
    public void Fail(string method, string path, HttpStatusCode status, string body) => failures[$"{method} {path}"] = ((int)status, body);

    /// <summary>The node <paramref name="name"/> as the server holds it now (a copy).</summary>
    public JsonObject Node(string name)
    {
        lock (stateLock)
        {
            return FindNode(name)?.DeepClone().AsObject() ?? throw new InvalidOperationException($"no node {name}");
        }
    }

    /// <summary>Changes the node <paramref name="name"/> (labels, cordon, taints) before the test runs.</summary>
    public void ChangeNode(string name, Action<JsonObject> change)
    {
        lock (stateLock)
        {
            change(FindNode(name) ?? throw new InvalidOperationException($"no node {name}"));
        }
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the node (with a new resourceVersion) just before the next PATCH of it
    /// is handled, as another client would in between: a patch carrying the old resourceVersion then gets 409.
    /// </summary>
    public void ChangeNodeBeforeNextPatch(string name, Action<JsonObject> change) => nodeChangesBeforePatch[name] = change;

    /// <summary>The pod <paramref name="name"/> as the server holds it now (a copy).</summary>
    public JsonObject Pod(string name)
    {
        lock (stateLock)
        {
            return AllPods().FirstOrDefault(pod => (string?)pod["metadata"]!["name"] == name)?.DeepClone().AsObject()
                ?? throw new InvalidOperationException($"no pod {name}");
        }
    }

    /// <summary>Replaces the namespace's NetworkPolicies with <paramref name="policies"/> (stored as the API server would: namespace, uid, resourceVersion).</summary>
    public void NetworkPolicies(IEnumerable<V1NetworkPolicy> policies)
    {
        lock (stateLock)
        {
            networkPolicies.Clear();
            foreach (var policy in policies)
            {
                var stored = JsonNode.Parse(KubernetesJson.Serialize(policy))!.AsObject();
                Stamp(stored);
                networkPolicies[policy.Metadata.Name] = stored;
            }
        }
    }

    /// <summary>The names of the NetworkPolicies the server holds now.</summary>
    public IReadOnlyList<string> NetworkPolicyNames => [.. networkPolicies.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The NetworkPolicy <paramref name="name"/> as the server holds it now (a copy), or null.</summary>
    public JsonObject? NetworkPolicy(string name) => networkPolicies.TryGetValue(name, out var policy) ? policy.DeepClone().AsObject() : null;

    /// <summary>deploy/k8s/base/network-policies.yaml, in namespace scale.</summary>
    public static IReadOnlyList<V1NetworkPolicy> DeployedNetworkPolicies()
    {
        var yaml = File.ReadAllText(Path.Join(Checkout.Root, "deploy", "k8s", "base", "network-policies.yaml"));
        var policies = KubernetesYaml.LoadAllFromString(yaml).OfType<V1NetworkPolicy>().ToList();
        foreach (var policy in policies)
        {
            policy.Metadata.NamespaceProperty = Namespace;
        }

        return policies;
    }

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
            context.Items[BodyKey] = body;
            requests.Enqueue(new RecordedRequest(context.Request.Method, path, query, body, context.Request.Headers.Authorization.FirstOrDefault())
            {
                ContentType = context.Request.ContentType,
            });
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
            if (ns == Namespace && podLists.TryGetValue(selector, out var text))
            {
                return Json(200, text);
            }

            lock (stateLock)
            {
                var matching = ns == Namespace ? AllPods().Where(pod => SelectorMatches(selector, pod["metadata"]?["labels"] as JsonObject)) : [];
                return Json(200, List("PodList", matching));
            }
        });

        app.MapMethods("/api/v1/namespaces/{ns}/pods/{name}", ["PATCH"], (string ns, string name, HttpContext context) =>
        {
            var patch = JsonNode.Parse(BodyOf(context))!;
            lock (stateLock)
            {
                var copies = ns == Namespace ? PatchPodEverywhere(name, patch) : null;
                return copies is null ? Json(404, NotFound("pods", "", name)) : Json(200, Typed(copies, "Pod", "v1"));
            }
        });

        app.MapGet("/api/v1/nodes", (HttpContext context) =>
        {
            var selector = context.Request.Query["labelSelector"].ToString();
            lock (stateLock)
            {
                return Json(200, List("NodeList", nodes.Select(node => node!.AsObject()).Where(node => SelectorMatches(selector, node["metadata"]?["labels"] as JsonObject))));
            }
        });

        app.MapMethods("/api/v1/nodes/{name}", ["PATCH"], (string name, HttpContext context) =>
        {
            var patch = JsonNode.Parse(BodyOf(context))!;
            lock (stateLock)
            {
                if (FindNode(name) is not { } node)
                {
                    return Json(404, NotFound("nodes", "", name));
                }

                if (nodeChangesBeforePatch.TryRemove(name, out var change))
                {
                    change(node);
                    node["metadata"]!["resourceVersion"] = NextResourceVersion();
                }

                var expected = (string?)patch["metadata"]?["resourceVersion"];
                var current = (string?)node["metadata"]!["resourceVersion"];
                if (expected is not null && expected != current)
                {
                    return Json(409, Conflict("nodes", "", name));
                }

                MergePatch(node, patch.AsObject());
                node["metadata"]!["resourceVersion"] = NextResourceVersion();
                return Json(200, Typed(node, "Node", "v1"));
            }
        });

        const string Policies = "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies";
        app.MapGet(Policies, (string ns, HttpContext context) =>
        {
            var selector = context.Request.Query["labelSelector"].ToString();
            lock (stateLock)
            {
                var matching = ns == Namespace
                    ? networkPolicies.Values.Where(policy => SelectorMatches(selector, policy["metadata"]?["labels"] as JsonObject)).OrderBy(policy => (string?)policy["metadata"]!["name"], StringComparer.Ordinal)
                    : Enumerable.Empty<JsonObject>();
                return Json(200, List("NetworkPolicyList", matching, "networking.k8s.io/v1"));
            }
        });

        app.MapPost(Policies, (string ns, HttpContext context) =>
        {
            var policy = JsonNode.Parse(BodyOf(context))!.AsObject();
            var name = (string)policy["metadata"]!["name"]!;
            lock (stateLock)
            {
                if (ns != Namespace || networkPolicies.ContainsKey(name))
                {
                    return Json(409, Conflict("networkpolicies", "networking.k8s.io", name, "AlreadyExists"));
                }

                policy["metadata"]!["namespace"] = ns;
                Stamp(policy);
                networkPolicies[name] = policy;
                return Json(201, policy.ToJsonString());
            }
        });

        app.MapPut(Policies + "/{name}", (string ns, string name, HttpContext context) =>
        {
            var policy = JsonNode.Parse(BodyOf(context))!.AsObject();
            lock (stateLock)
            {
                if (ns != Namespace || !networkPolicies.TryGetValue(name, out var stored))
                {
                    return Json(404, NotFound("networkpolicies", "networking.k8s.io", name));
                }

                if ((string?)policy["metadata"]?["resourceVersion"] != (string?)stored["metadata"]!["resourceVersion"])
                {
                    return Json(409, Conflict("networkpolicies", "networking.k8s.io", name));
                }

                policy["metadata"]!["namespace"] = ns;
                policy["metadata"]!["uid"] = (string?)stored["metadata"]!["uid"];
                policy["metadata"]!["resourceVersion"] = NextResourceVersion();
                networkPolicies[name] = policy;
                return Json(200, policy.ToJsonString());
            }
        });

        app.MapDelete(Policies + "/{name}", (string ns, string name) =>
        {
            lock (stateLock)
            {
                return ns == Namespace && networkPolicies.TryRemove(name, out var removed)
                    ? Json(200, """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"NAME","group":"networking.k8s.io","kind":"networkpolicies","uid":"UID"}}""".Replace("NAME", name, StringComparison.Ordinal).Replace("UID", (string?)removed["metadata"]!["uid"], StringComparison.Ordinal))
                    : Json(404, NotFound("networkpolicies", "networking.k8s.io", name));
            }
        });

        app.MapGet("/api/v1/nodes/{name}", (string name) =>
        {
            lock (stateLock)
            {
                return FindNode(name) is { } node ? Json(200, Typed(node, "Node", "v1")) : Json(404, NotFound("nodes", "", name));
            }
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

    private static string BodyOf(HttpContext context) => (string)context.Items[BodyKey]!;

    private static IResult Json(int status, string body) => Results.Text(body, "application/json", statusCode: status);

    private JsonObject? FindNode(string name) =>
        nodes.FirstOrDefault(item => (string?)item!["metadata"]!["name"] == name)?.AsObject();

    private string NextResourceVersion() => Interlocked.Increment(ref nextResourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void Stamp(JsonObject stored)
    {
        var metadata = stored["metadata"]!.AsObject();
        metadata["uid"] ??= Guid.NewGuid().ToString();
        metadata["resourceVersion"] = NextResourceVersion();
        metadata["creationTimestamp"] ??= "2025-06-12T09:40:00Z";
        metadata["generation"] ??= 1;
    }

    /// <summary>Every recorded pod once (a pod in several lists: the first), as stored.</summary>
    private IEnumerable<JsonObject> AllPods()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var list in podLists.Values)
        {
            foreach (var pod in JsonNode.Parse(list)!["items"]!.AsArray().Select(item => item!.AsObject()))
            {
                if (seen.Add((string)pod["metadata"]!["name"]!))
                {
                    yield return pod;
                }
            }
        }
    }

    /// <summary>Applies <paramref name="patch"/> to the pod in every recorded list that holds it; the patched pod, or null when none does.</summary>
    private JsonObject? PatchPodEverywhere(string name, JsonNode patch)
    {
        JsonObject? patched = null;
        foreach (var (selector, text) in podLists.ToList())
        {
            var list = JsonNode.Parse(text)!.AsObject();
            var pod = list["items"]!.AsArray().FirstOrDefault(item => (string?)item!["metadata"]!["name"] == name)?.AsObject();
            if (pod is null)
            {
                continue;
            }

            MergePatch(pod, patch.AsObject());
            pod["metadata"]!["resourceVersion"] = NextResourceVersion();
            podLists[selector] = list.ToJsonString();
            patched = pod;
        }

        return patched;
    }

    /// <summary>RFC 7386 JSON merge patch, in place: null removes a member, objects merge, anything else replaces.</summary>
    private static void MergePatch(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch.ToList())
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is JsonObject inner && target[key] is JsonObject existing)
            {
                MergePatch(existing, inner);
            }
            else if (value is JsonObject fresh)
            {
                var created = new JsonObject();
                MergePatch(created, fresh);
                target[key] = created;
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }
    }

    /// <summary>
    /// A label selector in the API's text form: comma-separated terms key=value, key==value, key!=value, key and
    /// !key (the set-based forms are not used by the target). An empty selector matches everything.
    /// </summary>
    private static bool SelectorMatches(string selector, JsonObject? labels)
    {
        string? Label(string key) => (string?)labels?[key];
        foreach (var term in selector.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var matches = term switch
            {
                _ when term.Contains("!=", StringComparison.Ordinal) => Label(term.Split("!=")[0]) != term.Split("!=")[1],
                _ when term.Contains("==", StringComparison.Ordinal) => Label(term.Split("==")[0]) == term.Split("==")[1],
                _ when term.Contains('=', StringComparison.Ordinal) => Label(term.Split('=')[0]) == term.Split('=')[1],
                _ when term.StartsWith('!') => Label(term[1..]) is null,
                _ => Label(term) is not null,
            };
            if (!matches)
            {
                return false;
            }
        }

        return true;
    }

    private static string List(string kind, IEnumerable<JsonObject> items, string apiVersion = "v1") => new JsonObject
    {
        ["kind"] = kind,
        ["apiVersion"] = apiVersion,
        ["metadata"] = new JsonObject { ["resourceVersion"] = "4817265" },
        ["items"] = new JsonArray([.. items.Select(item => item.DeepClone())]),
    }.ToJsonString();

    private static string Typed(JsonObject item, string kind, string apiVersion)
    {
        var copy = item.DeepClone().AsObject();
        copy.Remove("kind");
        copy.Remove("apiVersion");
        copy.Insert(0, "kind", kind);
        copy.Insert(1, "apiVersion", apiVersion);
        return copy.ToJsonString();
    }

    /// <summary>The Status the API server answers for a stale resourceVersion (Conflict) or a name taken (AlreadyExists).</summary>
    private static string Conflict(string kind, string group, string name, string reason = "Conflict")
    {
        var resource = group.Length > 0 ? $"{kind}.{group}" : kind;
        return new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = reason == "AlreadyExists"
                ? $"{resource} \"{name}\" already exists"
                : $"Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            ["reason"] = reason,
            ["details"] = new JsonObject { ["name"] = name, ["group"] = group, ["kind"] = kind },
            ["code"] = 409,
        }.ToJsonString();
    }

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
