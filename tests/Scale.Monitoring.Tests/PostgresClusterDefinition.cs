using Scale.Testing.Postgres;

namespace Scale.Monitoring.Tests;

/// <summary>One PostgreSQL primary + replica for the test classes that need one (they run one after the other).</summary>
[CollectionDefinition(PostgresClusterFixture.CollectionName)]
public sealed class PostgresClusterDefinition : ICollectionFixture<PostgresClusterFixture>;
