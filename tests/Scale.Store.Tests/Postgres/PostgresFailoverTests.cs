using System.Diagnostics;
using System.Globalization;
using System.Net;
using Npgsql;
using Scale.Store.Postgres;
using Scale.Store.Tests.Backends;
using Scale.Testing.Network;
using Scale.Testing.Postgres;
using Xunit.Abstractions;

namespace Scale.Store.Tests.Postgres;

/// <summary>
/// The store and the reader against a real primary and streaming replica through one multi-host connection string,
/// while servers are killed, stopped, restarted and promoted (issue 4 §2 and §4). Each test starts from a healthy
/// cluster (<see cref="PostgresCluster.RestoreAsync"/>) with a fresh database holding a few songs and their lists,
/// and reports its timings.
/// </summary>
[Collection(PostgresFailoverClusterDefinition.Name)]
public sealed class PostgresFailoverTests(PostgresClusterFixture postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Source = "folder:/corpus";
    private static readonly CancellationToken None = CancellationToken.None;

    private PostgresTestDatabase? _database;
    private IScaleStore? _store;
    private IScaleReader? _reader;
    private long _run;

    private PostgresCluster Cluster => postgres.Cluster;

    private PostgresServer Primary => Cluster.Primary;

    private PostgresServer Replica => Cluster.Replicas[0];

    private PostgresTestDatabase Database => _database!;

    private IScaleStore Store => _store!;

    private IScaleReader Reader => _reader!;

    private string Db => Database.MultiHostConnectionString();

    public async Task InitializeAsync()
    {
        await Cluster.RestoreAsync();
        _database = await Cluster.CreateDatabaseAsync();
        _store = await ScaleStoreFactory.OpenAsync(Db, null, None);
        _run = await Store.BeginRunAsync(Source, None);
        await Store.WriteBatchAsync(_run, Enumerable.Range(0, 20).Select(i => Fake.Song($"{i}.mid", 0, 1, 2 + i, 128)).ToArray(), None);
        await Store.CompleteRunAsync(_run, new RunStats { FilesSeen = 20, FilesValid = 20 }, RunStatus.Completed, null, None);
        var sets = await Store.GetSongSetsAsync(None);
        var lists = sets.Select(s => new SimilarSongList(s.Key, 5, sets.Where(o => o.Key != s.Key).Take(5).Select(o => new SimilarRow(o.Key, 0.6, 3)).ToArray())).ToList();
        await Store.ReplaceSimilaritiesAsync(await Store.BeginSimilarityRunAsync(new SimilaritySettings("jaccard", 0.5, 5, 3), None), lists, () => new SimilarityStats(), None);
        await Cluster.WaitForReplayAsync();
        _reader = ScaleStoreFactory.CreateReader(Db);
    }

    public async Task DisposeAsync()
    {
        if (_reader is not null)
        {
            await _reader.DisposeAsync();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        await Cluster.RestoreAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [Fact]
    public async Task Reader_ReplicaUp_ReadsFromTheReplica()
    {
        // The reader's own connection settings (PostgresConnections, as the reader builds them) land on the replica.
        await using (var connections = new PostgresConnections(Db, "scale-web-probe"))
        await using (var connection = await connections.Reads.OpenConnectionAsync())
        await using (var command = new NpgsqlCommand("SELECT pg_is_in_recovery(), inet_server_port()", connection))
        await using (var row = await command.ExecuteReaderAsync())
        {
            Assert.True(await row.ReadAsync());
            Assert.True(row.GetBoolean(0), "the read connection is not on a standby");
            Assert.Equal(Replica.Port, row.GetInt32(1));
        }

        // The reader itself: with replay paused on the replica, a song committed on the primary stays invisible to it.
        await AllReadsAsync(Reader);
        Assert.True(await ReaderSessionsAsync(Replica) > 0, "no reader session on the replica");
        Assert.Equal(0, await ReaderSessionsAsync(Primary));
        await ExecuteAsync(Replica, "SELECT pg_wal_replay_pause()");
        try
        {
            await Store.WriteBatchAsync(_run, [Fake.Song("late.mid", 7, 8, 9)], None);
            Assert.NotNull((await Store.GetSongSetsAsync(None)).SingleOrDefault(s => s.Id == Fake.Md5("late.mid")).Id);
            Assert.Null(await Reader.GetSongAsync(Fake.Md5("late.mid"), None));
        }
        finally
        {
            await ExecuteAsync(Replica, "SELECT pg_wal_replay_resume()");
        }

        await Cluster.WaitForReplayAsync();
        Assert.Equal("late", (await Reader.GetSongAsync(Fake.Md5("late.mid"), None))!.Name);
    }

    [Fact]
    public async Task Reader_ReplicaKilled_ReadsContinueOnThePrimaryThenReturnToTheReplica()
    {
        // Several pooled connections to the replica, which all die with it.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => AllReadsAsync(Reader)));
        Assert.True(await ReaderSessionsAsync(Replica) > 0);
        Assert.Equal(0, await ReaderSessionsAsync(Primary));

        await Cluster.KillAsync(Replica);
        var clock = Stopwatch.StartNew();
        await AllReadsAsync(Reader, catalogFirst: true);
        var first = clock.Elapsed;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => AllReadsAsync(Reader)));
        var all = clock.Elapsed;

        Assert.True(await ReaderSessionsAsync(Primary) > 0, "the reads were not answered by the primary");
        Report($"replica killed: first round of every read on the primary after {first.TotalSeconds:0.00} s, 16 more concurrent rounds by {all.TotalSeconds:0.00} s, no error");
        Assert.True(first < TimeSpan.FromSeconds(10), $"the first reads after the replica died took {first}");

        // Back up: reads go to the replica again once the host is rechecked (Host Recheck Seconds = 2).
        await Cluster.StartAsync(Replica);
        await Cluster.WaitForReplicaStreamingAsync(Replica);
        clock.Restart();
        var back = await EventuallyAsync(async () =>
        {
            await AllReadsAsync(Reader);
            return await ReaderSessionsAsync(Replica) > 0;
        }, TimeSpan.FromSeconds(20));
        Report($"replica restarted: reads back on it after {back.TotalSeconds:0.00} s");
    }

    [Fact]
    public async Task PrimaryStopped_ReadsContinueOnTheReplica_WritesFailClearlyWithinTheBudget_ThenWorkWhenItIsBack()
    {
        await AllReadsAsync(Reader);
        await Cluster.StopAsync(Primary, PostgresStopMode.Fast);

        var clock = Stopwatch.StartNew();
        await AllReadsAsync(Reader);
        Report($"primary stopped: every read answered by the replica in {clock.Elapsed.TotalSeconds:0.00} s");
        Assert.True(await ReaderSessionsAsync(Replica) > 0, "no read was answered by the replica");

        clock.Restart();
        var error = await Assert.ThrowsAsync<IOException>(() => Store.WriteBatchAsync(_run, [Fake.Song("during.mid", 3)], None));
        var failedAfter = clock.Elapsed;
        Report($"primary stopped: the write failed after {failedAfter.TotalSeconds:0.0} s with: {error.Message}");
        Assert.Contains(Database.Name, error.Message, StringComparison.Ordinal);
        Assert.Contains("Could not write a batch", error.Message, StringComparison.Ordinal);
        Assert.Contains("primary", error.Message, StringComparison.Ordinal);
        Assert.InRange(failedAfter, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(40));

        await Cluster.StartAsync(Primary);
        clock.Restart();
        var result = await Store.WriteBatchAsync(_run, [Fake.Song("after.mid", 3)], None);
        Report($"primary back: the next write committed {clock.Elapsed.TotalSeconds:0.00} s after it accepted connections");
        Assert.Equal(1, result.Valid);
        Assert.DoesNotContain("during.mid", await Store.GetFinishedKeysAsync(Source, None));
    }

    [Fact]
    public async Task PrimaryKilledAndRestartedDuringAWrite_TheWriteWaitsAndCommitsOnce()
    {
        await Cluster.KillAsync(Primary);
        var clock = Stopwatch.StartNew();
        var write = Store.WriteBatchAsync(_run, [Fake.Song("x.mid", 3), Fake.Song("y.mid", 4)], None);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(write.IsCompleted, "the write finished while no primary was up");

        await Cluster.StartAsync(Primary);
        var restarted = clock.Elapsed;
        var result = await write;
        Report($"primary killed: a write waited {clock.Elapsed.TotalSeconds:0.0} s (the primary was back after {restarted.TotalSeconds:0.0} s) and committed");

        Assert.Equal(new BatchResult(2, 0, 0, 0, 2000), result);
        Assert.Equal(22, (await Store.GetFinishedKeysAsync(Source, None)).Count);
        Assert.Equal(22, (await Store.GetRunAsync(_run, None))!.Stats.FilesValid);
    }

    [Fact]
    public async Task Failover_ReplicaPromotedWhileAWriteWaits_TheWriteLandsOnTheNewPrimary()
    {
        await Cluster.StopAsync(Primary, PostgresStopMode.Fast);
        var clock = Stopwatch.StartNew();
        var write = Store.WriteBatchAsync(_run, [Fake.Song("failover.mid", 5)], None);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await Cluster.PromoteAsync(Replica);
        var promoted = clock.Elapsed;

        var result = await write;
        Report($"failover: replica promoted after {promoted.TotalSeconds:0.0} s, the waiting write committed on it after {clock.Elapsed.TotalSeconds:0.0} s");

        Assert.Equal(1, result.Valid);
        Assert.Equal(1L, await ScalarAsync(Replica, $"SELECT COUNT(*) FROM source_files WHERE key = 'failover.mid'"));
        Assert.Equal("failover", (await Reader.GetSongAsync(Fake.Md5("failover.mid"), None))!.Name);
    }

    [Fact]
    public async Task Reader_EverySessionCutBehindLoadBalancers_ReadsAgainAtOnce_NotAfterTheDownMarksExpire()
    {
        // The lab's and Kubernetes' shape: the primary and the replicas each behind one load-balanced address (HAProxy's
        // role ports, the database Services). Npgsql marks an address down, and empties its pool, when a session on it
        // breaks, and skips it until Host Recheck Seconds have passed, although the balancer behind it may already send
        // a new session to a healthy server. In a failover both addresses lose sessions within a second; 60 s here so
        // that waiting out the marks cannot pass for a retry.
        await using var toPrimary = new TcpForwarder(new IPEndPoint(IPAddress.Loopback, Primary.Port));
        await using var toReplicas = new TcpForwarder(new IPEndPoint(IPAddress.Loopback, Replica.Port));
        var behindBalancers = new NpgsqlConnectionStringBuilder(Db) { Host = $"{toPrimary.HostAndPort},{toReplicas.HostAndPort}", HostRecheckSeconds = 60 };
        await using var reader = ScaleStoreFactory.CreateReader(behindBalancers.ConnectionString);
        await AllReadsAsync(reader);
        Assert.True(toPrimary.Open > 0 && toReplicas.Open > 0, $"sessions: {toPrimary.Open} to the primary's address, {toReplicas.Open} to the replicas'");

        toPrimary.CutAll();
        toReplicas.CutAll();
        var clock = Stopwatch.StartNew();
        Assert.Equal("3", (await reader.GetSongAsync(Fake.Md5("3.mid"), None))!.Name);
        Report($"every session cut on both addresses: the next read answered in {clock.Elapsed.TotalSeconds:0.00} s");
        await AllReadsAsync(reader);
    }

    [Fact]
    public async Task EveryServerDown_ReadsFailWithAClearErrorNotAHang()
    {
        await Cluster.StopAsync(Replica, PostgresStopMode.Immediate);
        await Cluster.StopAsync(Primary, PostgresStopMode.Immediate);
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => Reader.GetSongAsync(Fake.Md5("1.mid"), None));

        Report($"no server: a read failed after {clock.Elapsed.TotalSeconds:0.0} s with: {error.Message}");
        Assert.Contains(Database.Name, error.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"a read with every server down took {clock.Elapsed}");
    }

    /// <summary>Every reader call once; each must answer (the data is there on every server).</summary>
    private static async Task AllReadsAsync(IScaleReader reader, bool catalogFirst = false)
    {
        if (catalogFirst)
        {
            Assert.True(await CountCatalogAsync(reader) >= 20);
        }

        var id = Fake.Md5("3.mid");
        Assert.Equal("3", (await reader.GetSongAsync(id, None))!.Name);
        Assert.Equal(5, (await reader.GetSimilarAsync(id, 0, 10, None))!.Items.Count);
        Assert.True(await CountCatalogAsync(reader) >= 20);
        Assert.True((await reader.GetSongsWithInstrumentAsync(128, 100, None)).Count >= 20);
        Assert.NotEmpty(await reader.GetRunsAsync(5, None));
        Assert.NotEmpty(await reader.GetSimilarityRunsAsync(5, None));
        Assert.True((await reader.GetSummaryAsync(None)).Songs >= 20);
        Assert.False(string.IsNullOrEmpty(await reader.GetDataVersionAsync(None)));
    }

    private static async Task<int> CountCatalogAsync(IScaleReader reader)
    {
        var count = 0;
        await foreach (var _ in reader.ReadCatalogAsync(None))
        {
            count++;
        }

        return count;
    }

    /// <summary>
    /// The reader's sessions (application name scale-web) on this test's database on <paramref name="server"/> whose
    /// last query read Scale's tables. (Npgsql also leaves an idle session on the primary from finding out which host
    /// is which; that one only asked the server's state.)
    /// </summary>
    private Task<long> ReaderSessionsAsync(PostgresServer server) =>
        ScalarAsync(server, $"SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'scale-web' AND datname = '{Database.Name}' AND query ~ '(songs|runs)'");

    private async Task<long> ScalarAsync(PostgresServer server, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Database.ConnectionStringFor(server)) { Pooling = false, Timeout = 5 }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private async Task ExecuteAsync(PostgresServer server, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Database.ConnectionStringFor(server)) { Pooling = false, Timeout = 5 }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<TimeSpan> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < within, $"not within {within}");
            await Task.Delay(100);
        }

        return clock.Elapsed;
    }

    private void Report(string line) => output.WriteLine(line);
}
