using System.Data.Common;
using Npgsql;
using Scale.Store.Postgres;
using Scale.Testing.Postgres;

namespace Scale.Store.Tests.Backends;

/// <summary>
/// A fresh database on the shared throwaway cluster (a primary and a streaming replica). The store and the reader get
/// the multi-host connection string, as in production: the store writes to the primary, the reader reads from the
/// replica, so <see cref="SyncReadersAsync"/> waits for the replica to replay what was committed.
/// </summary>
public sealed class PostgresBackend : StoreBackend
{
    private PostgresBackend(PostgresTestDatabase database)
    {
        Database = database;
    }

    public PostgresTestDatabase Database { get; }

    public PostgresCluster Cluster => Database.Cluster;

    public override string Name => "postgres";

    public override string Db => Database.MultiHostConnectionString();

    public override int LatestVersion => PostgresSchema.LatestVersion;

    public static async Task<PostgresBackend> CreateAsync(PostgresClusterFixture fixture) =>
        new(await fixture.CreateDatabaseAsync());

    public override async Task<DbConnection> InspectAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(Database.PrimaryConnectionString) { Pooling = false, Timeout = 10, CommandTimeout = 60 };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public override Task SyncReadersAsync() => Cluster.WaitForReplayAsync();

    public override string Stored(string text) => base.Stored(text).Replace('\0', '\uFFFD');

    public override string StoredKey(string text) => PostgresScaleStore.CleanKey(text);

    public override async Task ApplyMigrationsUpToAsync(int version)
    {
        await using var connection = (NpgsqlConnection)await InspectAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await PostgresScaleStore.ExecuteAsync(connection, transaction, PostgresSchema.CreateMigrationsTable, CancellationToken.None);
        for (var v = 1; v <= version; v++)
        {
            await PostgresSchema.Migrations[v - 1](connection, transaction, CancellationToken.None);
            await PostgresScaleStore.ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now());", CancellationToken.None, v);
        }

        await transaction.CommitAsync();
    }

    public override ValueTask DisposeAsync() => Database.DisposeAsync();
}
