using System.Diagnostics;
using Scale.Testing.Postgres;
using Xunit.Abstractions;

namespace Scale.Testing.Tests;

/// <summary>Clusters of their own: shapes other than the shared one, and that nothing outlives a cluster.</summary>
public sealed class OwnClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_replicas_stream_and_disposal_leaves_no_process_folder_or_port()
    {
        var cluster = await PostgresCluster.StartNewAsync(new PostgresClusterOptions { Replicas = 2, Log = output.WriteLine });
        int[] pids;
        try
        {
            Assert.Equal(2, cluster.Replicas.Count);
            Assert.Equal(2, cluster.ReplicaConnectionStrings.Count);
            foreach (var replica in cluster.Replicas)
            {
                Assert.True(await cluster.IsInRecoveryAsync(replica));
            }

            Assert.Equal(2L, await Sql.ScalarAsync<long>(cluster.PrimaryConnectionString,
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"));
            await Sql.ExecuteAsync(cluster.PrimaryConnectionString, "CREATE TABLE songs (id int); INSERT INTO songs VALUES (1)");
            await cluster.WaitForReplayAsync();
            foreach (var connectionString in cluster.ReplicaConnectionStrings)
            {
                Assert.Equal(1L, await Sql.ScalarAsync<long>(connectionString, "SELECT count(*) FROM songs"));
            }

            Assert.Equal(3, cluster.MultiHostConnectionString().Split(',').Length);
            pids = [.. cluster.Servers.Select(server => server.PostmasterPid ?? throw new InvalidOperationException("not running"))];
            // PostgreSQL refuses root: as root, the servers run as the postgres user.
            Assert.All(pids, pid => Assert.Equal(ExpectedServerUid(), Uid(pid)));
            output.WriteLine($"a primary and 2 replicas started in {cluster.StartupDuration.TotalSeconds:0.00} s");
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        Assert.False(Directory.Exists(cluster.Folder));
        Assert.All(pids, pid => Assert.False(IsAlive(pid), $"postmaster {pid} outlived the cluster"));
        Assert.All(cluster.Servers, server => Assert.True(Tools.PortIsFree(server.Port), $"port {server.Port} still taken"));
        await cluster.DisposeAsync(); // twice is fine
    }

    [Fact]
    public async Task Watchdog_removes_the_cluster_when_the_test_process_dies_without_disposing()
    {
        var cluster = await PostgresCluster.StartNewAsync(new PostgresClusterOptions { Replicas = 0 });
        try
        {
            var pid = cluster.Primary.PostmasterPid!.Value;

            cluster.AbandonWatchdog();

            var clock = Stopwatch.StartNew();
            while ((IsAlive(pid) || Directory.Exists(cluster.Folder)) && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
            }

            Assert.False(IsAlive(pid), "the watchdog left the postmaster running");
            Assert.False(Directory.Exists(cluster.Folder), "the watchdog left the folder");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    private static string ExpectedServerUid() =>
        Environment.IsPrivilegedProcess
            ? File.ReadAllLines("/etc/passwd").Single(line => line.StartsWith("postgres:", StringComparison.Ordinal)).Split(':')[2]
            : Uid(Environment.ProcessId);

    private static string Uid(int pid) =>
        File.ReadAllLines($"/proc/{pid}/status").Single(line => line.StartsWith("Uid:", StringComparison.Ordinal))
            .Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];

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
