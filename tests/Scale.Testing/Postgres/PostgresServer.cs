using System.Globalization;
using Npgsql;

namespace Scale.Testing.Postgres;

/// <summary>How <see cref="PostgresCluster.StopAsync"/> shuts a server down (pg_ctl's modes).</summary>
public enum PostgresStopMode
{
    /// <summary>Rolls back open transactions, disconnects clients, writes a checkpoint: a clean shutdown.</summary>
    Fast,

    /// <summary>Quits at once without a checkpoint: the next start does crash recovery, like after a power cut.</summary>
    Immediate,
}

/// <summary>
/// One server of a <see cref="PostgresCluster"/>: its name ("primary", "replica1", ...), loopback port, data folder
/// and log. Roles change (a replica can be promoted); the name and <see cref="StartedAsReplica"/> tell how it began.
/// </summary>
public sealed class PostgresServer
{
    private readonly PostgresCluster _cluster;

    internal PostgresServer(PostgresCluster cluster, string name, bool startedAsReplica, string dataDirectory, string logFile)
    {
        _cluster = cluster;
        Name = name;
        StartedAsReplica = startedAsReplica;
        DataDirectory = dataDirectory;
        LogFile = logFile;
    }

    /// <summary>"primary", "replica1", "replica2", ...; also the replica's application_name and replication slot.</summary>
    public string Name { get; }

    /// <summary>True for the servers made with pg_basebackup; false for the one initdb made.</summary>
    public bool StartedAsReplica { get; }

    /// <summary>The TCP port on 127.0.0.1 (the servers listen on nothing else, and have no Unix socket).</summary>
    public int Port { get; internal set; }

    public string DataDirectory { get; }

    /// <summary>The server's log (pg_ctl -l), outside the data folder, kept until the cluster is disposed.</summary>
    public string LogFile { get; }

    /// <summary>"127.0.0.1:port", as a multi-host connection string lists it.</summary>
    public string HostAndPort => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>The cluster's test database (<c>scale</c>) on this server, as the test user.</summary>
    public string ConnectionString => ConnectionStringFor(_cluster.Database);

    /// <summary>The PID of the running postmaster, from postmaster.pid; null when the server is not running.</summary>
    public int? PostmasterPid
    {
        get
        {
            string? firstLine;
            try
            {
                using var reader = new StreamReader(Path.Join(DataDirectory, "postmaster.pid"));
                firstLine = reader.ReadLine();
            }
            catch (IOException)
            {
                return null;
            }

            return int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) &&
                   PostgresCommands.IsAlive(pid)
                ? pid
                : null;
        }
    }

    /// <summary>True while the postmaster process lives (it may still be starting or shutting down).</summary>
    public bool IsRunning => PostmasterPid is not null;

    /// <summary>A connection string for <paramref name="database"/> on this server, as the test user.</summary>
    public string ConnectionStringFor(string database)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Database = database,
            Username = _cluster.Username,
            Password = _cluster.Password,
            // As the store does by default: negotiating GSS encryption can hang a new connection for 5 s (no Kerberos here).
            GssEncryptionMode = GssEncryptionMode.Disable,
        };
        return builder.ConnectionString;
    }

    /// <summary>The end of the server's log (for failure messages).</summary>
    public string ReadLogTail(int maxChars = 6000)
    {
        string text;
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length > maxChars * 4L)
            {
                stream.Seek(-maxChars * 4L, SeekOrigin.End);
            }

            using var reader = new StreamReader(stream);
            text = reader.ReadToEnd();
        }
        catch (IOException ex)
        {
            return $"(no log at {LogFile}: {ex.Message})";
        }

        return text.Length <= maxChars ? text : "..." + text[^maxChars..];
    }

    public override string ToString() => $"{Name} ({HostAndPort})";
}
