using System.Diagnostics;
using Npgsql;
using Scale.Testing.Postgres;

namespace Scale.Testing.Tests;

/// <summary>
/// The shared cluster (a primary and one replica) through the failures the store's tests will put it through. The
/// tests of this class run one after the other; each starts from a healthy cluster (<see cref="PostgresCluster.RestoreAsync"/>).
/// </summary>
public sealed class PostgresClusterTests(PostgresClusterFixture fixture) : IClassFixture<PostgresClusterFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    private PostgresCluster Cluster => fixture.Cluster;

    private PostgresServer Replica => Cluster.Replicas[0];

    public Task InitializeAsync() => Cluster.RestoreAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Cluster_has_a_primary_and_a_streaming_replica_on_loopback_ports()
    {
        Assert.Equal(15, Cluster.MajorVersion);
        Assert.False(await Cluster.IsInRecoveryAsync(Cluster.Primary));
        Assert.True(await Cluster.IsInRecoveryAsync(Replica));
        Assert.NotEqual(Cluster.Primary.Port, Replica.Port);
        Assert.DoesNotContain(5432, Cluster.Servers.Select(server => server.Port));
        Assert.Equal(
            Replica.Name,
            await Sql.ScalarAsync<string>(Cluster.PrimaryConnectionString,
                "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'"));
        Assert.Equal("127.0.0.1/32",
            await Sql.ScalarAsync<string>(Cluster.PrimaryConnectionString, "SELECT inet_server_addr()::text"));
        Assert.Equal("scale", await Sql.ScalarAsync<string>(Cluster.ReplicaConnectionStrings[0], "SELECT current_database()"));
        Assert.Contains(
            $"Host=127.0.0.1:{Cluster.Primary.Port},127.0.0.1:{Replica.Port}",
            Cluster.MultiHostConnectionString("prefer-standby"), StringComparison.Ordinal);

        // Passwords are checked: loopback is not trusted.
        var wrong = new NpgsqlConnectionStringBuilder(Cluster.PrimaryConnectionString) { Password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)) };
        var refused = await Assert.ThrowsAsync<PostgresException>(() => Sql.ExecuteAsync(wrong.ConnectionString, "SELECT 1"));
        Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState);
    }

    [Fact]
    public async Task Replica_serves_a_row_written_on_the_primary_and_refuses_writes()
    {
        await using var database = await fixture.CreateDatabaseAsync();
        await Sql.ExecuteAsync(database.PrimaryConnectionString,
            "CREATE TABLE songs (id int PRIMARY KEY, title text NOT NULL); INSERT INTO songs VALUES (1, 'Yesterday')");

        await Cluster.WaitForReplayAsync();

        Assert.Equal("Yesterday",
            await Sql.ScalarAsync<string>(database.ReplicaConnectionStrings[0], "SELECT title FROM songs WHERE id = 1"));
        var refused = await Assert.ThrowsAsync<PostgresException>(() =>
            Sql.ExecuteAsync(database.ReplicaConnectionStrings[0], "INSERT INTO songs VALUES (2, 'Help!')"));
        Assert.Equal(PostgresErrorCodes.ReadOnlySqlTransaction, refused.SqlState);

        // Multi-host: reads prefer the replica, writes find the primary.
        Assert.True(await Sql.ScalarAsync<bool>(database.MultiHostConnectionString("prefer-standby"), "SELECT pg_is_in_recovery()"));
        await Sql.ExecuteAsync(database.MultiHostConnectionString("read-write"), "INSERT INTO songs VALUES (2, 'Help!')");
    }

    [Fact]
    public async Task Killing_the_replica_leaves_the_primary_writable()
    {
        await using var database = await fixture.CreateDatabaseAsync();
        await Sql.ExecuteAsync(database.PrimaryConnectionString, "CREATE TABLE songs (id int PRIMARY KEY)");
        var pid = Replica.PostmasterPid;
        Assert.NotNull(pid);

        await Cluster.KillAsync(Replica);

        Assert.False(Replica.IsRunning);
        Assert.False(IsAlive(pid.Value), "the killed postmaster lives on");
        var clock = Stopwatch.StartNew();
        await Sql.ExecuteAsync(database.PrimaryConnectionString, "INSERT INTO songs VALUES (1)");
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, Prompt);
        // A read that prefers a replica goes to the primary while there is none.
        Assert.False(await Sql.ScalarAsync<bool>(database.MultiHostConnectionString("prefer-standby"), "SELECT pg_is_in_recovery()"));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => Sql.ExecuteAsync(database.ReplicaConnectionStrings[0], "SELECT 1"));

        // Back up, it catches up with what it missed.
        await Cluster.StartAsync(Replica);
        await Cluster.WaitForReplicaStreamingAsync(Replica);
        await Cluster.WaitForReplayAsync(Replica);
        Assert.Equal(1L, await Sql.ScalarAsync<long>(database.ReplicaConnectionStrings[0], "SELECT count(*) FROM songs"));
    }

    [Fact]
    public async Task Stopping_the_primary_leaves_the_replica_readable_but_read_only()
    {
        await using var database = await fixture.CreateDatabaseAsync();
        await Sql.ExecuteAsync(database.PrimaryConnectionString,
            "CREATE TABLE songs (id int PRIMARY KEY); INSERT INTO songs VALUES (1)");
        await Cluster.WaitForReplayAsync();

        await Cluster.StopAsync(Cluster.Primary, PostgresStopMode.Fast);

        Assert.False(Cluster.Primary.IsRunning);
        Assert.True(await Cluster.IsInRecoveryAsync(Replica));
        Assert.Equal(1L, await Sql.ScalarAsync<long>(database.ReplicaConnectionStrings[0], "SELECT count(*) FROM songs"));
        Assert.Equal(1L, await Sql.ScalarAsync<long>(database.MultiHostConnectionString("prefer-primary"), "SELECT count(*) FROM songs"));
        // Writes fail at once with a clear error, they do not hang.
        var clock = Stopwatch.StartNew();
        var readOnly = await Assert.ThrowsAsync<PostgresException>(() =>
            Sql.ExecuteAsync(database.ReplicaConnectionStrings[0], "INSERT INTO songs VALUES (2)"));
        Assert.Equal(PostgresErrorCodes.ReadOnlySqlTransaction, readOnly.SqlState);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => Sql.ExecuteAsync(database.PrimaryConnectionString, "SELECT 1"));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() =>
            Sql.ExecuteAsync(database.MultiHostConnectionString("read-write"), "INSERT INTO songs VALUES (2)"));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, Prompt);

        // The primary comes back on its port, and the replica follows it again by itself.
        await Cluster.StartAsync(Cluster.Primary);
        await Cluster.WaitForReplicaStreamingAsync(Replica);
        await Sql.ExecuteAsync(database.PrimaryConnectionString, "INSERT INTO songs VALUES (2)");
        await Cluster.WaitForReplayAsync(Replica);
        Assert.Equal(2L, await Sql.ScalarAsync<long>(database.ReplicaConnectionStrings[0], "SELECT count(*) FROM songs"));
    }

    [Fact]
    public async Task Killed_primary_recovers_its_committed_rows_and_the_replica_follows_it_again()
    {
        await using var database = await fixture.CreateDatabaseAsync();
        await Sql.ExecuteAsync(database.PrimaryConnectionString,
            "CREATE TABLE songs (id int PRIMARY KEY); INSERT INTO songs SELECT generate_series(1, 1000)");

        await Cluster.KillAsync(Cluster.Primary);
        Assert.False(Cluster.Primary.IsRunning);
        await Cluster.StartAsync(Cluster.Primary);

        Assert.Equal(1000L, await Sql.ScalarAsync<long>(database.PrimaryConnectionString, "SELECT count(*) FROM songs"));
        Assert.Contains("database system was interrupted", File.ReadAllText(Cluster.Primary.LogFile), StringComparison.Ordinal);
        await Cluster.WaitForReplicaStreamingAsync(Replica);
        await Sql.ExecuteAsync(database.PrimaryConnectionString, "INSERT INTO songs VALUES (1001)");
        await Cluster.WaitForReplayAsync(Replica);
        Assert.Equal(1001L, await Sql.ScalarAsync<long>(database.ReplicaConnectionStrings[0], "SELECT count(*) FROM songs"));
    }

    [Fact]
    public async Task Promoted_replica_takes_writes_and_restore_rebuilds_it_as_a_replica()
    {
        await using var database = await fixture.CreateDatabaseAsync();
        await Sql.ExecuteAsync(database.PrimaryConnectionString,
            "CREATE TABLE songs (id int PRIMARY KEY); INSERT INTO songs VALUES (1)");
        await Cluster.WaitForReplayAsync();

        await Cluster.StopAsync(Cluster.Primary, PostgresStopMode.Immediate);
        await Cluster.PromoteAsync(Replica);

        Assert.False(await Cluster.IsInRecoveryAsync(Replica));
        await Sql.ExecuteAsync(database.ReplicaConnectionStrings[0], "INSERT INTO songs VALUES (2)");
        // A multi-host writer finds the new primary.
        Assert.Equal(Replica.Port, await Sql.ScalarAsync<int>(database.MultiHostConnectionString("read-write"), "SELECT inet_server_port()"));

        // Failback: the original primary again, the replica rebuilt from it (the promoted replica's row is gone).
        await Cluster.RestoreAsync();

        Assert.False(await Cluster.IsInRecoveryAsync(Cluster.Primary));
        Assert.True(await Cluster.IsInRecoveryAsync(Replica));
        Assert.Equal(1L, await Sql.ScalarAsync<long>(database.ReplicaConnectionStrings[0], "SELECT count(*) FROM songs"));
        await Sql.ExecuteAsync(database.PrimaryConnectionString, "INSERT INTO songs VALUES (3)");
        await Cluster.WaitForReplayAsync(Replica);
        Assert.Equal(2L, await Sql.ScalarAsync<long>(database.ReplicaConnectionStrings[0], "SELECT count(*) FROM songs"));
    }

    [Fact]
    public async Task Each_test_database_is_fresh_on_every_server_and_dropped_on_dispose()
    {
        var first = await fixture.CreateDatabaseAsync();
        await using var second = await fixture.CreateDatabaseAsync();
        Assert.NotEqual(first.Name, second.Name);
        Assert.StartsWith("test_", first.Name, StringComparison.Ordinal);
        await Sql.ExecuteAsync(first.PrimaryConnectionString, "CREATE TABLE songs (id int)");
        await Cluster.WaitForReplayAsync();
        Assert.Equal(1L, await Sql.ScalarAsync<long>(first.ReplicaConnectionStrings[0], "SELECT count(*) FROM pg_tables WHERE tablename = 'songs'"));
        Assert.Equal(0L, await Sql.ScalarAsync<long>(second.ReplicaConnectionStrings[0], "SELECT count(*) FROM pg_tables WHERE tablename = 'songs'"));

        // An open pooled connection does not stop the drop.
        await using var open = new NpgsqlConnection(first.PrimaryConnectionString);
        await open.OpenAsync();
        await first.DisposeAsync();
        await Cluster.WaitForReplayAsync();

        var exists = $"SELECT count(*) FROM pg_database WHERE datname = '{first.Name}'";
        Assert.Equal(0L, await Sql.ScalarAsync<long>(Cluster.PrimaryConnectionString, exists));
        Assert.Equal(0L, await Sql.ScalarAsync<long>(Cluster.ReplicaConnectionStrings[0], exists));
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
