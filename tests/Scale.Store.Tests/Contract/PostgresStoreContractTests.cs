using Scale.Store.Tests.Backends;
using Scale.Testing.Postgres;
using Xunit.Abstractions;

namespace Scale.Store.Tests.Contract;

/// <summary>
/// The store contract on PostgreSQL: a fresh database per test on the shared primary + streaming replica cluster,
/// reached through the multi-host connection string (writes on the primary, reads on the replica).
/// </summary>
[Collection(PostgresClusterFixture.CollectionName)]
public sealed class PostgresStoreContractTests : StoreContract
{
    private readonly PostgresClusterFixture _postgres;

    public PostgresStoreContractTests(PostgresClusterFixture postgres, ITestOutputHelper output)
    {
        _postgres = postgres;
        Output = output;
    }

    protected override async Task<StoreBackend> CreateBackendAsync() => await PostgresBackend.CreateAsync(_postgres);
}
