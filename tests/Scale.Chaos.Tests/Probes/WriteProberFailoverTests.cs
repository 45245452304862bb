using Scale.Chaos.Probes;
using Scale.Testing.Postgres;
using Xunit.Abstractions;
using static Scale.Chaos.Tests.Probes.WriteProberPostgresTests;

namespace Scale.Chaos.Tests.Probes;

/// <summary>
/// The write prober through faults on clusters of their own (each test breaks its cluster): a replica promoted while
/// the old primary still takes writes (two primaries, found from the history), and the only server stopped for a
/// few seconds (failures with their reasons, the gap measured, nothing lost).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(WriteProberPostgresGroup.Name)]
public sealed class WriteProberFailoverTests(ITestOutputHelper output)
{
    private const double Rate = 20;

    [Fact]
    public async Task CheckHistory_ReplicaPromotedWhileTheOldPrimaryStillWrites_DetectsTwoPrimaries()
    {
        await using var cluster = await PostgresCluster.StartNewAsync(new PostgresClusterOptions { Log = output.WriteLine });
        var (primary, replica) = (cluster.Primary, cluster.Replicas[0]);
        var prober = new WriteProber(
            [new("direct-primary", primary.ConnectionString, Direct: true), new("direct-replica1", replica.ConnectionString, Direct: true)], Rate);
        await using (prober)
        {
            await prober.StartAsync(CancellationToken.None);
            // The replica must have the table before it is cut loose.
            await cluster.WaitForReplayAsync(replica);
            await WaitUntilAsync(() => Count(prober, "direct-primary", WriteOutcome.Acknowledged) >= 10 && Count(prober, "direct-replica1", WriteOutcome.RefusedReadOnly) >= 10,
                "writes on the primary and refusals on the replica");
            await cluster.PromoteAsync(replica);
            var primaryBefore = Count(prober, "direct-primary", WriteOutcome.Acknowledged);
            await WaitUntilAsync(() => Count(prober, "direct-replica1", WriteOutcome.Acknowledged) >= 20 && Count(prober, "direct-primary", WriteOutcome.Acknowledged) >= primaryBefore + 20,
                "both servers acknowledging writes");
        }

        var verdict = await prober.CheckHistoryAsync(CancellationToken.None);
        output.WriteLine(verdict.ToJson().ToJsonString());

        Assert.True(verdict.TwoPrimaries);
        Assert.False(verdict.Holds);
        Assert.Equal([(primary.HostAndPort, 1L), (replica.HostAndPort, 2L)], verdict.Epochs.Select(e => (e.Server, e.Timeline)));
        // One lineage: the system identifier alone cannot tell them apart, the address and timeline do.
        Assert.Equal(verdict.Epochs[0].SystemIdentifier, verdict.Epochs[1].SystemIdentifier);
        var overlap = Assert.Single(verdict.Overlaps);
        Assert.Equal((primary.HostAndPort, replica.HostAndPort), (overlap.First.Server, overlap.Second.Server));
        Assert.Equal(verdict.Epochs[1].FirstAcknowledged, overlap.From);
        Assert.True(overlap.To > overlap.From);
        Assert.InRange(overlap.ProvingWrites, 20, overlap.AcknowledgedInOverlap);
        Assert.NotEmpty(overlap.ProvingIds);
        // Read back through the old primary, whose table never got the promoted replica's writes.
        Assert.Equal("direct-primary", verdict.ReadFrom);
        Assert.InRange(verdict.Lost, 20, long.MaxValue);
        Assert.All(verdict.LostIds, id => Assert.InRange(id, WriteProber.IdRangeSize, (WriteProber.IdRangeSize * 2) - 1));
    }

    [Fact]
    public async Task CheckHistory_ServerStoppedForSeconds_FailuresWithReasonsAndTheGapMeasured()
    {
        await using var cluster = await PostgresCluster.StartNewAsync(new PostgresClusterOptions { Replicas = 0, Log = output.WriteLine });
        var prober = new WriteProber(cluster.PrimaryConnectionString, Rate);
        var time = TimeProvider.System;
        long from;
        long to;
        await using (prober)
        {
            await prober.StartAsync(CancellationToken.None);
            await WaitUntilAsync(() => prober.Acknowledged >= 10, "10 acknowledged writes");
            from = time.GetTimestamp();
            await cluster.StopAsync(cluster.Primary, PostgresStopMode.Fast);
            await Task.Delay(TimeSpan.FromSeconds(3));
            await cluster.StartAsync(cluster.Primary);
            var acknowledged = prober.Acknowledged;
            await WaitUntilAsync(() => prober.Acknowledged >= acknowledged + 10, "10 acknowledged writes after the restart");
            to = time.GetTimestamp();
        }

        var verdict = await prober.CheckHistoryAsync(CancellationToken.None);
        output.WriteLine(verdict.ToJson().ToJsonString());
        var failed = prober.HistorySnapshot().Where(a => a.Outcome == WriteOutcome.Failed && a.FailureReason != WriteFailureReason.Stopped).ToList();

        Assert.True(verdict.Holds);
        Assert.Equal(0, verdict.Lost);
        // Stopped and started again: the same server on the same timeline, one epoch.
        var epoch = Assert.Single(verdict.Epochs);
        Assert.Equal((cluster.Primary.HostAndPort, 1L), (epoch.Server, epoch.Timeline));
        Assert.InRange(failed.Count, 10, prober.Attempts);
        Assert.Equal(failed.Count, prober.Failures);
        Assert.All(failed, a => Assert.Equal(WriteFailureReason.Connection, a.FailureReason));
        Assert.All(failed, a => Assert.False(string.IsNullOrEmpty(a.Error)));
        Assert.NotNull(prober.LastError);
        var gap = prober.LongestGapSeconds(from, to);
        Assert.InRange(gap, 3, 30);
        // The same gap over the whole run, except that from the last acknowledgement before the stop rather than from
        // the moment the stop began.
        Assert.InRange(verdict.LongestGapSeconds, gap, gap + 1);
        Assert.InRange(verdict.Endpoints[0].ConnectionFailures, 10, long.MaxValue);
    }

    private static int Count(WriteProber prober, string endpoint, WriteOutcome outcome) =>
        prober.HistorySnapshot().Count(a => a.Endpoint == endpoint && a.Outcome == outcome);
}
