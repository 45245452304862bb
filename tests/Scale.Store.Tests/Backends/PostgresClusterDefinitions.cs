using Scale.Testing.Postgres;

namespace Scale.Store.Tests.Backends;

/// <summary>
/// The store tests' PostgreSQL cluster (a primary and a streaming replica), shared by the classes of the collection,
/// which run one after the other; every test gets its own database.
/// </summary>
[CollectionDefinition(PostgresClusterFixture.CollectionName)]
public sealed class PostgresClusterDefinition : ICollectionFixture<PostgresClusterFixture>;

/// <summary>
/// A second cluster for the failover tests: they stop, kill and restart servers and mostly wait on retry budgets, so
/// they run beside the behavioural tests instead of after them.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PostgresFailoverClusterDefinition : ICollectionFixture<PostgresClusterFixture>
{
    public const string Name = "PostgreSQL failover cluster";
}
