namespace Scale.Chaos.Probes;

/// <summary>
/// Where the <see cref="WriteProber"/> sends writes. <paramref name="Direct"/> marks one PostgreSQL member's own address
/// (not the load balancer): a write it accepts proves that member acted as a primary at that moment, and a replica
/// refusing it (read-only) is expected rather than a failure.
/// </summary>
/// <param name="Name">Unique among the prober's endpoints; recorded with every write and in its row.</param>
/// <param name="ConnectionString">Npgsql connection string; its Timeout and Command Timeout bound a hung write.</param>
/// <param name="Direct">True for a member's own address, false for the way clients reach the primary.</param>
public sealed record WriteEndpoint(string Name, string ConnectionString, bool Direct);

/// <summary>How one write attempt ended.</summary>
public enum WriteOutcome
{
    /// <summary>The commit returned: the server promised the row is durable.</summary>
    Acknowledged,

    /// <summary>SQLSTATE 25006: the server is read-only (a replica, or a demoted primary). Not a failure for a direct endpoint.</summary>
    RefusedReadOnly,

    /// <summary>No answer or an error: whether the row was committed is unknown (see <see cref="WriteFailureReason"/>).</summary>
    Failed,
}

/// <summary>Why a write <see cref="WriteOutcome.Failed"/>.</summary>
public enum WriteFailureReason
{
    /// <summary>The connect or command timeout ran out, or the statement was cancelled for taking too long (57014).</summary>
    Timeout,

    /// <summary>The server could not be reached, closed the connection, or was starting or shutting down (08xxx, 57P0x).</summary>
    Connection,

    /// <summary>Any other error (the message says which).</summary>
    Other,

    /// <summary>The prober was stopped while the write was in flight; not counted in <see cref="WriteProber.Failures"/>.</summary>
    Stopped,

    /// <summary>
    /// The COMMIT returned, but with PostgreSQL's warning that its wait for the synchronous replica was cancelled
    /// ("The transaction has already committed locally, but might not have been replicated to the standby"): the
    /// server itself says the write is not durable, so it is not an acknowledgement. It happens when the command
    /// timeout cancels a commit that an isolated primary cannot replicate.
    /// </summary>
    NotReplicated,
}

/// <summary>
/// One write the prober sent, with its outcome. Times are offsets on the prober's own clock (its
/// <see cref="TimeProvider"/>, from the prober's creation), so they compare with each other whatever the servers' clocks say.
/// </summary>
/// <param name="Id">The row's id: unique within the run (each endpoint has its own range, see <see cref="WriteProber.IdRangeSize"/>).</param>
/// <param name="Endpoint">The <see cref="WriteEndpoint.Name"/> it was sent through.</param>
/// <param name="IntendedAt">When the steady rate scheduled it.</param>
/// <param name="SentAt">When the INSERT was issued (after the connection opened); null when it never was (connecting failed). A lower bound of the commit's moment.</param>
/// <param name="CompletedAt">When the outcome was known; for an acknowledged write an upper bound of the commit's moment.</param>
/// <param name="Outcome">Acknowledged, refused as read-only, or failed.</param>
/// <param name="FailureReason">For <see cref="WriteOutcome.Failed"/> only.</param>
/// <param name="Error">The error message for a refused or failed write.</param>
/// <param name="Server">For an acknowledged write: "address:port" of the server that committed it (inet_server_addr, inet_server_port).</param>
/// <param name="Timeline">For an acknowledged write: that server's timeline then (the first 8 hex digits of its current WAL file name).</param>
/// <param name="SystemIdentifier">For an acknowledged write, when readable: the server's pg_control_system() system identifier (read once per connection).</param>
public sealed record WriteAttempt(
    long Id,
    string Endpoint,
    TimeSpan IntendedAt,
    TimeSpan? SentAt,
    TimeSpan CompletedAt,
    WriteOutcome Outcome,
    WriteFailureReason? FailureReason = null,
    string? Error = null,
    string? Server = null,
    long? Timeline = null,
    long? SystemIdentifier = null)
{
    /// <summary>The epoch an acknowledged write belongs to: the server and its timeline.</summary>
    public (string Server, long Timeline)? EpochKey =>
        Outcome == WriteOutcome.Acknowledged && Server is not null && Timeline is not null ? (Server, Timeline.Value) : null;
}

/// <summary>A probe row as read back from the database: the server and timeline that wrote it (its column defaults).</summary>
public sealed record StoredWrite(long Id, string? Endpoint, string? Server, long? Timeline);
