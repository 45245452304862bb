using System.Text.Json.Nodes;

namespace Scale.Chaos.Probes;

/// <summary>
/// A stretch during which one server on one timeline acknowledged writes: from its first to its last acknowledgement
/// (offsets on the prober's clock). A failover starts a new epoch (another server, a higher timeline).
/// </summary>
public sealed record WriteEpoch(
    string Server,
    long Timeline,
    long? SystemIdentifier,
    TimeSpan FirstAcknowledged,
    TimeSpan LastAcknowledged,
    long Writes,
    IReadOnlyList<string> Endpoints)
{
    /// <summary>"address:port timeline N", for messages.</summary>
    public string Label => $"{Server} timeline {Timeline}";

    public JsonObject ToJson() => new()
    {
        ["server"] = Server,
        ["timeline"] = Timeline,
        ["system_identifier"] = SystemIdentifier?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["first_ack_s"] = Seconds(FirstAcknowledged),
        ["last_ack_s"] = Seconds(LastAcknowledged),
        ["writes"] = Writes,
        ["endpoints"] = new JsonArray([.. Endpoints.Select(e => (JsonNode)e)]),
    };

    internal static double Seconds(TimeSpan offset) => Math.Round(offset.TotalSeconds, 3);
}

/// <summary>
/// Two epochs whose acknowledgement intervals intersect, from <see cref="From"/> to <see cref="To"/> (the later first
/// acknowledgement to the earlier last one). <see cref="ProvingWrites"/> counts the writes that prove both servers
/// accepted writes at the same moment (the rule is on <see cref="WriteHistoryCheck"/>); with none, the intersection
/// comes only from late acknowledgements and proves nothing.
/// </summary>
public sealed record EpochOverlap(
    WriteEpoch First,
    WriteEpoch Second,
    TimeSpan From,
    TimeSpan To,
    long AcknowledgedInOverlap,
    long ProvingWrites,
    IReadOnlyList<long> ProvingIds)
{
    public bool Proven => ProvingWrites > 0;

    public JsonObject ToJson() => new()
    {
        ["first"] = First.Label,
        ["second"] = Second.Label,
        ["from_s"] = WriteEpoch.Seconds(From),
        ["to_s"] = WriteEpoch.Seconds(To),
        ["acknowledged_in_overlap"] = AcknowledgedInOverlap,
        ["proving_writes"] = ProvingWrites,
        ["proving_ids"] = new JsonArray([.. ProvingIds.Select(id => (JsonNode)id)]),
    };
}

/// <summary>An acknowledged write whose row names another server or timeline than the acknowledgement did.</summary>
public sealed record RowMismatch(long Id, string Endpoint, string AcknowledgedBy, long AcknowledgedTimeline, string? RowServer, long? RowTimeline)
{
    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["endpoint"] = Endpoint,
        ["acknowledged_by"] = AcknowledgedBy,
        ["acknowledged_timeline"] = AcknowledgedTimeline,
        ["row_server"] = RowServer,
        ["row_timeline"] = RowTimeline,
    };
}

/// <summary>What one endpoint's writes came to.</summary>
public sealed record WriteEndpointSummary(
    string Name,
    bool Direct,
    long Attempts,
    long Acknowledged,
    long RefusedReadOnly,
    long Timeouts,
    long ConnectionFailures,
    long OtherFailures,
    double LongestGapSeconds)
{
    public JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["direct"] = Direct,
        ["attempts"] = Attempts,
        ["acknowledged"] = Acknowledged,
        ["refused_read_only"] = RefusedReadOnly,
        ["timeouts"] = Timeouts,
        ["connection_failures"] = ConnectionFailures,
        ["other_failures"] = OtherFailures,
        ["longest_gap_s"] = Math.Round(LongestGapSeconds, 3),
    };
}

/// <summary>
/// The write history checked against the database: acknowledged writes that are missing (<see cref="LostIds"/>), rows
/// whose recorded server or timeline disagrees with their acknowledgement (<see cref="Mismatches"/>), and whether two
/// primaries accepted writes at the same time (<see cref="Overlaps"/>). <see cref="Holds"/> is all three clean.
/// </summary>
/// <param name="Acknowledged">Acknowledged writes in the history checked.</param>
/// <param name="LostIds">Acknowledged ids missing from the table (ascending).</param>
/// <param name="Mismatches">Present rows written by another server or timeline than the one that acknowledged them.</param>
/// <param name="Epochs">Every (server, timeline) that acknowledged writes, by first acknowledgement.</param>
/// <param name="Overlaps">Epoch pairs proven to have accepted writes at the same moment: two primaries.</param>
/// <param name="UnprovenOverlaps">Epoch pairs whose acknowledgement intervals intersect only through late
/// acknowledgements (a write sent before the other epoch began, acknowledged after): reported, not a failure.</param>
/// <param name="UnacknowledgedPresent">Rows present whose write was not acknowledged (failed after committing, or still in flight).</param>
/// <param name="LongestGapSeconds">The longest stretch without an acknowledged write through the client-facing
/// endpoints (every endpoint when all are direct), from the first scheduled write to the check.</param>
/// <param name="Endpoints">Per endpoint: attempts and outcomes.</param>
/// <param name="ReadFrom">The endpoint the rows were read back through.</param>
public sealed record WriteHistoryVerdict(
    long Acknowledged,
    IReadOnlyList<long> LostIds,
    IReadOnlyList<RowMismatch> Mismatches,
    IReadOnlyList<WriteEpoch> Epochs,
    IReadOnlyList<EpochOverlap> Overlaps,
    IReadOnlyList<EpochOverlap> UnprovenOverlaps,
    long UnacknowledgedPresent,
    double LongestGapSeconds,
    IReadOnlyList<WriteEndpointSummary> Endpoints,
    string ReadFrom)
{
    /// <summary>The lists in <see cref="ToJson"/> stop after this many entries (the counts stay exact).</summary>
    public const int JsonListLimit = 100;

    public long Lost => LostIds.Count;

    public bool TwoPrimaries => Overlaps.Count > 0;

    /// <summary>No acknowledged write lost, every row as acknowledged, never two primaries.</summary>
    public bool Holds => Lost == 0 && Mismatches.Count == 0 && !TwoPrimaries;

    /// <summary>For the journal; long lists are cut at <see cref="JsonListLimit"/>.</summary>
    public JsonObject ToJson() => new()
    {
        ["holds"] = Holds,
        ["read_from"] = ReadFrom,
        ["acknowledged"] = Acknowledged,
        ["lost"] = Lost,
        ["lost_ids"] = new JsonArray([.. LostIds.Take(JsonListLimit).Select(id => (JsonNode)id)]),
        ["mismatches"] = Mismatches.Count,
        ["mismatched_rows"] = new JsonArray([.. Mismatches.Take(JsonListLimit).Select(m => (JsonNode)m.ToJson())]),
        ["two_primaries"] = TwoPrimaries,
        ["overlaps"] = new JsonArray([.. Overlaps.Select(o => (JsonNode)o.ToJson())]),
        ["unproven_overlaps"] = new JsonArray([.. UnprovenOverlaps.Select(o => (JsonNode)o.ToJson())]),
        ["unacknowledged_present"] = UnacknowledgedPresent,
        ["longest_gap_s"] = Math.Round(LongestGapSeconds, 3),
        ["epochs"] = new JsonArray([.. Epochs.Select(e => (JsonNode)e.ToJson())]),
        ["endpoints"] = new JsonArray([.. Endpoints.Select(e => (JsonNode)e.ToJson())]),
    };
}
