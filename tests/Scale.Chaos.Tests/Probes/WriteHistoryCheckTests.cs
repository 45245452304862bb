using System.Net.Sockets;
using Npgsql;
using Scale.Chaos.Probes;

namespace Scale.Chaos.Tests.Probes;

/// <summary>
/// The write history's analysis on synthetic histories (no database): the epoch-overlap rule (a failover, a late
/// acknowledgement, a proven overlap, equal timestamps, a server coming back on its old timeline), lost and
/// mismatched rows, the gap, the bounded export and the classification of errors.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WriteHistoryCheckTests
{
    private const string ServerX = "10.0.0.1:5432";
    private const string ServerY = "10.0.0.2:5432";

    private static readonly WriteEndpoint[] OneEndpoint = [new("primary", "Host=unused", Direct: false)];

    [Fact]
    public void Overlaps_CleanFailover_NoOverlapAndTwoEpochs()
    {
        var history = Writes(ServerX, 1, from: 0, to: 10).Concat(Writes(ServerY, 2, from: 12, to: 20, firstId: 1000)).ToList();

        var (proven, unproven) = WriteHistoryCheck.Overlaps(history);
        var epochs = WriteHistoryCheck.Epochs(history);

        Assert.Empty(proven);
        Assert.Empty(unproven);
        Assert.Equal([(ServerX, 1L), (ServerY, 2L)], epochs.Select(e => (e.Server, e.Timeline)));
        Assert.Equal(100, epochs[0].Writes);
        Assert.Equal(Seconds(0.01), epochs[0].FirstAcknowledged);
        Assert.Equal(Seconds(9.91), epochs[0].LastAcknowledged);
    }

    [Fact]
    public void Overlaps_WriteSentBeforeTheNewPrimaryBeganButAcknowledgedAfter_IsUnprovenNotTwoPrimaries()
    {
        // The edge case: sent to X at 9.95 (before Y's first acknowledgement at 12.01), acknowledged at 14. It may have
        // committed at 9.96 with only its acknowledgement held up, so it proves nothing.
        var late = Ack(500, ServerX, 1, sent: 9.95, acknowledged: 14);
        var history = Writes(ServerX, 1, from: 0, to: 9.9).Append(late).Concat(Writes(ServerY, 2, from: 12, to: 20, firstId: 1000)).ToList();

        var (proven, unproven) = WriteHistoryCheck.Overlaps(history);

        Assert.Empty(proven);
        var overlap = Assert.Single(unproven);
        Assert.Equal(ServerX, overlap.First.Server);
        Assert.Equal(ServerY, overlap.Second.Server);
        Assert.Equal(Seconds(12.01), overlap.From);
        Assert.Equal(Seconds(14), overlap.To);
        Assert.Equal(0, overlap.ProvingWrites);
        // The late write and Y's acknowledgements at 12.01, 12.11, ..., 13.91.
        Assert.Equal(1 + 20, overlap.AcknowledgedInOverlap);
        Assert.False(Verdict(history).TwoPrimaries);
    }

    [Fact]
    public void Overlaps_WriteSentAfterTheNewPrimarysFirstAcknowledgementWhileItGoesOn_ProvesTwoPrimaries()
    {
        // X accepts a write sent at 12.5, after Y's first acknowledgement (12.01), and Y goes on acknowledging
        // writes sent after it: at X's commit, Y was a primary too. Y's writes sent between X's first acknowledgement
        // and X's last send (12.0 to 12.4) prove it from the other side.
        var intruder = Ack(500, ServerX, 1, sent: 12.5, acknowledged: 12.6);
        var history = Writes(ServerX, 1, from: 0, to: 10).Append(intruder).Concat(Writes(ServerY, 2, from: 12, to: 20, firstId: 1000)).ToList();

        var (proven, unproven) = WriteHistoryCheck.Overlaps(history);

        Assert.Empty(unproven);
        var overlap = Assert.Single(proven);
        Assert.Equal(6, overlap.ProvingWrites);
        Assert.Equal([1000, 1001, 1002, 1003, 1004, 500], overlap.ProvingIds);
        Assert.Equal(Seconds(12.01), overlap.From);
        Assert.Equal(Seconds(12.6), overlap.To);
        Assert.True(Verdict(history).TwoPrimaries);
    }

    [Fact]
    public void Overlaps_SentAtTheVeryTimestampOfTheOtherEpochsFirstAcknowledgement_ProvesNothing()
    {
        // Equal timestamps do not order the two commits, in either direction.
        var history = new List<WriteAttempt>
        {
            Ack(1, ServerX, 1, sent: 0, acknowledged: 1),
            Ack(2, ServerY, 2, sent: 1.5, acknowledged: 2),
            Ack(3, ServerX, 1, sent: 2, acknowledged: 2.5),
            Ack(4, ServerY, 2, sent: 2.5, acknowledged: 3),
        };

        var (proven, unproven) = WriteHistoryCheck.Overlaps(history);

        Assert.Empty(proven);
        Assert.Single(unproven);
    }

    [Fact]
    public void Overlaps_TwoServersAlternatingOnOneTimeline_ProvenEitherWay()
    {
        // X writes, then Y, then X again on its old timeline: X was a primary throughout, Y's writes fall inside it.
        var history = Writes(ServerX, 1, from: 0, to: 5)
            .Concat(Writes(ServerY, 1, from: 6, to: 8, firstId: 1000))
            .Concat(Writes(ServerX, 1, from: 9, to: 10, firstId: 2000)).ToList();

        var overlap = Assert.Single(WriteHistoryCheck.Overlaps(history).Proven);

        Assert.Equal(20, overlap.ProvingWrites);
        Assert.All(overlap.ProvingIds, id => Assert.InRange(id, 1000, 1019));
    }

    [Fact]
    public void Check_MissingDeletedAndForeignRows_ReportsLostMismatchedAndUnacknowledged()
    {
        var history = new List<WriteAttempt>
        {
            Ack(1, ServerX, 1, sent: 0, acknowledged: 0.1),
            Ack(2, ServerX, 1, sent: 1, acknowledged: 1.1),
            Ack(3, ServerX, 1, sent: 2, acknowledged: 2.1),
            new(4, "primary", Seconds(3), Seconds(3), Seconds(4), WriteOutcome.Failed, WriteFailureReason.Timeout, "timed out"),
            new(5, "primary", Seconds(4), null, Seconds(4.5), WriteOutcome.Failed, WriteFailureReason.Connection, "refused"),
            Ack(6, ServerX, 1, sent: 5, acknowledged: 5.1),
        };
        StoredWrite[] rows =
        [
            new(1, "primary", ServerX, 1),
            new(3, "primary", ServerY, 1),
            new(4, "primary", ServerX, 1),
            new(6, "primary", ServerX, 1),
        ];

        var verdict = WriteHistoryCheck.Check(history, rows, OneEndpoint, Seconds(6), "primary");

        Assert.Equal(4, verdict.Acknowledged);
        Assert.Equal([2L], verdict.LostIds);
        var mismatch = Assert.Single(verdict.Mismatches);
        Assert.Equal((3L, ServerX, ServerY), (mismatch.Id, mismatch.AcknowledgedBy, mismatch.RowServer));
        Assert.Equal(1, verdict.UnacknowledgedPresent);
        Assert.False(verdict.Holds);
        Assert.False(verdict.TwoPrimaries);
        var endpoint = Assert.Single(verdict.Endpoints);
        Assert.Equal((6L, 4L, 0L, 1L, 1L, 0L), (endpoint.Attempts, endpoint.Acknowledged, endpoint.RefusedReadOnly, endpoint.Timeouts, endpoint.ConnectionFailures, endpoint.OtherFailures));
        Assert.Equal(3.0, verdict.LongestGapSeconds, 6);
        Assert.Equal(2, verdict.ToJson()["lost_ids"]!.AsArray()[0]!.GetValue<long>());
    }

    [Fact]
    public void Check_GapIsMeasuredOnClientFacingEndpointsOnly()
    {
        WriteEndpoint[] endpoints = [new("primary", "Host=a", Direct: false), new("direct-x", "Host=b", Direct: true)];
        var history = new List<WriteAttempt>
        {
            Ack(1, ServerX, 1, sent: 0, acknowledged: 1),
            Ack(2, ServerX, 1, sent: 4, acknowledged: 5) with { Endpoint = "direct-x" },
            Ack(3, ServerX, 1, sent: 7, acknowledged: 8),
        };

        var verdict = WriteHistoryCheck.Check(history, [], endpoints, Seconds(9), "primary");

        Assert.Equal(7.0, verdict.LongestGapSeconds, 6);
        Assert.Equal(4.0, verdict.Endpoints[1].LongestGapSeconds, 6);
        Assert.Equal(3, verdict.Lost);
    }

    [Fact]
    public void Export_LongHistory_SummarisesAcknowledgedRunsAndBoundsTheFailures()
    {
        var history = Writes(ServerX, 1, from: 0, to: 10)
            .Concat(Enumerable.Range(0, 3000).Select(i => new WriteAttempt(100 + i, "primary", Seconds(10 + (i * 0.001)), null, Seconds(10.5), WriteOutcome.Failed, WriteFailureReason.Connection, "refused")))
            .Concat(Writes(ServerY, 2, from: 20, to: 21, firstId: 5000)).ToList();

        var json = WriteHistoryExport.ToJson(history, listLimit: 10);

        var runs = json["acknowledged_runs"]!.AsArray();
        Assert.Equal(2, runs.Count);
        Assert.Equal((0L, 99L, 100L), (runs[0]!["first_id"]!.GetValue<long>(), runs[0]!["last_id"]!.GetValue<long>(), runs[0]!["writes"]!.GetValue<long>()));
        Assert.Equal(ServerY, runs[1]!["server"]!.GetValue<string>());
        Assert.Equal(10, json["not_acknowledged"]!.AsArray().Count);
        Assert.Equal(2990, json["not_acknowledged_omitted"]!.GetValue<int>());
        Assert.Equal("connection", json["not_acknowledged"]![0]!["reason"]!.GetValue<string>());
        Assert.Equal(2, json["epochs"]!.AsArray().Count);
        Assert.True(json.ToJsonString().Length < 10_000);
    }

    [Fact]
    public void ClassifyError_PostgresAndNetworkErrors_MapToOutcomesAndReasons()
    {
        static PostgresException Postgres(string state) => new("message", "ERROR", "ERROR", state);

        Assert.Equal((WriteOutcome.RefusedReadOnly, null), WriteProber.ClassifyError(Postgres(PostgresErrorCodes.ReadOnlySqlTransaction)));
        Assert.Equal((WriteOutcome.Failed, WriteFailureReason.Timeout), WriteProber.ClassifyError(Postgres(PostgresErrorCodes.QueryCanceled)));
        Assert.Equal((WriteOutcome.Failed, WriteFailureReason.Connection), WriteProber.ClassifyError(Postgres(PostgresErrorCodes.AdminShutdown)));
        Assert.Equal((WriteOutcome.Failed, WriteFailureReason.Connection), WriteProber.ClassifyError(Postgres(PostgresErrorCodes.CannotConnectNow)));
        Assert.Equal((WriteOutcome.Failed, WriteFailureReason.Other), WriteProber.ClassifyError(Postgres(PostgresErrorCodes.UndefinedTable)));
        Assert.Equal((WriteOutcome.Failed, WriteFailureReason.Timeout), WriteProber.ClassifyError(new NpgsqlException("Exception while reading from stream", new TimeoutException())));
        Assert.Equal((WriteOutcome.Failed, WriteFailureReason.Connection), WriteProber.ClassifyError(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.Equal((WriteOutcome.Failed, WriteFailureReason.Connection), WriteProber.ClassifyError(new NpgsqlException("Exception while reading from stream", new EndOfStreamException())));
        Assert.Equal((WriteOutcome.Failed, WriteFailureReason.Other), WriteProber.ClassifyError(new InvalidOperationException("odd")));
    }

    internal static TimeSpan Seconds(double seconds) => TimeSpan.FromSeconds(seconds);

    internal static WriteAttempt Ack(long id, string server, long timeline, double sent, double acknowledged) =>
        new(id, "primary", Seconds(sent), Seconds(sent), Seconds(acknowledged), WriteOutcome.Acknowledged, Server: server, Timeline: timeline);

    /// <summary>A write every 0.1 s from <paramref name="from"/> up to (not including) <paramref name="to"/>, each
    /// acknowledged 0.01 s after it was sent.</summary>
    internal static IEnumerable<WriteAttempt> Writes(string server, long timeline, double from, double to, long firstId = 0)
    {
        var count = (int)Math.Round((to - from) * 10);
        return Enumerable.Range(0, count).Select(i =>
        {
            var sent = Math.Round(from + (i * 0.1), 6);
            return Ack(firstId + i, server, timeline, sent, Math.Round(sent + 0.01, 6));
        });
    }

    private static WriteHistoryVerdict Verdict(List<WriteAttempt> history) =>
        WriteHistoryCheck.Check(history, history.Select(a => new StoredWrite(a.Id, a.Endpoint, a.Server, a.Timeline)), OneEndpoint, history.Max(a => a.CompletedAt), "primary");
}
