using System.Data.Common;
using System.Globalization;
using System.Net.Sockets;
using Npgsql;
using Polly;
using Polly.Retry;

namespace Scale.Store.Postgres;

/// <summary>
/// Connection settings and resilience shared by the PostgreSQL store and reader: parses what the user gave
/// (a key-value connection string or a postgres:// URI, one host or several), builds one multi-host data source,
/// and hands out its primary view (writes) and its prefer-standby view (reads, falling back to the primary).
/// </summary>
internal sealed class PostgresConnections : IAsyncDisposable
{
    private readonly NpgsqlMultiHostDataSource _source;

    /// <param name="db">A key-value connection string or a postgres:// URI, one host or several.</param>
    /// <param name="applicationName">The application_name the server shows, unless the connection string sets one.</param>
    /// <param name="maxPoolSize">Connections per host at most, unless the connection string sets Maximum Pool Size (null: Npgsql's 100).</param>
    /// <param name="sessionStateFree">True when the caller never leaves state in a session (no SET, temporary table,
    /// advisory lock or LISTEN), so a pooled connection need not be reset when it is returned (see <see cref="Settings"/>).</param>
    public PostgresConnections(string db, string applicationName, int? maxPoolSize = null, bool sessionStateFree = false)
    {
        var builder = Settings(db, applicationName, maxPoolSize, sessionStateFree);
        Description = Describe(builder);
        _source = new NpgsqlDataSourceBuilder(builder.ConnectionString).BuildMultiHost();
        Primary = _source.WithTargetSession(TargetSessionAttributes.Primary);
        Reads = _source.WithTargetSession(TargetSessionAttributes.PreferStandby);
    }

    /// <summary>
    /// The connection settings Scale uses for what the user gave: theirs, plus Scale's defaults for the settings they
    /// left out (a setting they wrote is never replaced, even when it equals Npgsql's default).
    /// </summary>
    internal static NpgsqlConnectionStringBuilder Settings(string db, string applicationName, int? maxPoolSize = null, bool sessionStateFree = false)
    {
        var connectionString = ToConnectionString(db);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var given = GivenKeywords(connectionString);
        builder.ApplicationName ??= applicationName;
        // A dead host is remembered this long before it is tried again; short, so a restarted replica is used soon.
        if (!given.Contains("Host Recheck Seconds"))
        {
            builder.HostRecheckSeconds = 2;
        }

        // Connecting: 5 s, not Npgsql's 15, so a lost host is given up on (and the next one tried) within a retry.
        if (!given.Contains("Timeout"))
        {
            builder.Timeout = 5;
        }

        // Npgsql's default (Prefer) asks the system's GSSAPI for Kerberos credentials on every new physical connection.
        // Where no Kerberos is configured, that lookup sometimes waits for a DNS time-out: measured on the lab, two of
        // four connection loops at 20 opens/s each hung 5.0 s every 6.5 s, and with Disable none did in 25 s. Scale's
        // servers use password (SCRAM) authentication, TLS when asked, never GSS encryption; a user who needs it says so.
        if (!given.Contains("GSS Encryption Mode"))
        {
            builder.GssEncryptionMode = GssEncryptionMode.Disable;
        }

        // Statements used often are prepared on each physical connection, so the server parses and plans them once
        // rather than on every call. Measured on the lab (2 cores, through HAProxy to a replica, pgbench at 500
        // /test_db queries/s): PostgreSQL's backends 34 % of a core unprepared, 18 % prepared. Npgsql re-prepares on a
        // new connection (after a failover, say) and drops a statement whose tables changed.
        if (!given.Contains("Max Auto Prepare"))
        {
            builder.MaxAutoPrepare = 20;
        }

        // A pooled connection is reset when it is used again ("SET SESSION AUTHORIZATION DEFAULT;RESET ALL;CLOSE ALL;
        // UNLISTEN *;SELECT pg_advisory_unlock_all();DISCARD SEQUENCES;DISCARD TEMP", seven statements parsed by the
        // server every time): for the web app's reads, one per request, as many as the reads themselves (PostgreSQL's
        // log on the lab: 322 resets beside 303 reads). A caller that leaves no state in its sessions skips it.
        if (sessionStateFree && !given.Contains("No Reset On Close"))
        {
            builder.NoResetOnClose = true;
        }

        if (maxPoolSize is { } pool && !given.Contains("Maximum Pool Size"))
        {
            builder.MaxPoolSize = pool;
        }

        return builder;
    }

    /// <summary>
    /// The keywords a connection string writes, in Npgsql's canonical spelling: every synonym and spelling of a
    /// keyword comes back as Npgsql writes it, so "commandtimeout" is "Command Timeout" and never "Timeout".
    /// </summary>
    internal static IReadOnlySet<string> GivenKeywords(string connectionString)
    {
        var written = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var given = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string keyword in written.Keys)
        {
            // Npgsql's builder lists the keywords set in it under their canonical names.
            given.UnionWith(new NpgsqlConnectionStringBuilder { [keyword] = written[keyword] }.Keys.Cast<string>());
        }

