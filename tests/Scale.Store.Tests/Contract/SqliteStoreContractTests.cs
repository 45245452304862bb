using Scale.Store.Tests.Backends;
using Xunit.Abstractions;

namespace Scale.Store.Tests.Contract;

/// <summary>The store contract on SQLite: a fresh file per test.</summary>
public sealed class SqliteStoreContractTests : StoreContract
{
    public SqliteStoreContractTests(ITestOutputHelper output)
    {
        Output = output;
    }

    protected override Task<StoreBackend> CreateBackendAsync() => Task.FromResult<StoreBackend>(new SqliteBackend());
}
