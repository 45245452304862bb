using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Scale.Testing.Postgres;

/// <summary>
/// Throwaway PostgreSQL servers for tests: a primary and N streaming replicas (physical replication, one slot
/// each) on free ports of 127.0.0.1, in a fresh temporary folder that disposal deletes. Built with the distribution's
/// own programs: <c>initdb</c> (once per test process, into a template that each cluster copies: scram-sha-256 on
/// loopback only, no Unix socket, a test user with a random password, a database <c>scale</c>); each replica starts
/// from a cold copy of the same template with standby.signal and primary_conninfo, which is what
/// <c>pg_basebackup -R</c> would give, only faster; a rebuilt replica gets a real pg_basebackup. When the tests run as root,
/// the servers run as the <c>postgres</c> user (PostgreSQL refuses root); Debian's <c>postgresql</c> package is
/// installed first when missing and this process is root (<see cref="PostgresInstallation"/>).
/// </summary>
/// <remarks>
/// A cluster never outlives the test process: <see cref="DisposeAsync"/> stops every server (immediate) and deletes
/// the folder, a ProcessExit handler does the same for clusters nobody disposed, and a watchdog process does it when
/// the test process dies without either (SIGKILL). The per-server operations (<see cref="StopAsync"/>,
/// <see cref="KillAsync"/>, <see cref="StartAsync(PostgresServer, CancellationToken)"/>, <see cref="PromoteAsync"/>)
/// are for failover tests; <see cref="RestoreAsync"/> brings a shared cluster back to its first shape afterwards.
/// </remarks>
public sealed class PostgresCluster : IAsyncDisposable
{
    /// <summary>The test database every server has from the start.</summary>
    public const string DefaultDatabase = "scale";

    /// <summary>The test user (a superuser: tests create databases and read pg_stat_replication).</summary>
    public const string DefaultUsername = "scale";

    /// <summary>The role the replicas stream as (REPLICATION LOGIN, not a superuser).</summary>
    public const string ReplicationUsername = "replicator";

    private static readonly ConcurrentDictionary<PostgresCluster, byte> LiveClusters = new();
    // Ports this process's clusters hold, each with its cross-process lock file (null where none could be made).
    private static readonly ConcurrentDictionary<int, FileStream?> PortsHandedOut = new();
    private static readonly SemaphoreSlim TemplateGate = new(1, 1);

    // One password pair per test process: every cluster's data folder is a copy of one template made by initdb.
    private static readonly string ProcessPassword = RandomSecret();
    private static readonly string ProcessReplicationPassword = RandomSecret();
    private static int _processExitHooked;
    private static PostgresCluster? _template;

    private readonly string _binDirectory;
    private readonly PostgresClusterOptions _options;
    private readonly List<PostgresServer> _replicas = [];
    private readonly Stopwatch _age = Stopwatch.StartNew();
    private ClusterWatchdog? _watchdog;
    private int _disposed;

    private PostgresCluster(string binDirectory, string folder, PostgresClusterOptions options)
    {
        _binDirectory = binDirectory;
        _options = options;
        Folder = folder;
        Password = ProcessPassword;
        ReplicationPassword = ProcessReplicationPassword;
        Primary = new PostgresServer(this, "primary", startedAsReplica: false, Path.Join(folder, "primary"),
            Path.Join(folder, "primary.log"));
    }

    /// <summary>The temporary folder: one data folder and one log per server.</summary>
    public string Folder { get; }

    /// <summary>The server initdb made. After a promotion it may no longer be the primary: ask
    /// <see cref="IsInRecoveryAsync"/>. <see cref="RestoreAsync"/> makes it the primary again.</summary>
    public PostgresServer Primary { get; }

    /// <summary>The replicas, in order ("replica1", "replica2", ...).</summary>
    public IReadOnlyList<PostgresServer> Replicas => _replicas;

    /// <summary>The primary, then the replicas.</summary>
    public IReadOnlyList<PostgresServer> Servers => [Primary, .. _replicas];

    public string Database { get; } = DefaultDatabase;

    public string Username { get; } = DefaultUsername;

    /// <summary>The test user's password (random per test process; the servers accept only loopback connections).</summary>
    public string Password { get; }

    public string ReplicationPassword { get; }

    /// <summary>The <c>scale</c> database on the primary.</summary>
    public string PrimaryConnectionString => Primary.ConnectionString;

    /// <summary>The <c>scale</c> database on each replica.</summary>
    public IReadOnlyList<string> ReplicaConnectionStrings => [.. _replicas.Select(replica => replica.ConnectionString)];

    /// <summary>How long <see cref="StartNewAsync"/> took, until every replica streamed (the first cluster of a test
    /// process includes initdb of the template).</summary>
    public TimeSpan StartupDuration { get; private set; }

