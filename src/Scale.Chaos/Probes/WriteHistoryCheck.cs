namespace Scale.Chaos.Probes;

/// <summary>
/// The analysis of a write history, without a database: which acknowledged writes are missing from the rows read
/// back, which rows disagree with their acknowledgement, the epochs (server, timeline) that acknowledged writes, and
/// whether two of them accepted writes at the same moment. <see cref="WriteProber.CheckHistoryAsync"/> feeds it.
/// </summary>
public static class WriteHistoryCheck
{
    /// <summary>An overlap lists at most this many proving ids (its count stays exact).</summary>
    public const int ProvingIdsListed = 20;

    /// <summary>
    /// Checks <paramref name="history"/> against <paramref name="rows"/> (this run's rows as read back now).
    /// <paramref name="end"/> is the moment of the check on the history's clock (for the gap after the last
    /// acknowledgement); <paramref name="readFrom"/> names the endpoint the rows came from.
    /// </summary>
    public static WriteHistoryVerdict Check(
        IReadOnlyList<WriteAttempt> history,
        IEnumerable<StoredWrite> rows,
        IReadOnlyList<WriteEndpoint> endpoints,
        TimeSpan end,
        string readFrom)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(endpoints);
        var present = new Dictionary<long, StoredWrite>();
        foreach (var row in rows)
        {
            present[row.Id] = row;
        }

        var acknowledged = history.Where(a => a.EpochKey is not null).ToList();
        var acknowledgedIds = acknowledged.Select(a => a.Id).ToHashSet();
        var lost = new List<long>();
        var mismatches = new List<RowMismatch>();
        foreach (var write in acknowledged.OrderBy(a => a.Id))
        {
            if (!present.TryGetValue(write.Id, out var row))
            {
                lost.Add(write.Id);
            }
            else if (!string.Equals(row.Server, write.Server, StringComparison.Ordinal) || row.Timeline != write.Timeline)
            {
                mismatches.Add(new RowMismatch(write.Id, write.Endpoint, write.Server!, write.Timeline!.Value, row.Server, row.Timeline));
            }
        }