        return given;
    }

    /// <summary>postgres://hosts/database of a connection string, without credentials.</summary>
    public static string Describe(string db) => Describe(new NpgsqlConnectionStringBuilder(ToConnectionString(db)));

    private static string Describe(NpgsqlConnectionStringBuilder builder) =>
        string.Create(CultureInfo.InvariantCulture, $"postgres://{builder.Host}/{builder.Database}");

    /// <summary>Hosts and database, no credentials: for messages and logs.</summary>
    public string Description { get; }

    /// <summary>The server that accepts writes.</summary>
    public NpgsqlDataSource Primary { get; }

    /// <summary>A standby when one is up, else the primary.</summary>
    public NpgsqlDataSource Reads { get; }

    /// <summary>Reads: a few quick retries (about 3 s in all), so a replica restarting or a failover is invisible.</summary>
    /// <summary>
    /// True when Npgsql found no host to try because it has marked every one down: it marks a host down, and empties
    /// its pool, when a session on it breaks, then skips it for Host Recheck Seconds. That fits one server per host, but
    /// behind a load balancer (HAProxy's role ports, Kubernetes Services) a broken session says only that one server
    /// behind it went away: on the lab a failover breaks sessions on both the primary's and the replicas' address within
    /// a second, and reads then waited out the marks (about 2 s) while the balancers already had healthy servers.
    /// </summary>
    public static bool IsEveryHostMarkedDown(Exception ex) =>
        ex is NpgsqlException { InnerException: null } npgsql and not PostgresException
        && npgsql.Message.StartsWith("No suitable host", StringComparison.Ordinal);

    /// <summary>
    /// Forgets what Npgsql knows of every host (down, primary, standby), so the next attempt tries them all again and
    /// learns their roles anew. Called when every host is marked down (<see cref="IsEveryHostMarkedDown"/>): there is
    /// nothing left to protect by skipping them, and a host that is really down costs a connection attempt.
    /// </summary>
    public void ForgetHostStates() => _source.ClearDatabaseStates();

    public static ResiliencePipeline ReadRetry { get; } = Retry(attempts: 6, first: TimeSpan.FromMilliseconds(100), max: TimeSpan.FromSeconds(1));

    /// <summary>Writes: wait for a new primary for about 20 s (a Patroni or CloudNativePG failover takes 10-30 s), then fail with the last error.</summary>
    public static ResiliencePipeline WriteRetry { get; } = Retry(attempts: 10, first: TimeSpan.FromMilliseconds(250), max: TimeSpan.FromSeconds(3));

    /// <summary>
    /// Errors worth retrying: connection failures, a server shutting down or starting, a write sent to a server
    /// that just became a standby, serialization failures and deadlocks.
    /// </summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        PostgresException pg => pg.SqlState is "57P01" or "57P02" or "57P03" or "25006" or "40001" or "40P01" or "53300" || pg.SqlState.StartsWith("08", StringComparison.Ordinal),
        // Multi-host: "Unable to connect to a suitable host" wraps every host's error in an AggregateException;
        // "No suitable host was found" (every host up, none primary) is a failover in progress.
        NpgsqlException npgsql => npgsql.IsTransient
            || npgsql.InnerException is SocketException or IOException or TimeoutException
            || (npgsql.InnerException is AggregateException all && all.InnerExceptions.Any(IsTransient))
            || npgsql.Message.StartsWith("No suitable host", StringComparison.Ordinal),
        SocketException or TimeoutException => true,
        _ => false,
    };

    /// <summary>Converts a postgres:// or postgresql:// URI to a key-value connection string; others pass through.</summary>
    public static string ToConnectionString(string db)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(db);
        if (!db.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) && !db.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return db;
        }

        // Uri cannot hold several hosts ("h1:5432,h2:5433"), so the authority is split by hand.
        var rest = db[(db.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        var pathAndQuery = slash < 0 ? string.Empty : rest[(slash + 1)..];
        var builder = new NpgsqlConnectionStringBuilder();
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var credentials = authority[..at];
            authority = authority[(at + 1)..];
            var colon = credentials.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? credentials : credentials[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(credentials[(colon + 1)..]);
            }
        }

        builder.Host = authority;
        var question = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        var database = question < 0 ? pathAndQuery : pathAndQuery[..question];
        if (database.Length > 0)
        {
            builder.Database = Uri.UnescapeDataString(database);
        }

        if (question >= 0)
        {
            foreach (var pair in pathAndQuery[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                var name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
                var value = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..]);
                builder[name switch
                {
                    "sslmode" => "SSL Mode",
                    "target_session_attrs" => "Target Session Attributes",
                    "application_name" => "Application Name",
                    "connect_timeout" => "Timeout",
                    _ => name,
                }] = value;
            }
        }

        return builder.ConnectionString;
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    private static ResiliencePipeline Retry(int attempts, TimeSpan first, TimeSpan max) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            MaxRetryAttempts = attempts,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = first,
            MaxDelay = max,
        })
        .Build();
}
