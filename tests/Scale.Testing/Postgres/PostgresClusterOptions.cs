namespace Scale.Testing.Postgres;

/// <summary>How <see cref="PostgresCluster.StartNewAsync"/> builds a cluster.</summary>
public sealed class PostgresClusterOptions
{
    /// <summary>Streaming replicas next to the primary (0 or more).</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>The most one server start, stop or promotion may take (pg_ctl -t).</summary>
    public TimeSpan ServerTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The most <see cref="PostgresCluster.WaitForReplicaStreamingAsync"/> and
    /// <see cref="PostgresCluster.WaitForReplayAsync"/> wait by default.</summary>
    public TimeSpan ReplicationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the cluster's temporary folder goes; null means the system's (TMPDIR, else /tmp). When the
    /// tests run as root the folder must be reachable for the <c>postgres</c> user.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>True keeps fsync on. Off by default: a test cluster need not survive an OS crash, and without fsync
    /// it is much faster; a killed server still loses nothing it committed (the kernel holds the data).</summary>
    public bool Durable { get; init; }

    /// <summary>More postgresql.conf settings for every server, written as <c>name = value</c> verbatim (quote string
    /// values yourself: <c>["work_mem"] = "'64MB'"</c>); they override the cluster's defaults.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>Receives a line per step (initdb, each server started, each base backup, ...) with the time since the
    /// cluster's creation began: route it to ITestOutputHelper to see where time goes.</summary>
    public Action<string>? Log { get; init; }
}