    /// <summary>The servers' major version, e.g. 15.</summary>
    public int MajorVersion { get; private set; }

    /// <summary>
    /// Starts a new cluster: the primary (a copy of a data folder that initdb made once per test process, with the
    /// test user, the replication role and the <c>scale</c> database), one replica per
    /// <see cref="PostgresClusterOptions.Replicas"/> (a copy of the same folder, streaming from the primary), then waits until every replica streams. Throws with the servers'
    /// logs when something does not come up (and leaves nothing behind).
    /// </summary>
    public static async Task<PostgresCluster> StartNewAsync(PostgresClusterOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The PostgreSQL test clusters run on Linux only.");
        }

        options ??= new PostgresClusterOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Replicas);
        var clock = Stopwatch.StartNew();
        var binDirectory = await PostgresInstallation.EnsureAsync(cancellationToken).ConfigureAwait(false);
        HookProcessExit();
        var template = await TemplateAsync(binDirectory, options.Log, cancellationToken).ConfigureAwait(false);
        var cluster = await CreateAsync(binDirectory, options, template, cancellationToken).ConfigureAwait(false);
        cluster.StartupDuration = clock.Elapsed;
        return cluster;
    }

    private static async Task<PostgresCluster> CreateAsync(string binDirectory, PostgresClusterOptions options,
        PostgresCluster? template, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The PostgreSQL test clusters run on Linux only.");
        }

        var folder = Path.Join(options.BaseDirectory ?? Path.GetTempPath(),
            (template is null ? "scale-pg-template-" : "scale-pg-") + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var cluster = new PostgresCluster(binDirectory, folder, options);
        LiveClusters.TryAdd(cluster, 0);
        cluster._watchdog = ClusterWatchdog.Start(folder);
        try
        {
            await cluster.InitializeAsync(template, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return cluster;
    }

    /// <summary>initdb is most of a cluster's start-up time, so it runs once per test process: a stopped primary
    /// with the test user, the replication role and the <c>scale</c> database, whose data folder every cluster copies.
    /// It is deleted at process exit (or by its watchdog).</summary>
    private static async Task<PostgresCluster> TemplateAsync(string binDirectory, Action<string>? log,
        CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _template) is { } ready)
        {
            return ready;
        }

        await TemplateGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_template is null)
            {
                var template = await CreateAsync(binDirectory, new PostgresClusterOptions { Replicas = 0, Log = log }, null,
                    cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _template, template);
            }

            return _template;
        }
        finally
        {
            TemplateGate.Release();
        }
    }

    /// <summary>
    /// A connection string naming every server (<c>Host=127.0.0.1:p1,127.0.0.1:p2,...</c>, the primary first) for
    /// Npgsql's multi-host support, with Target Session Attributes = <paramref name="targetSessionAttributes"/>
    /// (any, primary, standby, prefer-primary, prefer-standby, read-write, read-only).
    /// </summary>
    public string MultiHostConnectionString(string targetSessionAttributes = "any", string? database = null)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = string.Join(',', Servers.Select(server => server.HostAndPort)),
            Database = database ?? Database,
            Username = Username,
            Password = Password,
            TargetSessionAttributes = targetSessionAttributes,
            // As the store does by default: negotiating GSS encryption can hang a new connection for 5 s (no Kerberos here).
            GssEncryptionMode = GssEncryptionMode.Disable,
        };
        return builder.ConnectionString;
    }

    /// <summary>Creates an empty database <c>test_&lt;guid&gt;</c> on the primary and waits until every replica that
    /// streams has it. Dispose the result to drop it.</summary>
    public async Task<PostgresTestDatabase> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = "test_" + Guid.NewGuid().ToString("N");
        await ExecuteAsync(Primary, $"CREATE DATABASE \"{name}\"", cancellationToken).ConfigureAwait(false);
        await WaitForReplayAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return new PostgresTestDatabase(this, name);
    }

    /// <summary>Shuts <paramref name="server"/> down with pg_ctl (fast: clean; immediate: crash-like) and waits until
    /// it is gone. A server that is not running is left alone.</summary>
    public async Task StopAsync(PostgresServer server, PostgresStopMode mode = PostgresStopMode.Fast,
        CancellationToken cancellationToken = default)
    {
        CheckOwn(server);
        if (!server.IsRunning)
        {
            return;
        }

        var result = await PgCtlAsync(
            ["stop", "-D", server.DataDirectory, "-m", mode == PostgresStopMode.Fast ? "fast" : "immediate", "-w", "-t", TimeoutSeconds],
            cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded && server.IsRunning)
        {
            throw new InvalidOperationException(
                $"Stopping {server} ({mode}) failed with exit code {result.ExitCode}:\n{result.Output}\n{LogOf(server)}");
        }
    }

    /// <summary>SIGKILL of <paramref name="server"/>'s postmaster, as a crash would; waits until the postmaster and
    /// its children (which notice and exit) are gone, so the server can be started again at once.</summary>
    public Task KillAsync(PostgresServer server)
    {
        CheckOwn(server);
        return KillPostmasterAsync(server);
    }

    private static async Task KillPostmasterAsync(PostgresServer server)
    {
        if (server.PostmasterPid is not { } pid)
        {
            return;
        }

        var children = PostgresCommands.Children(pid);
        PostgresCommands.KillHard(pid);
        if (!await PostgresCommands.WaitForExitAsync([pid], TimeSpan.FromSeconds(10)).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"The postmaster of {server} (PID {pid}) survived SIGKILL for 10 s.");
        }

        // Orphaned backends hold the old shared memory, and a new postmaster refuses to start while they do.
        if (!await PostgresCommands.WaitForExitAsync(children, TimeSpan.FromSeconds(10)).ConfigureAwait(false))
        {
            foreach (var child in children)
            {
                PostgresCommands.KillHard(child);
            }

            await PostgresCommands.WaitForExitAsync(children, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
    }

    /// <summary>Starts a stopped or killed <paramref name="server"/> on its port (pg_ctl -w: returns when it accepts
    /// connections, after crash recovery if it was killed). A replica then reconnects to its primary by itself;
    /// <see cref="WaitForReplicaStreamingAsync"/> waits for that.</summary>
    public async Task StartAsync(PostgresServer server, CancellationToken cancellationToken = default)
    {
        CheckOwn(server);
        if (server.IsRunning)
        {
            return;
        }

        await StartServerAsync(server, choosePortAgain: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Promotes <paramref name="replica"/> to a primary (pg_ctl promote -w) and checks it accepts writes.
    /// The other replicas keep following the old primary.</summary>
    public async Task PromoteAsync(PostgresServer replica, CancellationToken cancellationToken = default)
    {
        CheckOwn(replica);
        var result = await PgCtlAsync(["promote", "-D", replica.DataDirectory, "-w", "-t", TimeoutSeconds], cancellationToken)
            .ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(
                $"Promoting {replica} failed with exit code {result.ExitCode}:\n{result.Output}\n{LogOf(replica)}");
        }

        var clock = Stopwatch.StartNew();
        while (await IsInRecoveryAsync(replica, cancellationToken).ConfigureAwait(false))
        {
            if (clock.Elapsed > _options.ServerTimeout)
            {
                throw new TimeoutException($"{replica} was promoted but still is in recovery.\n{LogOf(replica)}");
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>pg_is_in_recovery() on <paramref name="server"/>: true for a replica (a standby), false for a primary.</summary>
    public async Task<bool> IsInRecoveryAsync(PostgresServer server, CancellationToken cancellationToken = default)
    {
        CheckOwn(server);
        return await QueryAsync(server, "SELECT pg_is_in_recovery()", reader => reader.GetBoolean(0), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until <paramref name="replica"/> (all replicas when null) streams from <paramref name="primary"/> (the
    /// original primary when null): the primary's pg_stat_replication lists it as streaming, and the replica is in
    /// recovery with a streaming WAL receiver. Throws a TimeoutException with both servers' logs otherwise.
    /// </summary>
    public async Task WaitForReplicaStreamingAsync(PostgresServer? replica = null, PostgresServer? primary = null,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        primary ??= Primary;
        CheckOwn(primary);
        var limit = timeout ?? _options.ReplicationTimeout;
        foreach (var server in replica is null ? _replicas : [replica])
        {
            CheckOwn(server);
            var clock = Stopwatch.StartNew();
            string state = "not checked yet";
            while (true)
            {
                try
                {
                    var sending = await QueryAsync(primary,
                        $"SELECT count(*) FROM pg_stat_replication WHERE application_name = '{server.Name}' AND state = 'streaming'",
                        reader => reader.GetInt64(0), cancellationToken).ConfigureAwait(false);
                    var (inRecovery, receiver) = await QueryAsync(server,
                        "SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver LIMIT 1)",
                        reader => (reader.GetBoolean(0), reader.IsDBNull(1) ? "none" : reader.GetString(1)),
                        cancellationToken).ConfigureAwait(false);
                    if (sending > 0 && inRecovery && receiver == "streaming")
                    {
                        break;
                    }

                    state = $"primary sends to it: {sending > 0}, in recovery: {inRecovery}, WAL receiver: {receiver}";
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    state = ex.Message;
                }

                if (clock.Elapsed > limit)
                {
                    throw new TimeoutException(
                        $"{server} did not stream from {primary} within {limit.TotalSeconds:0} s ({state}).\n" +
                        LogOf(primary) + "\n" + LogOf(server));
                }

                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Waits until <paramref name="replica"/> has replayed everything <paramref name="primary"/> (the original primary
    /// when null) has written so far (its pg_current_wal_lsn()); with no replica named, every replica the primary
    /// streams to right now (a stopped or detached replica is not waited for).
    /// </summary>
    public async Task WaitForReplayAsync(PostgresServer? replica = null, PostgresServer? primary = null,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        primary ??= Primary;
        CheckOwn(primary);
        var limit = timeout ?? _options.ReplicationTimeout;
        var target = await QueryAsync(primary, "SELECT pg_current_wal_lsn()::text", reader => reader.GetString(0),
            cancellationToken).ConfigureAwait(false);
        List<PostgresServer> replicas;
        if (replica is not null)
        {
            CheckOwn(replica);
            replicas = [replica];
        }
        else
        {
            var streaming = await QueryAsync(primary,
                "SELECT coalesce(string_agg(application_name, ','), '') FROM pg_stat_replication WHERE state = 'streaming'",
                reader => reader.GetString(0), cancellationToken).ConfigureAwait(false);
            var names = streaming.Split(',', StringSplitOptions.RemoveEmptyEntries);
            replicas = [.. _replicas.Where(server => names.Contains(server.Name, StringComparer.Ordinal))];
        }

        foreach (var server in replicas)
        {
            var clock = Stopwatch.StartNew();
            string state = "not checked yet";
            while (true)
            {
                try
                {
                    var (replayed, position) = await QueryAsync(server,
                        $"SELECT coalesce(pg_last_wal_replay_lsn() >= '{target}'::pg_lsn, false), coalesce(pg_last_wal_replay_lsn()::text, 'none')",
                        reader => (reader.GetBoolean(0), reader.GetString(1)), cancellationToken).ConfigureAwait(false);
                    if (replayed)
                    {
                        break;
                    }

                    state = $"replayed up to {position}";
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    state = ex.Message;
                }

                if (clock.Elapsed > limit)
                {
                    throw new TimeoutException(
                        $"{server} did not replay {primary}'s WAL up to {target} within {limit.TotalSeconds:0} s ({state}).\n" +
                        LogOf(primary) + "\n" + LogOf(server));
                }

                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Brings the cluster back to its first shape after a failover test: the original primary running as the primary,
    /// every replica running and streaming from it, caught up. A replica that was promoted, or does not stream again
    /// within a few seconds, is rebuilt from a fresh base backup (what it alone had is lost, as in a real failback).
    /// </summary>
    public async Task RestoreAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(Primary, cancellationToken).ConfigureAwait(false);
        if (await IsInRecoveryAsync(Primary, cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"{Primary} is in recovery and cannot be made the primary again.");
        }

        foreach (var replica in _replicas)
        {
            var healthy = false;
            try
            {
                await StartAsync(replica, cancellationToken).ConfigureAwait(false);
                if (await IsInRecoveryAsync(replica, cancellationToken).ConfigureAwait(false))
                {
                    await WaitForReplicaStreamingAsync(replica, Primary, TimeSpan.FromSeconds(5), cancellationToken)
                        .ConfigureAwait(false);
                    healthy = true;
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or NpgsqlException)
            {
                healthy = false;
            }

            if (!healthy)
            {
                await RebuildReplicaAsync(replica, cancellationToken).ConfigureAwait(false);
            }
        }

        await WaitForReplayAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Throws away <paramref name="replica"/>'s data and makes it again from a base backup of the original
    /// primary, then waits until it streams.</summary>
    public async Task RebuildReplicaAsync(PostgresServer replica, CancellationToken cancellationToken = default)
    {
        CheckOwn(replica);
        if (!replica.StartedAsReplica)
        {
            throw new ArgumentException("Only a replica can be rebuilt from the primary.", nameof(replica));
        }

        await StopAsync(replica, PostgresStopMode.Immediate, cancellationToken).ConfigureAwait(false);
        if (replica.IsRunning)
        {
            await KillAsync(replica).ConfigureAwait(false);
        }

        if (Directory.Exists(replica.DataDirectory))
        {
            Directory.Delete(replica.DataDirectory, recursive: true);
        }

        await BaseBackupReplicaAsync(replica, cancellationToken).ConfigureAwait(false);
        await WaitForReplicaStreamingAsync(replica, Primary, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops every server (immediate), deletes the folder. Safe to call twice, and after a failed test.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await Task.WhenAll(Servers.Select(StopForGoodAsync)).ConfigureAwait(false);
            DeleteFolder();
        }
        finally
        {
            foreach (var server in Servers)
            {
                ReleasePort(server.Port);
            }

            LiveClusters.TryRemove(this, out _);
            // Told "done" only when the folder is gone; otherwise the watchdog tries again.
            if (!Directory.Exists(Folder))
            {
                _watchdog?.Dispose();
            }
        }
    }

    /// <summary>The fixture's own connections: never pooled (servers come and go under them), short timeouts, no type
    /// loading (the checks use built-in types only).</summary>
    private static NpgsqlDataSource AdminDataSource(PostgresServer server)
    {
        var builder = new NpgsqlDataSourceBuilder(server.ConnectionStringFor("postgres"));
        builder.ConnectionStringBuilder.Pooling = false;
        builder.ConnectionStringBuilder.Timeout = 5;
        builder.ConnectionStringBuilder.CommandTimeout = 15;
        builder.ConfigureTypeLoading(typeLoading => typeLoading.EnableTypeLoading(false));
        return builder.Build();
    }

    internal async Task ExecuteAsync(PostgresServer server, string sql, CancellationToken cancellationToken)
    {
        CheckOwn(server);
        await using var dataSource = AdminDataSource(server);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lets the watchdog believe this process died (for the fixture's own tests).</summary>
    internal void AbandonWatchdog() => _watchdog?.Abandon();

    internal static string LogOf(PostgresServer server) =>
        $"--- {server} log ({server.LogFile}) ---\n{server.ReadLogTail()}";

    private void Note(string step)
    {
        try
        {
            _options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(Folder)} +{_age.Elapsed.TotalSeconds:0.000} s: {step}"));
        }
        catch (InvalidOperationException)
        {
            // An ITestOutputHelper of a test that has finished: the note is not worth failing for.
        }
    }

    private static string TimeoutSecondsOf(TimeSpan timeout) =>
        ((int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private string TimeoutSeconds => TimeoutSecondsOf(_options.ServerTimeout);

    private async Task<T> QueryAsync<T>(PostgresServer server, string sql, Func<NpgsqlDataReader, T> read,
        CancellationToken cancellationToken)
    {
        CheckOwn(server);
        await using var dataSource = AdminDataSource(server);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"'{sql}' returned no row on {server}.");
        }

        return read(reader);
    }

    private async Task InitializeAsync(PostgresCluster? template, CancellationToken cancellationToken)
    {
        await PostgresCommands.GiveToServerUserAsync(Folder, cancellationToken).ConfigureAwait(false);
        if (PostgresCommands.IsRoot)
        {
            var reach = await PostgresCommands.RunAsync("test", ["-w", Folder, "-a", "-x", Folder], TimeSpan.FromSeconds(30),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!reach.Succeeded)
            {
                throw new InvalidOperationException(
                    $"The servers run as '{PostgresCommands.ServerUser}' (the tests run as root), who cannot use '{Folder}': " +
                    "a folder above it is closed to that user. Set TMPDIR (or PostgresClusterOptions.BaseDirectory) to a " +
                    "folder it can reach, such as /tmp.");
            }
        }

        if (template is null)
        {
            await InitializeTemplateAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        for (var i = 1; i <= _options.Replicas; i++)
        {
            var name = "replica" + i.ToString(CultureInfo.InvariantCulture);
            _replicas.Add(new PostgresServer(this, name, startedAsReplica: true, Path.Join(Folder, name),
                Path.Join(Folder, name + ".log")));
        }

        // Every server starts as a copy of the template, which was shut down cleanly: for a replica that is a valid
        // (cold) base backup, and much faster than pg_basebackup from the running primary. cp -a as the server user:
        // the copies keep the owner and the 0700 the server insists on.
        await Task.WhenAll(Servers.Select(server => PostgresCommands.RunCheckedAsync("cp",
            ["-a", template.Primary.DataDirectory, server.DataDirectory], TimeSpan.FromMinutes(2),
            cancellationToken: cancellationToken))).ConfigureAwait(false);
        Note("copied the template's data folder for every server");
        Primary.Port = ChoosePort();
        await AppendSettingsAsync(Primary, ClusterSettings(Primary.Port), cancellationToken).ConfigureAwait(false);
        await StartServerAsync(Primary, choosePortAgain: true, cancellationToken).ConfigureAwait(false);
        MajorVersion = await QueryAsync(Primary, "SELECT current_setting('server_version_num')::int / 10000",
            reader => reader.GetInt32(0), cancellationToken).ConfigureAwait(false);

        foreach (var replica in _replicas)
        {
            await ExecuteAsync(Primary, $"SELECT pg_create_physical_replication_slot('{replica.Name}', true)", cancellationToken)
                .ConfigureAwait(false);
            replica.Port = ChoosePort();
            await AppendSettingsAsync(replica,
                [.. ClusterSettings(replica.Port), .. StandbySettings(replica)], cancellationToken).ConfigureAwait(false);
            await PostgresCommands.RunCheckedAsync("touch", [Path.Join(replica.DataDirectory, "standby.signal")],
                TimeSpan.FromSeconds(30), cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        await Task.WhenAll(_replicas.Select(replica => StartServerAsync(replica, choosePortAgain: true, cancellationToken)))
            .ConfigureAwait(false);
        await WaitForReplicaStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        Note("every replica streams");
    }

    /// <summary>initdb (the test user is the superuser, with a password; only loopback TCP connections, password
    /// checked), the settings every server shares, the replication role and the test database; then a clean stop.</summary>
    private async Task InitializeTemplateAsync(CancellationToken cancellationToken)
    {
        var passwordFile = Path.Join(Folder, "initdb-password");
        await File.WriteAllTextAsync(passwordFile, Password + "\n", cancellationToken).ConfigureAwait(false);
        try
        {
            await PostgresCommands.RunCheckedAsync(Program("initdb"),
                ["-D", Primary.DataDirectory, "-U", Username, "--pwfile", passwordFile, "--auth", "scram-sha-256",
                 "--encoding", "UTF8", "--locale", "C", "--no-sync"],
                TimeSpan.FromMinutes(2), cancellationToken: cancellationToken).ConfigureAwait(false);
            Note("initdb");
        }
        finally
        {
            File.Delete(passwordFile);
        }

        // Rewriting files initdb made keeps their owner (the server user).
        await File.WriteAllTextAsync(Path.Join(Primary.DataDirectory, "pg_hba.conf"),
            $"""
            # Scale test cluster: TCP on loopback only, passwords checked (there is no Unix socket).
            host    all          all                      127.0.0.1/32  scram-sha-256
            host    replication  {ReplicationUsername}    127.0.0.1/32  scram-sha-256

            """, cancellationToken).ConfigureAwait(false);
        Primary.Port = ChoosePort();
        await AppendSettingsAsync(Primary, SharedSettings(), cancellationToken).ConfigureAwait(false);
        await AppendSettingsAsync(Primary, ClusterSettings(Primary.Port), cancellationToken).ConfigureAwait(false);
        await StartServerAsync(Primary, choosePortAgain: true, cancellationToken).ConfigureAwait(false);

        await ExecuteAsync(Primary,
            $"CREATE ROLE {ReplicationUsername} WITH REPLICATION LOGIN PASSWORD '{ReplicationPassword}'",
            cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(Primary, $"CREATE DATABASE {DefaultDatabase} OWNER {DefaultUsername}", cancellationToken)
            .ConfigureAwait(false);
        await StopAsync(Primary, PostgresStopMode.Fast, cancellationToken).ConfigureAwait(false);
        ReleasePort(Primary.Port); // the template never runs again
        Note("template ready");
    }

    /// <summary>What makes a copy of the primary's data folder a replica streaming from it (with standby.signal):
    /// what pg_basebackup -R writes, plus the replica's slot.</summary>
    private List<KeyValuePair<string, string>> StandbySettings(PostgresServer replica) =>
    [
        new("primary_conninfo", string.Create(CultureInfo.InvariantCulture,
            $"'host=127.0.0.1 port={Primary.Port} user={ReplicationUsername} password={ReplicationPassword} application_name={replica.Name}'")),
        new("primary_slot_name", $"'{replica.Name}'"),
    ];

    /// <summary>pg_basebackup of the original primary into the replica's (absent) data folder, with a replication
    /// slot named after it and -R (standby.signal, primary_conninfo); then its own port, then start.</summary>
    private async Task BaseBackupReplicaAsync(PostgresServer replica, CancellationToken cancellationToken)
    {
        // A slot left by an earlier life of this replica would make -C fail.
        await ExecuteAsync(Primary,
            $"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{replica.Name}'",
            cancellationToken).ConfigureAwait(false);
        var source = $"host=127.0.0.1 port={Primary.Port.ToString(CultureInfo.InvariantCulture)} user={ReplicationUsername} " +
                     $"password={ReplicationPassword} application_name={replica.Name}";
        await PostgresCommands.RunCheckedAsync(Program("pg_basebackup"),
            ["-D", replica.DataDirectory, "-d", source, "-X", "stream", "-c", "fast", "-C", "-S", replica.Name, "-R",
             "--no-sync"],
            TimeSpan.FromMinutes(5), cancellationToken: cancellationToken).ConfigureAwait(false);
        Note($"pg_basebackup for {replica.Name}");
        if (replica.Port == 0)
        {
            replica.Port = ChoosePort();
        }

        await AppendSettingsAsync(replica,
            [new("port", replica.Port.ToString(CultureInfo.InvariantCulture))], cancellationToken).ConfigureAwait(false);
        await StartServerAsync(replica, choosePortAgain: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What every server of every cluster has (written once, into the template).</summary>
    private static List<KeyValuePair<string, string>> SharedSettings() =>
    [
        new("listen_addresses", "'127.0.0.1'"),
        new("unix_socket_directories", "''"),
        new("max_connections", "100"),
        new("shared_buffers", "'64MB'"),
        new("wal_level", "replica"),
        new("max_wal_senders", "10"),
        new("max_replication_slots", "10"),
        // A replica stopped for a long time must not fill the disk with WAL kept for its slot.
        new("max_slot_wal_keep_size", "'2GB'"),
        new("hot_standby", "on"),
        new("hot_standby_feedback", "on"),
        // Replicas notice a restarted primary, and report replay, within a fraction of a second.
        new("wal_retrieve_retry_interval", "'200ms'"),
        new("wal_receiver_status_interval", "'1s'"),
        new("wal_receiver_timeout", "'10s'"),
        new("wal_sender_timeout", "'10s'"),
        new("lc_messages", "'C'"),
        new("log_line_prefix", "'%m [%p] %q%u@%d '"),
        new("log_min_messages", "warning"),
        new("log_checkpoints", "off"),
    ];

    /// <summary>What this cluster's primary adds (its replicas copy it with the base backup, then set their port).</summary>
    private List<KeyValuePair<string, string>> ClusterSettings(int port) =>
    [
        new("port", port.ToString(CultureInfo.InvariantCulture)),
        new("fsync", _options.Durable ? "on" : "off"),
        .. _options.Settings,
    ];

    private static async Task AppendSettingsAsync(PostgresServer server, IEnumerable<KeyValuePair<string, string>> settings,
        CancellationToken cancellationToken)
    {
        var text = new StringBuilder("\n# Scale test cluster (later lines win)\n");
        foreach (var (name, value) in settings)
        {
            text.Append(name).Append(" = ").Append(value).Append('\n');
        }

        await File.AppendAllTextAsync(Path.Join(server.DataDirectory, "postgresql.conf"), text.ToString(), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>pg_ctl start -w. The port was free when chosen, but another process may take it before the server
    /// binds it: then, if allowed, another port is tried.</summary>
    private async Task StartServerAsync(PostgresServer server, bool choosePortAgain, CancellationToken cancellationToken)
    {
        ClearStaleLockFile(server);
        for (var attempt = 1; ; attempt++)
        {
            var logLength = File.Exists(server.LogFile) ? new FileInfo(server.LogFile).Length : 0;
            var result = await PgCtlAsync(
                ["start", "-D", server.DataDirectory, "-l", server.LogFile, "-w", "-t", TimeoutSeconds], cancellationToken)
                .ConfigureAwait(false);
            if (result.Succeeded)
            {
                Note($"started {server}");
                return;
            }

            var log = ReadFrom(server.LogFile, logLength);
            var portTaken = log.Contains("could not bind", StringComparison.Ordinal) ||
                            log.Contains("Address already in use", StringComparison.Ordinal);
            if (server.IsRunning)
            {
                // pg_ctl gave up waiting but the server lives on: stop it rather than leave it half-started.
                await StopForGoodAsync(server).ConfigureAwait(false);
            }

            // After a kill, a backend forked at the last moment may still hold the old shared memory for a moment.
            if (log.Contains("pre-existing shared memory block", StringComparison.Ordinal) && attempt < 20)
            {
                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!portTaken || !choosePortAgain || attempt >= 5)
            {
                throw new InvalidOperationException(
                    $"Starting {server} failed with exit code {result.ExitCode}:\n{result.Output}\n" +
                    $"--- {server} log ({server.LogFile}) ---\n{log}");
            }

            ReleasePort(server.Port);
            server.Port = ChoosePort();
            await AppendSettingsAsync(server, [new("port", server.Port.ToString(CultureInfo.InvariantCulture))],
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A postmaster killed with SIGKILL whose parent does not reap it stays a zombie, and a new postmaster
    /// takes the zombie's PID in postmaster.pid for a live server. Its children are gone (KillAsync waits for them),
    /// so the lock file is stale.</summary>
    private static void ClearStaleLockFile(PostgresServer server)
    {
        var lockFile = Path.Join(server.DataDirectory, "postmaster.pid");
        string? firstLine;
        try
        {
            using var reader = new StreamReader(lockFile);
            firstLine = reader.ReadLine();
        }
        catch (IOException)
        {
            return;
        }

        if (int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) &&
            !PostgresCommands.IsAlive(pid) && File.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat"))
        {
            File.Delete(lockFile);
        }
    }

    private async Task StopForGoodAsync(PostgresServer server)
    {
        try
        {
            if (server.IsRunning)
            {
                await PgCtlAsync(["stop", "-D", server.DataDirectory, "-m", "immediate", "-w", "-t", "30"], CancellationToken.None)
                    .ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            // Killed below.
        }

        if (server.IsRunning)
        {
            // Also during disposal, when the public KillAsync refuses.
            await KillPostmasterAsync(server).ConfigureAwait(false);
        }
    }

    private void DeleteFolder()
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(Folder))
                {
                    Directory.Delete(Folder, recursive: true);
                }

                return;
            }
            catch (Exception ex) when ((ex is IOException or UnauthorizedAccessException) && attempt < 20)
            {
                // A server process finishing its exit may still create or remove a file in there.
                Thread.Sleep(100);
            }
        }
    }

    private Task<CommandResult> PgCtlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        PostgresCommands.RunAsync(Program("pg_ctl"), arguments, _options.ServerTimeout + TimeSpan.FromSeconds(30),
            cancellationToken: cancellationToken);

    private string Program(string name) => Path.Join(_binDirectory, name);

    private void CheckOwn(PostgresServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        if (!ReferenceEquals(server, Primary) && !_replicas.Contains(server))
        {
            throw new ArgumentException($"{server} belongs to another cluster.", nameof(server));
        }
    }

    private static string ReadFrom(string path, long offset)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var text = reader.ReadToEnd();
            return text.Length <= 8000 ? text : "..." + text[^8000..];
        }
        catch (IOException ex)
        {
            return $"(no log: {ex.Message})";
        }
    }

    /// <summary>A random port on 127.0.0.1 below the kernel's ephemeral range (so no outgoing connection is handed it
    /// while a test has its server stopped), free right now, not 5432, and not handed out before in this process.</summary>
    private static int ChoosePort()
    {
        var (ephemeralLow, _) = EphemeralRange();
        var low = 20000;
        var high = Math.Min(ephemeralLow, 65536);
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = high - low >= 1000 ? RandomNumberGenerator.GetInt32(low, high) : AnyFreePort();
            if (port == 5432 || PortsHandedOut.ContainsKey(port) || !Tools.PortIsFree(port))
            {
                continue;
            }

            var (reservable, portLock) = LockPortAcrossProcesses(port);
            if (reservable && PortsHandedOut.TryAdd(port, portLock))
            {
                return port;
            }

            portLock?.Dispose();
        }

        throw new InvalidOperationException("Found no free TCP port on 127.0.0.1.");
    }

    /// <summary>
    /// A port stays reserved while a server of ours is stopped (a failover test), when a bind test alone would find
    /// it free: other test processes see the reservation through an exclusive lock on &lt;temp&gt;/scale-pg-ports/PORT.lock,
    /// which the kernel drops when this process dies. Without a usable lock folder, only this process knows.
    /// </summary>
    private static (bool Reservable, FileStream? Lock) LockPortAcrossProcesses(int port)
    {
        var folder = Path.Join(Path.GetTempPath(), "scale-pg-ports");
        try
        {
            if (!Directory.Exists(folder))
            {
                Directory.CreateDirectory(folder);
                if (!OperatingSystem.IsWindows())
                {
                    // Shared by every user's test runs, like /tmp itself.
                    File.SetUnixFileMode(folder, (UnixFileMode)0b1_111_111_111);
                }
            }

            return (true, new FileStream(Path.Join(folder, port.ToString(CultureInfo.InvariantCulture) + ".lock"),
                FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (UnauthorizedAccessException)
        {
            return (true, null);
        }
        catch (IOException)
        {
            // Another process holds it.
            return (false, null);
        }
    }

    private static void ReleasePort(int port)
    {
        if (PortsHandedOut.TryRemove(port, out var portLock) && portLock is not null)
        {
            // Deleted while still locked, so no other process holds it at that moment.
            try
            {
                File.Delete(portLock.Name);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another user's lock folder: the file stays, unlocked.
            }

            portLock.Dispose();
        }
    }

    private static (int Low, int High) EphemeralRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException)
        {
            return (32768, 60999);
        }
    }


    private static int AnyFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RandomSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static void HookProcessExit()
    {
        if (Interlocked.Exchange(ref _processExitHooked, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                foreach (var cluster in LiveClusters.Keys)
                {
                    try
                    {
                        cluster.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
                    }
                    catch (AggregateException)
                    {
                        // The watchdog cleans up what is left.
                    }
                }
            };
        }
    }
}
