using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Scale.Store.Postgres;
using Scale.Testing.Postgres;
using Xunit.Abstractions;

namespace Scale.Store.Tests.Postgres;

/// <summary>
/// Synchronous replication on real PostgreSQL: a COMMIT whose wait for the synchronous standby is cancelled (by
/// Npgsql's command timeout or a cancellation token) comes back from PostgreSQL as a success with a WARNING ("canceling
/// wait for synchronous replication ..."), although the transaction is only committed locally and a failover can lose
/// it. The store must not take such a commit as done (<see cref="DurableCommit"/>). A cluster of its own (a primary and
/// a streaming replica), since the tests change <c>synchronous_standby_names</c> for the whole server; each test starts
/// from a healthy cluster with no synchronous standby and leaves it so.
/// </summary>
public sealed class PostgresSynchronousCommitTests(PostgresClusterFixture postgres, ITestOutputHelper output)
    : IClassFixture<PostgresClusterFixture>, IAsyncLifetime
{
    private const string Source = "folder:/corpus";
    private const string NotConfirmed = "but the commit was not confirmed by the synchronous standby";
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly List<PostgresTestDatabase> _databases = [];
    private PostgresTestDatabase? _database;

    private PostgresCluster Cluster => postgres.Cluster;

    private PostgresTestDatabase Database => _database!;

    public async Task InitializeAsync()
    {
        await Cluster.RestoreAsync();
        await SetSynchronousStandbyAsync(string.Empty, commitsWait: false);
        _database = await NewDatabaseAsync();
    }

    public async Task DisposeAsync()
    {
        // No synchronous standby before anything else commits (the restore, dropping the databases, which would wait
        // for it); the original primary first, if a test killed it.
        await Cluster.StartAsync(Cluster.Primary);
        await SetSynchronousStandbyAsync(string.Empty, commitsWait: false);
        await Cluster.RestoreAsync();
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task WriteBatch_StandbyNeverConfirms_CommandTimeoutEndsTheWait_FailsAsUnavailable_ARerunWritesItOnce()
    {
        // 'nobody' never connects, so every commit that writes waits for it until the command timeout cancels the wait.
        await using var store = await ScaleStoreFactory.OpenAsync(WithCommandTimeout(Database.PrimaryConnectionString, 2), null, None);
        var run = await store.BeginRunAsync(Source, None);
        await SetSynchronousStandbyAsync("nobody", commitsWait: true);
        var batch = Songs("a", 5);

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteBatchAsync(run, batch, None).WaitAsync(TimeSpan.FromMinutes(2)));
        Report($"synchronous standby never confirms, Command Timeout=2: the batch failed after {clock.Elapsed.TotalSeconds:0.0} s with: {error.Message}");

        Assert.StartsWith($"Could not write a batch: PostgreSQL on {Cluster.Primary.HostAndPort} committed it locally, {NotConfirmed}", error.Message, StringComparison.Ordinal);
        Assert.Contains("(canceling wait for synchronous replication due to user request)", error.Message, StringComparison.Ordinal);
        Assert.Contains("it may be lost on failover; the run can be resumed", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain(Cluster.Password, error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<IOException>(error);
        // One wait for the command timeout, not retried (each retry would wait again, and report the rows as written).
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        // What the error is about: the server did commit the rows, locally.
        Assert.Equal(5L, await ScalarAsync(Cluster.Primary, "SELECT count(*) FROM source_files"));

        // The standby question settled: the resumed run skips what the ledger has, and the same batch again (what a
        // caller's retry does) adds nothing twice.
        await SetSynchronousStandbyAsync(string.Empty, commitsWait: false);
        var finished = await store.GetFinishedKeysAsync(Source, None);
        Assert.Equal(batch.Select(f => f.Key).Order(StringComparer.Ordinal), finished.Order(StringComparer.Ordinal));
        var again = await store.WriteBatchAsync(run, batch, None);
        await store.CompleteRunAsync(run, new RunStats { FilesSeen = 5, FilesValid = 5 }, RunStatus.Completed, null, None);

        Assert.Equal((0, 5), (again.Valid, again.Ignored));
        Assert.Equal(5L, await ScalarAsync(Cluster.Primary, "SELECT count(*) FROM songs"));
        Assert.Equal(5L, await ScalarAsync(Cluster.Primary, "SELECT count(*) FROM source_files"));
        Assert.Equal(10L, await ScalarAsync(Cluster.Primary, "SELECT count(*) FROM song_instruments"));
        Assert.Equal(5L, await ScalarAsync(Cluster.Primary, "SELECT files_valid FROM runs"));
    }

    [Fact]
    public async Task EveryWrite_WaitCancelledByTheToken_FailsAsUnavailable_ReadsStillWork()
    {
        var fresh = await NewDatabaseAsync();
        await using var store = await ScaleStoreFactory.OpenAsync(Database.PrimaryConnectionString, null, None);
        var run = await store.BeginRunAsync(Source, None);
        await store.WriteBatchAsync(run, Songs("a", 3), None);
        var similarity = await store.BeginSimilarityRunAsync(new SimilaritySettings("jaccard", 0.5, 5, 1), None);
        await SetSynchronousStandbyAsync("nobody", commitsWait: true);

        // A read commits nothing that needs the standby (no transaction id, no commit record), nor does opening a store
        // whose schema is up to date, nor the reset of the pooled connection that wrote the batch (its staging tables
        // went with its commit; left to DISCARD ALL, dropping them waited for the standby up to the command timeout).
        var reads = Stopwatch.StartNew();
        Assert.Equal(3L, (await store.GetSummaryAsync(None)).Songs);
        Assert.Equal(3, (await store.GetFinishedKeysAsync(Source, None)).Count);
        await using (await ScaleStoreFactory.OpenAsync(Database.PrimaryConnectionString, null, None))
        {
        }

        Assert.True(reads.Elapsed < TimeSpan.FromSeconds(5), $"the reads took {reads.Elapsed}");

        // In an order where each write still applies after the ones before were committed locally.
        (string What, Func<CancellationToken, Task> Write)[] writes =
        [
            ("write a batch", ct => store.WriteBatchAsync(run, Songs("b", 2), ct)),
            ("complete a run", ct => store.CompleteRunAsync(run, new RunStats { FilesSeen = 5, FilesValid = 5 }, RunStatus.Completed, null, ct)),
            ("write the similarity lists", ct => store.ReplaceSimilaritiesAsync(similarity, [], () => new SimilarityStats(), ct)),
            ("mark a similarity run", ct => store.FailSimilarityRunAsync(similarity, RunStatus.Failed, "stopped", ct)),
            ("start a run", ct => store.BeginRunAsync(Source, ct)),
            ("start a similarity run", ct => store.BeginSimilarityRunAsync(new SimilaritySettings("jaccard", 0.5, 5, 1), ct)),
            ("apply the schema migrations", async ct => { await using var _ = await ScaleStoreFactory.OpenAsync(fresh.PrimaryConnectionString, null, ct); }),
        ];
        foreach (var (what, write) in writes)
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var clock = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => write(cancel.Token).WaitAsync(TimeSpan.FromMinutes(1)));
            Report($"{what}: failed after {clock.Elapsed.TotalSeconds:0.0} s with: {error.Message}");
            Assert.StartsWith($"Could not {what}: PostgreSQL on {Cluster.Primary.HostAndPort} committed it locally, {NotConfirmed}", error.Message, StringComparison.Ordinal);
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        }

        // Each of them is on the primary, committed locally.
        Assert.Equal(5L, await ScalarAsync(Cluster.Primary, "SELECT count(*) FROM source_files"));
        Assert.Equal(2L, await ScalarAsync(Cluster.Primary, "SELECT count(*) FROM runs"));
        Assert.Equal(2L, await ScalarAsync(Cluster.Primary, "SELECT count(*) FROM similarity_runs"));
        Assert.Equal((long)PostgresSchema.LatestVersion, await ScalarAsync(Cluster.Primary, "SELECT max(version) FROM schema_migrations", fresh.Name));
    }

    [Fact]
    public async Task WriteBatch_BackendTerminatedDuringTheWait_FailsAsUnavailableAtOnce_NotRetried()
    {
        await using var store = await ScaleStoreFactory.OpenAsync(Database.PrimaryConnectionString, null, None);
        var run = await store.BeginRunAsync(Source, None);
        await SetSynchronousStandbyAsync("nobody", commitsWait: true);

        // No timeout: the commit waits until the backend is terminated (pg_terminate_backend, as a fast shutdown does).
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var write = store.WriteBatchAsync(run, Songs("a", 4), cancel.Token);
        var pid = await WaitForSyncRepWaitAsync();
        var clock = Stopwatch.StartNew();
        Assert.True((bool)(await RawScalarAsync(Cluster.Primary, $"SELECT pg_terminate_backend({pid})"))!);
        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => write.WaitAsync(TimeSpan.FromSeconds(90)));
        Report($"backend {pid} terminated during the wait: the batch failed {clock.Elapsed.TotalSeconds:0.0} s later with: {error.Message}");

        Assert.StartsWith($"Could not write a batch: PostgreSQL on {Cluster.Primary.HostAndPort} committed it locally, {NotConfirmed}", error.Message, StringComparison.Ordinal);
        Assert.Contains("terminating connection due to administrator command", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
        // Not taken for a lost connection and retried: a retry would wait for the standby again (here until the token).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"failed {clock.Elapsed} after the termination");
        Assert.False(cancel.IsCancellationRequested);
        Assert.Equal(4L, await ScalarAsync(Cluster.Primary, "SELECT count(*) FROM source_files"));
    }

    [Fact]
    public async Task NextRun_AfterAnUnconfirmedBatchAndAFailover_WritesTheLostRowsOnce()
    {
        await using var store = await ScaleStoreFactory.OpenAsync(Database.MultiHostConnectionString(), null, None);
        var run = await store.BeginRunAsync(Source, None);
        var first = Songs("first", 4);
        var second = Songs("second", 3);
        await store.WriteBatchAsync(run, first, None);
        await Cluster.WaitForReplayAsync();

        // The synchronous standby goes away (here: stopped, as behind a partition); the primary waits for it.
        var replica = Cluster.Replicas[0];
        await Cluster.StopAsync(replica, PostgresStopMode.Fast);
        await SetSynchronousStandbyAsync("*", commitsWait: true);
        using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteBatchAsync(run, second, cancel.Token).WaitAsync(TimeSpan.FromMinutes(1)));
            Report($"the standby stopped: {error.Message}");
            Assert.Contains($"on {Cluster.Primary.HostAndPort} committed it locally, {NotConfirmed}", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(7L, await ScalarAsync(Cluster.Primary, "SELECT count(*) FROM source_files"));

        // Failover: the old primary dies with the batch only it has; the replica becomes the primary.
        await Cluster.KillAsync(Cluster.Primary);
        await Cluster.StartAsync(replica);
        await Cluster.PromoteAsync(replica);
        Assert.Equal(4L, await ScalarAsync(replica, "SELECT count(*) FROM source_files"));

        // The next run resumes: the lost batch is not in the ledger, so it is written again, once.
        var clock = Stopwatch.StartNew();
        var next = await store.BeginRunAsync(Source, None);
        Report($"the next run started on the promoted replica after {clock.Elapsed.TotalSeconds:0.0} s");
        var finished = await store.GetFinishedKeysAsync(Source, None);
        Assert.Equal(first.Select(f => f.Key).Order(StringComparer.Ordinal), finished.Order(StringComparer.Ordinal));
        var written = await store.WriteBatchAsync(next, [.. first.Concat(second).Where(f => !finished.Contains(f.Key))], None);
        var again = await store.WriteBatchAsync(next, second, None);

        Assert.Equal(3, written.Valid);
        Assert.Equal((0, 3), (again.Valid, again.Ignored));
        Assert.Equal(7L, await ScalarAsync(replica, "SELECT count(*) FROM songs"));
        Assert.Equal(7L, await ScalarAsync(replica, "SELECT count(DISTINCT key) FROM source_files"));
        Assert.Equal(7L, await ScalarAsync(replica, "SELECT count(*) FROM source_files"));
        Assert.Equal(14L, await ScalarAsync(replica, "SELECT count(*) FROM song_instruments"));
    }

    [Fact]
    public async Task Writes_WorkingSynchronousStandby_CommitAsBefore()
    {
        // Through 'nobody' first, so commits are known to wait for a standby before the replica is made the one.
        await SetSynchronousStandbyAsync("nobody", commitsWait: true);
        await SetSynchronousStandbyAsync("*", commitsWait: false);
        Assert.Equal("sync", await TextAsync(Cluster.Primary, "SELECT string_agg(sync_state, ',') FROM pg_stat_replication"));

        var fresh = await NewDatabaseAsync();
        var clock = Stopwatch.StartNew();
        await using var store = await ScaleStoreFactory.OpenAsync(WithCommandTimeout(fresh.PrimaryConnectionString, 2), null, None);
        var run = await store.BeginRunAsync(Source, None);
        var written = await store.WriteBatchAsync(run, Songs("a", 50), None);
        await store.CompleteRunAsync(run, new RunStats { FilesSeen = 50, FilesValid = 50 }, RunStatus.Completed, null, None);
        var sets = await store.GetSongSetsAsync(None);
        var similarity = await store.BeginSimilarityRunAsync(new SimilaritySettings("jaccard", 0.5, 5, 1), None);
        await store.ReplaceSimilaritiesAsync(similarity, [.. sets.Select(s => new SimilarSongList(s.Key, 0, Array.Empty<SimilarRow>()))], () => new SimilarityStats(), None);
        var failed = await store.BeginSimilarityRunAsync(new SimilaritySettings("jaccard", 0.5, 5, 1), None);
        await store.FailSimilarityRunAsync(failed, RunStatus.Failed, "stopped", None);
        Report($"a working synchronous standby: migrations and 6 writes in {clock.Elapsed.TotalMilliseconds:0} ms");

        Assert.Equal(50, written.Valid);
        Assert.Equal(RunStatus.Completed, (await store.GetRunAsync(run, None))!.Status);
        // The standby confirmed each commit before it returned; replayed, it has them.
        await Cluster.WaitForReplayAsync();
        var replica = Cluster.Replicas[0];
        Assert.Equal(50L, await ScalarAsync(replica, "SELECT count(*) FROM songs", fresh.Name));
        Assert.Equal("completed", await TextAsync(replica, "SELECT status FROM runs", fresh.Name));
        Assert.Equal("completed,failed", await TextAsync(replica, "SELECT string_agg(status, ',' ORDER BY id) FROM similarity_runs", fresh.Name));
        Assert.Equal(50L, await ScalarAsync(replica, "SELECT count(*) FROM similar_lists", fresh.Name));
    }

    [Fact]
    public async Task Writes_NoSynchronousStandby_AnotherWarningAtCommit_CommitAsBefore()
    {
        await using var store = await ScaleStoreFactory.OpenAsync(Database.PrimaryConnectionString, null, None);
        // Every commit that wrote a run row gets an unrelated WARNING from a deferred trigger, during the COMMIT.
        await ExecuteAsync(
            Cluster.Primary,
            """
            CREATE FUNCTION warn_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE WARNING 'an unrelated warning at commit' USING DETAIL = 'about replication, say';
                RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER warn_at_commit AFTER INSERT OR UPDATE ON runs DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION warn_at_commit();
            CREATE CONSTRAINT TRIGGER warn_at_commit AFTER INSERT OR UPDATE ON similarity_runs DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION warn_at_commit();
            """);

        var run = await store.BeginRunAsync(Source, None);
        var written = await store.WriteBatchAsync(run, Songs("a", 3), None);
        await store.CompleteRunAsync(run, new RunStats { FilesSeen = 3, FilesValid = 3 }, RunStatus.Completed, null, None);
        var similarity = await store.BeginSimilarityRunAsync(new SimilaritySettings("jaccard", 0.5, 5, 1), None);
        await store.ReplaceSimilaritiesAsync(similarity, [], () => new SimilarityStats(), None);

        Assert.Equal(3, written.Valid);
        Assert.Equal(RunStatus.Completed, (await store.GetRunAsync(run, None))!.Status);
        Assert.Equal(3L, await ScalarAsync(Cluster.Primary, "SELECT count(*) FROM songs"));
        Assert.Equal("completed", await TextAsync(Cluster.Primary, "SELECT status FROM similarity_runs"));
    }

    [Theory]
    [InlineData("WARNING", "01000", "canceling wait for synchronous replication due to user request", "SyncRepWaitForLSN", true)]
    [InlineData("WARNING", "57P01", "canceling the wait for synchronous replication and terminating connection due to administrator command", "SyncRepWaitForLSN", true)]
    // Translated (lc_messages = 'de_DE'): the routine still tells.
    [InlineData("WARNING", "01000", "Warten auf synchrone Replikation wird storniert wegen Benutzeraufforderung", "SyncRepWaitForLSN", true)]
    // A server or proxy that leaves the routine out: the English text tells.
    [InlineData("WARNING", "01000", "canceling wait for synchronous replication due to user request", null, true)]
    [InlineData("WARNING", "01000", "an unrelated warning at commit", "exec_stmt_raise", false)]
    [InlineData("NOTICE", "00000", "relation \"schema_migrations\" already exists, skipping", "transformCreateStmt", false)]
    public void IsUnconfirmedSynchronousCommit_TheWarningOfTheCancelledWait_AndNothingElse(string severity, string sqlState, string message, string? routine, bool expected)
    {
        var notice = Notice(severity, sqlState, message, routine: routine);

        Assert.Equal(expected, DurableCommit.IsUnconfirmedSynchronousCommit(notice));
    }

    [Fact]
    public void IsUnconfirmedSynchronousCommit_DetailOnly_Matches()
    {
        var notice = Notice("WARNING", "01000", "(übersetzt)", detail: "The transaction has already committed locally, but might not have been replicated to the standby.", severity: "WARNUNG");

        Assert.True(DurableCommit.IsUnconfirmedSynchronousCommit(notice));
    }

    /// <summary>A fresh database, dropped after the test when the synchronous standby is reset.</summary>
    private async Task<PostgresTestDatabase> NewDatabaseAsync()
    {
        var database = await Cluster.CreateDatabaseAsync();
        _databases.Add(database);
        return database;
    }

    /// <summary>A notice as Npgsql builds it from the server's fields (its long constructor takes the message first).</summary>
    private static PostgresNotice Notice(string invariantSeverity, string sqlState, string message, string? routine = null, string? detail = null, string? severity = null) =>
        new(
            messageText: message,
            severity: severity ?? invariantSeverity,
            invariantSeverity: invariantSeverity,
            sqlState: sqlState,
            detail: detail,
            routine: routine);

    private static ExtractedFile[] Songs(string prefix, int count) =>
        [.. Enumerable.Range(0, count).Select(i => Fake.Song($"{prefix}{i}.mid", i % 100, 100 + (i % 20)))];

    /// <remarks>
    /// The store keeps its own 5 s connect timeout beside it (PostgresStoreTests.Settings_WhatTheUserLeftOut_ScalesDefaultsAndNothingTheyWrote).
    /// </remarks>
    private static string WithCommandTimeout(string connectionString, int seconds) =>
        new NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = seconds }.ConnectionString;

    /// <summary>
    /// <c>synchronous_standby_names</c> for the primary, and waits until its commits behave by it (the checkpointer
    /// takes up a reload a moment later, the WAL sender too): a probe commit waits for a standby and gives up
    /// (<paramref name="commitsWait"/>), or it returns without such a warning (no synchronous standby, or one that
    /// confirms).
    /// </summary>
    private async Task SetSynchronousStandbyAsync(string names, bool commitsWait)
    {
        await ExecuteAsync(Cluster.Primary, names.Length == 0 ? "ALTER SYSTEM RESET synchronous_standby_names" : $"ALTER SYSTEM SET synchronous_standby_names = '{names}'");
        await ExecuteAsync(Cluster.Primary, "SELECT pg_reload_conf()");
        var clock = Stopwatch.StartNew();
        while (await CommitWaitsForAStandbyAsync(Cluster.Primary) != commitsWait)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"synchronous_standby_names = '{names}' did not take effect within {clock.Elapsed}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// A commit that writes, cancelled after 500 ms, which ends a wait for a synchronous standby with PostgreSQL's
    /// warning. (Not <c>statement_timeout</c>: PostgreSQL stops it before the commit, so it never ends that wait.)
    /// </summary>
    private async Task<bool> CommitWaitsForAStandbyAsync(PostgresServer server)
    {
        await using var connection = await OpenAsync(server);
        string? notice = null;
        connection.Notice += (_, e) => notice ??= e.Notice.MessageText;
        await using var transaction = await connection.BeginTransactionAsync();
        // Dropped by the commit: a temp table left to the session's end would be dropped as the backend exits, in a
        // transaction that waits for the standby too, with no client to give up on it.
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE probe (x integer) ON COMMIT DROP", connection, transaction))
        {
            await create.ExecuteNonQueryAsync();
        }

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await transaction.CommitAsync(cancel.Token);
        return notice?.Contains("synchronous replication", StringComparison.Ordinal) == true;
    }

    /// <summary>The store's backend (application name "scale") that waits for a synchronous standby.</summary>
    private async Task<int> WaitForSyncRepWaitAsync()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var pid = await RawScalarAsync(
                Cluster.Primary,
                $"SELECT pid FROM pg_stat_activity WHERE datname = '{Database.Name}' AND application_name = 'scale' AND wait_event = 'SyncRep' LIMIT 1");
            if (pid is int found)
            {
                return found;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException("No backend waited for the synchronous standby within 20 s.");
            }

            await Task.Delay(50);
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(PostgresServer server, string? database = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(server.ConnectionStringFor(database ?? _database?.Name ?? Cluster.Database))
        {
            Pooling = false,
            CommandTimeout = 30,
        };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private async Task ExecuteAsync(PostgresServer server, string sql)
    {
        await using var connection = await OpenAsync(server);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> ScalarAsync(PostgresServer server, string sql, string? database = null) =>
        Convert.ToInt64(await RawScalarAsync(server, sql, database), CultureInfo.InvariantCulture);

    private async Task<string?> TextAsync(PostgresServer server, string sql, string? database = null) =>
        (string?)await RawScalarAsync(server, sql, database);

    private async Task<object?> RawScalarAsync(PostgresServer server, string sql, string? database = null)
    {
        await using var connection = await OpenAsync(server, database);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private void Report(string line) => output.WriteLine(line);
}
