using Npgsql;
using Scale.Chaos.Probes;
using Scale.Testing.Postgres;
using Xunit.Abstractions;

namespace Scale.Chaos.Tests.Probes;

/// <summary>The write prober's tests on real PostgreSQL run one after another: they measure gaps and timeouts, which
/// a neighbour's cluster start-up on the same two cores would blur.</summary>
[CollectionDefinition(Name)]
public sealed class WriteProberPostgresGroup
{
    public const string Name = "Write prober on PostgreSQL";
}

/// <summary>
/// The write prober against a healthy primary and streaming replica (one shared cluster, a database per test): the
/// history matches the table, the replica refuses direct writes, and rows changed behind the prober's back are found;
/// a write held up on one endpoint times out without delaying another.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(WriteProberPostgresGroup.Name)]
public sealed class WriteProberPostgresTests(PostgresClusterFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresClusterFixture>
{
    private const double Rate = 20;
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task CheckHistory_HealthyPrimaryAndReplica_NothingLostOneEpochReplicaRefusesDirectWrites()
    {
        await using var database = await postgres.CreateDatabaseAsync();
        var cluster = postgres.Cluster;
        WriteEndpoint[] endpoints =
        [
            new("primary", database.PrimaryConnectionString, Direct: false),
            new("direct-primary", database.ConnectionStringFor(cluster.Primary), Direct: true),
            new("direct-replica1", database.ConnectionStringFor(cluster.Replicas[0]), Direct: true),
        ];
        var prober = new WriteProber(endpoints, Rate);
        await using (prober)
        {
            await prober.StartAsync(CancellationToken.None);
            await WaitUntilAsync(() => EveryEndpointHasOutcomes(prober, 20), "20 outcomes on every endpoint");
        }

        var verdict = await prober.CheckHistoryAsync(CancellationToken.None);
        output.WriteLine(verdict.ToJson().ToJsonString());

        Assert.True(verdict.Holds);
        Assert.Equal(0, verdict.Lost);
        Assert.Equal(0, await prober.LostAsync(CancellationToken.None));
        Assert.Empty(verdict.Mismatches);
        Assert.Empty(verdict.Overlaps);
        Assert.Empty(verdict.UnprovenOverlaps);
        Assert.Equal(0, verdict.UnacknowledgedPresent);
        var epoch = Assert.Single(verdict.Epochs);
        Assert.Equal(cluster.Primary.HostAndPort, epoch.Server);
        Assert.Equal(1, epoch.Timeline);
        Assert.NotNull(epoch.SystemIdentifier);
        Assert.Equal(["direct-primary", "primary"], epoch.Endpoints.Order(StringComparer.Ordinal));
        Assert.Equal(prober.Acknowledged, epoch.Writes);
        Assert.Equal(prober.Acknowledged, verdict.Acknowledged);
        var replica = verdict.Endpoints.Single(e => e.Name == "direct-replica1");
        Assert.Equal(0, replica.Acknowledged);
        Assert.InRange(replica.RefusedReadOnly, 20, replica.Attempts);
        Assert.Equal(0, replica.Timeouts + replica.ConnectionFailures + replica.OtherFailures);
        Assert.Equal(0, prober.Failures);
        Assert.InRange(verdict.LongestGapSeconds, 0, 2);
        // Every refusal is in the history with its message, and the export lists them in full.
        var refusals = prober.HistorySnapshot().Where(a => a.Outcome == WriteOutcome.RefusedReadOnly).ToList();
        Assert.All(refusals, a => Assert.Equal("direct-replica1", a.Endpoint));
        Assert.All(refusals, a => Assert.InRange(a.Id, WriteProber.IdRangeSize * 2, (WriteProber.IdRangeSize * 3) - 1));
        var json = prober.WriteHistoryJson();
        Assert.Equal(prober.RunId, json["run"]!.GetValue<string>());
        Assert.Contains(json["not_acknowledged"]!.AsArray(), a => a!["outcome"]!.GetValue<string>() == "refused_read_only");
    }

    [Fact]
    public async Task CheckHistory_AcknowledgedRowDeletedBehindTheProbersBack_IsLostWithItsId()
    {
        await using var database = await postgres.CreateDatabaseAsync();
        var prober = new WriteProber(database.PrimaryConnectionString, Rate);
        long deleted;
        await using (prober)
        {
            await prober.StartAsync(CancellationToken.None);
            await WaitUntilAsync(() => prober.Acknowledged >= 10, "10 acknowledged writes");
            deleted = prober.HistorySnapshot().First(a => a.Outcome == WriteOutcome.Acknowledged).Id;
            await ExecuteAsync(database.PrimaryConnectionString, $"DELETE FROM {WriteProber.TableName} WHERE run = @run AND id = @id", prober.RunId, deleted);
            await WaitUntilAsync(() => prober.Acknowledged >= 20, "20 acknowledged writes");
        }

        var verdict = await prober.CheckHistoryAsync(CancellationToken.None);

        Assert.Equal([deleted], verdict.LostIds);
        Assert.Equal(1, await prober.LostAsync(CancellationToken.None));
        Assert.False(verdict.Holds);
        Assert.Empty(verdict.Mismatches);
        Assert.False(verdict.TwoPrimaries);
    }

    [Fact]
    public async Task CheckHistory_RowRewrittenWithAnotherServer_IsAMismatch()
    {
        await using var database = await postgres.CreateDatabaseAsync();
        var prober = new WriteProber(database.PrimaryConnectionString, Rate);
        long rewritten;
        await using (prober)
        {
            await prober.StartAsync(CancellationToken.None);
            await WaitUntilAsync(() => prober.Acknowledged >= 5, "5 acknowledged writes");
            rewritten = prober.HistorySnapshot().First(a => a.Outcome == WriteOutcome.Acknowledged).Id;
            await ExecuteAsync(database.PrimaryConnectionString, $"UPDATE {WriteProber.TableName} SET written_by = '192.0.2.1:5432', timeline = 7 WHERE run = @run AND id = @id", prober.RunId, rewritten);
        }

        var verdict = await prober.CheckHistoryAsync(CancellationToken.None);

        var mismatch = Assert.Single(verdict.Mismatches);
        Assert.Equal(rewritten, mismatch.Id);
        Assert.Equal(postgres.Cluster.Primary.HostAndPort, mismatch.AcknowledgedBy);
        Assert.Equal(("192.0.2.1:5432", 7L), (mismatch.RowServer, mismatch.RowTimeline));
        Assert.Equal(0, verdict.Lost);
        Assert.False(verdict.Holds);
    }

    [Fact]
    public async Task StartAsync_TableOfAnOlderProber_IsMigratedAndItsRowsKeepNullServers()
    {
        await using var database = await postgres.CreateDatabaseAsync();
        await ExecuteAsync(database.PrimaryConnectionString, $"CREATE TABLE {WriteProber.TableName} (run text NOT NULL, id bigint NOT NULL, written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run, id))");
        await ExecuteAsync(database.PrimaryConnectionString, $"INSERT INTO {WriteProber.TableName} (run, id) VALUES (@run, @id)", "older-run", 1L);
        var prober = new WriteProber(database.PrimaryConnectionString, Rate);
        await using (prober)
        {
            await prober.StartAsync(CancellationToken.None);
            await WaitUntilAsync(() => prober.Acknowledged >= 5, "5 acknowledged writes");
        }

        var verdict = await prober.CheckHistoryAsync(CancellationToken.None);

        Assert.True(verdict.Holds);
        await using var connection = new NpgsqlConnection(database.PrimaryConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand($"SELECT count(*) FROM {WriteProber.TableName} WHERE run = 'older-run' AND written_by IS NULL AND timeline IS NULL", connection);
        Assert.Equal(1L, await select.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Writes_HeldUpOnOneEndpoint_TimeOutThereWithoutDelayingTheOther()
    {
        await using var blockedDatabase = await postgres.CreateDatabaseAsync();
        await using var freeDatabase = await postgres.CreateDatabaseAsync();
        var blocked = new NpgsqlConnectionStringBuilder(blockedDatabase.PrimaryConnectionString) { CommandTimeout = 1 }.ConnectionString;
        var prober = new WriteProber([new("blocked", blocked, Direct: false), new("free", freeDatabase.PrimaryConnectionString, Direct: false)], Rate);
        await using (prober)
        {
            await prober.StartAsync(CancellationToken.None);
            await WaitUntilAsync(() => EveryEndpointHasOutcomes(prober, 5), "5 outcomes on both endpoints");
            // An exclusive lock makes the blocked endpoint's inserts wait: each hits its 1 s command timeout.
            await using (var locker = new NpgsqlConnection(blockedDatabase.PrimaryConnectionString))
            {
                await locker.OpenAsync();
                await using var transaction = await locker.BeginTransactionAsync();
                await using (var lockTable = new NpgsqlCommand($"LOCK TABLE {WriteProber.TableName} IN ACCESS EXCLUSIVE MODE", locker, transaction))
                {
                    await lockTable.ExecuteNonQueryAsync();
                }

                await Task.Delay(TimeSpan.FromSeconds(3.5));
                await transaction.CommitAsync();
            }

            var acknowledgedAfterLock = prober.HistorySnapshot().Count(a => a.Endpoint == "blocked" && a.Outcome == WriteOutcome.Acknowledged);
            await WaitUntilAsync(
                () => prober.HistorySnapshot().Count(a => a.Endpoint == "blocked" && a.Outcome == WriteOutcome.Acknowledged) >= acknowledgedAfterLock + 10,
                "10 more acknowledged writes on the blocked endpoint");
        }

        var history = prober.HistorySnapshot();
        var verdict = await prober.CheckHistoryAsync(CancellationToken.None);
        output.WriteLine(verdict.ToJson().ToJsonString());

        var blockedSummary = verdict.Endpoints.Single(e => e.Name == "blocked");
        var freeSummary = verdict.Endpoints.Single(e => e.Name == "free");
        Assert.InRange(blockedSummary.Timeouts, 1, 4);
        Assert.All(history.Where(a => a.FailureReason == WriteFailureReason.Timeout), a => Assert.InRange((a.CompletedAt - a.SentAt!.Value).TotalSeconds, 0.9, 3));
        Assert.InRange(blockedSummary.LongestGapSeconds, 2.5, 6);
        // Held up behind the blocked endpoint's writes, it would have waited as long as the lock (3.5 s).
        Assert.InRange(freeSummary.LongestGapSeconds, 0, 2);
        Assert.Equal(0, freeSummary.Timeouts + freeSummary.ConnectionFailures + freeSummary.OtherFailures);
        // Rows were read back through the first endpoint's database: only the other database's rows are missing there.
        Assert.Equal("blocked", verdict.ReadFrom);
        Assert.All(verdict.LostIds, id => Assert.InRange(id, WriteProber.IdRangeSize, (WriteProber.IdRangeSize * 2) - 1));
    }

    internal static bool EveryEndpointHasOutcomes(WriteProber prober, int count)
    {
        var history = prober.HistorySnapshot();
        return prober.Endpoints.All(e => history.Count(a => a.Endpoint == e.Name) >= count);
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > WaitLimit)
            {
                throw new TimeoutException($"waited {WaitLimit.TotalSeconds:0} s for {what}");
            }

            await Task.Delay(50);
        }
    }

    internal static async Task ExecuteAsync(string connectionString, string sql, string? run = null, long? id = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        if (run is not null)
        {
            command.Parameters.AddWithValue("run", run);
        }

        if (id is not null)
        {
            command.Parameters.AddWithValue("id", id.Value);
        }

        await command.ExecuteNonQueryAsync();
    }
}
