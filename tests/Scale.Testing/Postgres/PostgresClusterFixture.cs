namespace Scale.Testing.Postgres;

/// <summary>
/// One <see cref="PostgresCluster"/> (a primary and one streaming replica) shared by the tests of a class
/// (<c>IClassFixture&lt;PostgresClusterFixture&gt;</c>) or of a collection. xunit looks for collection definitions
/// only in the test assembly, so a test project that shares one cluster across classes declares, once:
/// <code>
/// [CollectionDefinition(PostgresClusterFixture.CollectionName)]
/// public sealed class PostgresCollection : ICollectionFixture&lt;PostgresClusterFixture&gt;;
/// </code>
/// and marks the classes <c>[Collection(PostgresClusterFixture.CollectionName)]</c>. Tests of one collection run one
/// after the other, so a failover test may stop, kill or promote servers, and calls
/// <see cref="PostgresCluster.RestoreAsync"/> first (or last) to get the cluster back in shape. Each test gets its own
/// empty database from <see cref="CreateDatabaseAsync"/>. Derive from this class and override
/// <see cref="Options"/> for more replicas or other settings.
/// </summary>
public class PostgresClusterFixture : IAsyncLifetime
{
    /// <summary>The collection name to use with [CollectionDefinition] and [Collection].</summary>
    public const string CollectionName = "PostgreSQL cluster";

    private PostgresCluster? _cluster;

    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The PostgreSQL cluster is not started.");

    /// <summary>How the cluster is built: by default a primary and one replica.</summary>
    protected virtual PostgresClusterOptions Options => new();

    /// <summary>A fresh empty database on the shared cluster, on the replicas too; dispose it to drop it.</summary>
    public Task<PostgresTestDatabase> CreateDatabaseAsync(CancellationToken cancellationToken = default) =>
        Cluster.CreateDatabaseAsync(cancellationToken);

    public async Task InitializeAsync() => _cluster = await PostgresCluster.StartNewAsync(Options).ConfigureAwait(false);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
    }
}
