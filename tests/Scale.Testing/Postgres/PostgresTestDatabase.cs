using Npgsql;

namespace Scale.Testing.Postgres;

/// <summary>
/// A fresh, empty database <c>test_&lt;guid&gt;</c> on a <see cref="PostgresCluster"/> (made on the primary, on the
/// replicas through streaming). Disposing it drops it (WITH (FORCE), so open pooled connections do not block that);
/// when the primary is down then, it is left for the cluster's disposal.
/// </summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    private int _disposed;

    internal PostgresTestDatabase(PostgresCluster cluster, string name)
    {
        Cluster = cluster;
        Name = name;
    }

    public PostgresCluster Cluster { get; }

    public string Name { get; }

    /// <summary>This database on the original primary.</summary>
    public string PrimaryConnectionString => Cluster.Primary.ConnectionStringFor(Name);

    /// <summary>This database on each replica (read-only while they are replicas).</summary>
    public IReadOnlyList<string> ReplicaConnectionStrings =>
        [.. Cluster.Replicas.Select(replica => replica.ConnectionStringFor(Name))];

    /// <summary>This database on every server, for Npgsql's multi-host support (see
    /// <see cref="PostgresCluster.MultiHostConnectionString"/>).</summary>
    public string MultiHostConnectionString(string targetSessionAttributes = "any") =>
        Cluster.MultiHostConnectionString(targetSessionAttributes, Name);

    public string ConnectionStringFor(PostgresServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        return server.ConnectionStringFor(Name);
    }

    public override string ToString() => Name;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await Cluster.ExecuteAsync(Cluster.Primary, $"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or ObjectDisposedException or InvalidOperationException)
        {
            // The primary is stopped, promoted away or gone with its cluster: nothing left to clean here.
        }
    }
}