        var (proven, unproven) = Overlaps(history);
        var from = history.Count == 0 ? end : history.Min(a => a.IntendedAt);
        var clientFacing = endpoints.Where(e => !e.Direct).Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var gapHistory = clientFacing.Count == 0 ? history : history.Where(a => clientFacing.Contains(a.Endpoint));
        return new WriteHistoryVerdict(
            acknowledged.Count,
            lost,
            mismatches,
            Epochs(history),
            proven,
            unproven,
            present.Keys.Count(id => !acknowledgedIds.Contains(id)),
            LongestGapSeconds(gapHistory, from, end),
            [.. endpoints.Select(e => Summarise(e, history, end))],
            readFrom);
    }

    /// <summary>Acknowledged writes grouped by (server, timeline), ordered by first acknowledgement.</summary>
    public static IReadOnlyList<WriteEpoch> Epochs(IEnumerable<WriteAttempt> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        return [.. GroupEpochs(history).Select(g => g.Epoch)];
    }

    /// <summary>
    /// Which epochs accepted writes at the same moment. The rule, on the prober's own monotonic clock (no server
    /// clock is trusted):
    /// <list type="bullet">
    /// <item>An acknowledged write w committed at some unknown moment between <see cref="WriteAttempt.SentAt"/> and
    /// <see cref="WriteAttempt.CompletedAt"/>, nothing more precise.</item>
    /// <item>A server that acknowledged writes on one timeline is taken to have been a primary from its first commit
    /// on that timeline to its last (only a promotion leaves a timeline).</item>
    /// <item>A write w of epoch A <b>proves</b> that A and another epoch B were primaries at the same moment when
    /// <c>w.SentAt &gt; FirstAck(B)</c> (B had already committed a write when w was sent, so w committed after it) and
    /// <c>w.CompletedAt &lt; LastSent(B)</c> (B committed a write sent after w was acknowledged, so after w's commit).
    /// FirstAck(B) is the earliest acknowledgement of B's writes, LastSent(B) the latest send among them. Then B
    /// committed before and after w's commit on one timeline: at w's commit both accepted writes. Both directions
    /// (A's writes against B, B's against A) are checked; equal timestamps prove nothing.</item>
    /// <item>The edge case: a write sent to A <i>before</i> B's first acknowledgement and acknowledged after it proves
    /// nothing on its own, because it may have committed before B began and only its acknowledgement came late (held
    /// up by a partition, or waiting for the synchronous standby that was being promoted). The two epochs'
    /// acknowledgement intervals then intersect without proof: that pair is returned in <c>Unproven</c>, not as two
    /// primaries. A write sent to A after B's first acknowledgement, while B still acknowledged later-sent writes,
    /// is proof whatever its own delay.</item>
    /// <item>A server is named by the address and port it accepted the connection on: endpoints that reach one server
    /// by different addresses would show it as two servers on the same timeline (two primaries); give direct
    /// endpoints the addresses the load balancer uses. A primary stopped during another's epoch and restarted on its
    /// old timeline afterwards counts as an overlap too (its history and the other's diverged: a split brain).</item>
    /// </list>
    /// An overlap reports its interval as the intersection of the two epochs' acknowledgement intervals (the later
    /// first acknowledgement to the earlier last one), the acknowledged writes of either epoch inside it, and the
    /// proving writes (count, and the first <see cref="ProvingIdsListed"/> ids by acknowledgement).
    /// </summary>
    public static (IReadOnlyList<EpochOverlap> Proven, IReadOnlyList<EpochOverlap> Unproven) Overlaps(IEnumerable<WriteAttempt> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var epochs = GroupEpochs(history);
        var proven = new List<EpochOverlap>();
        var unproven = new List<EpochOverlap>();
        for (var i = 0; i < epochs.Count; i++)
        {
            for (var j = i + 1; j < epochs.Count; j++)
            {
                var (first, firstWrites) = epochs[i];
                var (second, secondWrites) = epochs[j];
                var from = Max(first.FirstAcknowledged, second.FirstAcknowledged);
                var to = Min(first.LastAcknowledged, second.LastAcknowledged);
                var proving = ProvingWrites(firstWrites, secondWrites).Concat(ProvingWrites(secondWrites, firstWrites))
                    .OrderBy(w => w.CompletedAt).ThenBy(w => w.Id).ToList();
                if (proving.Count == 0 && from >= to)
                {
                    // One epoch ended before the other began: a failover, as it should be.
                    continue;
                }

                var inOverlap = firstWrites.Concat(secondWrites).LongCount(w => w.CompletedAt >= from && w.CompletedAt <= to);
                var overlap = new EpochOverlap(first, second, from, to, inOverlap, proving.Count,
                    [.. proving.Take(ProvingIdsListed).Select(w => w.Id)]);
                (overlap.Proven ? proven : unproven).Add(overlap);
            }
        }

        return (proven, unproven);
    }

    /// <summary>The longest stretch between <paramref name="from"/> and <paramref name="to"/> without an acknowledged
    /// write in <paramref name="history"/>, in seconds (the whole span when none was acknowledged).</summary>
    public static double LongestGapSeconds(IEnumerable<WriteAttempt> history, TimeSpan from, TimeSpan to)
    {
        ArgumentNullException.ThrowIfNull(history);
        var previous = from;
        var longest = TimeSpan.Zero;
        foreach (var at in history.Where(a => a.Outcome == WriteOutcome.Acknowledged).Select(a => a.CompletedAt)
                     .Where(at => at >= from && at <= to).Order())
        {
            longest = Max(longest, at - previous);
            previous = at;
        }

        return Max(longest, to - previous).TotalSeconds;
    }

    /// <summary>A write of <paramref name="writes"/> (one epoch) proves an overlap with <paramref name="other"/> when
    /// it was sent after the other epoch's first acknowledgement and acknowledged before the other epoch's last
    /// send: see <see cref="Overlaps"/>.</summary>
    private static IEnumerable<WriteAttempt> ProvingWrites(List<WriteAttempt> writes, List<WriteAttempt> other)
    {
        var otherFirstAcknowledged = other.Min(w => w.CompletedAt);
        var otherLastSent = other.Max(w => w.SentAt!.Value);
        return writes.Where(w => w.SentAt!.Value > otherFirstAcknowledged && w.CompletedAt < otherLastSent);
    }

    private static List<(WriteEpoch Epoch, List<WriteAttempt> Writes)> GroupEpochs(IEnumerable<WriteAttempt> history) =>
        [.. history
            // An acknowledged write always has its send time; one without (a malformed synthetic history) proves nothing.
            .Where(a => a.EpochKey is not null && a.SentAt is not null)
            .GroupBy(a => a.EpochKey!.Value)
            .Select(g =>
            {
                var writes = g.OrderBy(w => w.CompletedAt).ToList();
                var epoch = new WriteEpoch(
                    g.Key.Server,
                    g.Key.Timeline,
                    writes.FirstOrDefault(w => w.SystemIdentifier is not null)?.SystemIdentifier,
                    writes[0].CompletedAt,
                    writes[^1].CompletedAt,
                    writes.Count,
                    [.. writes.Select(w => w.Endpoint).Distinct(StringComparer.Ordinal)]);
                return (epoch, writes);
            })
            .OrderBy(e => e.epoch.FirstAcknowledged)
            .ThenBy(e => e.epoch.Server, StringComparer.Ordinal)
            .ThenBy(e => e.epoch.Timeline)];

    private static WriteEndpointSummary Summarise(WriteEndpoint endpoint, IReadOnlyList<WriteAttempt> history, TimeSpan end)
    {
        var own = history.Where(a => string.Equals(a.Endpoint, endpoint.Name, StringComparison.Ordinal)).ToList();
        long Failed(WriteFailureReason reason) => own.LongCount(a => a.Outcome == WriteOutcome.Failed && a.FailureReason == reason);
        return new WriteEndpointSummary(
            endpoint.Name,
            endpoint.Direct,
            own.Count,
            own.LongCount(a => a.Outcome == WriteOutcome.Acknowledged),
            own.LongCount(a => a.Outcome == WriteOutcome.RefusedReadOnly),
            Failed(WriteFailureReason.Timeout),
            Failed(WriteFailureReason.Connection),
            Failed(WriteFailureReason.Other),
            LongestGapSeconds(own, own.Count == 0 ? end : own.Min(a => a.IntendedAt), end));
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
