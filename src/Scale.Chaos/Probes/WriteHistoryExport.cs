using System.Text.Json.Nodes;

namespace Scale.Chaos.Probes;

/// <summary>
/// A write history as JSON for the journal, bounded in size: the epochs in full; acknowledged writes summarised as
/// runs (consecutive acknowledged writes of one endpoint to one epoch: first and last id, count, times); every write
/// that was not acknowledged in full, up to a limit, since those are the interesting ones.
/// </summary>
public static class WriteHistoryExport
{
    /// <summary>The default bound on each of the two lists (acknowledged runs, writes not acknowledged).</summary>
    public const int DefaultListLimit = 1000;

    public static JsonObject ToJson(IReadOnlyList<WriteAttempt> history, int listLimit = DefaultListLimit)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentOutOfRangeException.ThrowIfNegative(listLimit);
        var runs = AcknowledgedRuns(history);
        var notAcknowledged = history.Where(a => a.Outcome != WriteOutcome.Acknowledged).OrderBy(a => a.IntendedAt).ThenBy(a => a.Id).ToList();
        return new JsonObject
        {
            ["attempts"] = history.Count,
            ["acknowledged"] = history.Count(a => a.Outcome == WriteOutcome.Acknowledged),
            ["epochs"] = new JsonArray([.. WriteHistoryCheck.Epochs(history).Select(e => (JsonNode)e.ToJson())]),
            ["acknowledged_runs"] = new JsonArray([.. runs.Take(listLimit).Select(r => (JsonNode)r)]),
            ["acknowledged_runs_omitted"] = Math.Max(0, runs.Count - listLimit),
            ["not_acknowledged"] = new JsonArray([.. notAcknowledged.Take(listLimit).Select(a => (JsonNode)ToJson(a))]),
            ["not_acknowledged_omitted"] = Math.Max(0, notAcknowledged.Count - listLimit),
        };
    }

    /// <summary>One write in full; times in seconds on the prober's clock.</summary>
    public static JsonObject ToJson(WriteAttempt attempt)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        return new JsonObject
        {
            ["id"] = attempt.Id,
            ["endpoint"] = attempt.Endpoint,
            ["intended_s"] = WriteEpoch.Seconds(attempt.IntendedAt),
            ["sent_s"] = attempt.SentAt is { } sent ? WriteEpoch.Seconds(sent) : null,
            ["completed_s"] = WriteEpoch.Seconds(attempt.CompletedAt),
            ["outcome"] = OutcomeName(attempt.Outcome),
            ["reason"] = attempt.FailureReason is { } reason ? ReasonName(reason) : null,
            ["error"] = attempt.Error,
            ["server"] = attempt.Server,
            ["timeline"] = attempt.Timeline,
        };
    }

    public static string OutcomeName(WriteOutcome outcome) => outcome switch
    {
        WriteOutcome.Acknowledged => "acknowledged",
        WriteOutcome.RefusedReadOnly => "refused_read_only",
        _ => "failed",
    };

    public static string ReasonName(WriteFailureReason reason) => reason switch
    {
        WriteFailureReason.Timeout => "timeout",
        WriteFailureReason.Connection => "connection",
        WriteFailureReason.Stopped => "stopped",
        WriteFailureReason.NotReplicated => "not_replicated",
        _ => "other",
    };

    /// <summary>Per endpoint, in id order (which is send order), consecutive acknowledged writes by one epoch.</summary>
    private static List<JsonObject> AcknowledgedRuns(IReadOnlyList<WriteAttempt> history)
    {
        var runs = new List<(WriteAttempt First, WriteAttempt Last, long Count)>();
        foreach (var endpoint in history.GroupBy(a => a.Endpoint, StringComparer.Ordinal))
        {
            (WriteAttempt First, WriteAttempt Last, long Count)? current = null;
            foreach (var attempt in endpoint.OrderBy(a => a.Id))
            {
                if (current is { } run && attempt.EpochKey is { } key && run.First.EpochKey == key)
                {
                    current = (run.First, attempt, run.Count + 1);
                    continue;
                }

                if (current is { } ended)
                {
                    runs.Add(ended);
                }

                current = attempt.EpochKey is null ? null : (attempt, attempt, 1);
            }

            if (current is { } last)
            {
                runs.Add(last);
            }
        }

        return [.. runs.OrderBy(r => r.First.CompletedAt).Select(r => new JsonObject
        {
            ["endpoint"] = r.First.Endpoint,
            ["server"] = r.First.Server,
            ["timeline"] = r.First.Timeline,
            ["first_id"] = r.First.Id,
            ["last_id"] = r.Last.Id,
            ["writes"] = r.Count,
            ["first_sent_s"] = r.First.SentAt is { } sent ? WriteEpoch.Seconds(sent) : null,
            ["last_ack_s"] = WriteEpoch.Seconds(r.Last.CompletedAt),
        })];
    }
}
