using System.Text.Json;

namespace Scale.Lab.Patroni;

/// <summary>One Patroni member as its REST API (<c>GET /patroni</c>) describes it.</summary>
/// <param name="Role">primary or replica (Patroni's "master" is reported as primary); null when unreachable.</param>
/// <param name="State">running, starting, stopped, ...</param>
/// <param name="Timeline">PostgreSQL's timeline: it grows by one at each promotion.</param>
/// <param name="ReplicationState">On a replica: streaming, or in archive recovery while it catches up.</param>
/// <param name="StreamingReplicas">On a primary: the members streaming from it (pg_stat_replication state streaming).</param>
public sealed record PatroniMember(string? Role, string? State, long? Timeline, string? ReplicationState, IReadOnlyList<string> StreamingReplicas)
{
    public static PatroniMember Unreachable { get; } = new(null, null, null, null, []);

    public bool IsRunningPrimary => Role == "primary" && State == "running";

    /// <summary>Parses the body of <c>GET /patroni</c>.</summary>
    public static PatroniMember Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var role = Text(root, "role") switch { "master" or "primary" => "primary", var other => other };
        var state = Text(root, "state");
        // A replica whose replication connection failed reports "timeline": null (Patroni 3.0's replica_cached_timeline).
        long? timeline = root.TryGetProperty("timeline", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt64(out var tl) ? tl : null;
        var replicationState = Text(root, "replication_state");
        var streaming = root.TryGetProperty("replication", out var replication) && replication.ValueKind == JsonValueKind.Array
            ? replication.EnumerateArray()
                .Where(e => Text(e, "state") == "streaming")
                .Select(e => Text(e, "application_name") ?? "")
                .Order(StringComparer.Ordinal)
                .ToList()
            : [];
        return new PatroniMember(role, state, timeline, replicationState, streaming);
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>Patroni's REST API on one member: its role and state, and the role checks the load balancer uses.</summary>
public sealed class PatroniClient(HttpClient http)
{
    /// <summary>The member's view of itself; <see cref="PatroniMember.Unreachable"/> when it does not answer.</summary>
    public async Task<PatroniMember> MemberAsync(string address, CancellationToken cancellationToken)
    {
        try
        {
            return PatroniMember.Parse(await http.GetStringAsync(new Uri($"http://{address}/patroni"), cancellationToken));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return PatroniMember.Unreachable;
        }
    }

    /// <summary>
    /// True when the member answers 200 to the check HAProxy uses for the role: <c>OPTIONS /primary</c> (it holds the
    /// leader lock and runs as primary) or <c>OPTIONS /replica</c> (a running replica).
    /// </summary>
    public async Task<bool> HasRoleAsync(string address, bool primary, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Options, new Uri($"http://{address}/{(primary ? "primary" : "replica")}"));
            using var response = await http.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
