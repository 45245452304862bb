using Scale.Store.Tests.Backends;

namespace Scale.Store.Tests.Contract;

/// <summary>
/// The store's behaviour, the same on every backend: each concrete subclass (<see cref="SqliteStoreContractTests"/>,
/// <see cref="PostgresStoreContractTests"/>) runs every test here against a fresh database of its backend. Checks of
/// one backend's machinery (SQLite's WAL, PostgreSQL's advisory lock and replicas) live in Sqlite/ and Postgres/.
/// </summary>
public abstract partial class StoreContract : IAsyncLifetime
{
    protected const string Source = "folder:/corpus";

    private StoreBackend? _backend;

    protected StoreBackend Backend => _backend ?? throw new InvalidOperationException("The backend is not created yet.");

    protected static CancellationToken None => CancellationToken.None;

    /// <summary>A fresh, empty database of the backend under test.</summary>
    protected abstract Task<StoreBackend> CreateBackendAsync();

    public async Task InitializeAsync() => _backend = await CreateBackendAsync();

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task Open_EmptyDatabase_AppliesEveryMigrationAndSeedsInstruments()
    {
        await using (var store = await Backend.OpenAsync())
        {
            Assert.Equal(Backend.LatestVersion, await store.MigrateAsync(None));
        }

        Assert.Equal(3, Backend.LatestVersion);
        Assert.Equal(Backend.LatestVersion, await Backend.CountAsync("schema_migrations"));
        Assert.Equal(Backend.LatestVersion, await Backend.ScalarAsync("SELECT MAX(version) FROM schema_migrations"));
        Assert.Equal(129, await Backend.CountAsync("instruments"));
        Assert.Equal(17, await Backend.CountAsync("instrument_families"));
        Assert.Equal(16, await Backend.ScalarAsync("SELECT family_code FROM instruments WHERE code = 128"));
        Assert.Equal(1, await Backend.ScalarAsync("SELECT COUNT(*) FROM instruments WHERE code = 73 AND name = 'Flute' AND family_code = 9"));
        foreach (var table in new[] { "songs", "song_instruments", "source_files", "invalid_files", "runs", "similarity_runs", "similar_lists", "shards" })
        {
            Assert.Equal(0, await Backend.CountAsync(table));
        }
    }

    [Fact]
    public async Task Open_Again_AppliesNothingTwice()
    {
        await using (var first = await Backend.OpenAsync())
        {
            await first.BeginRunAsync(Source, None);
        }

        var before = await Backend.SnapshotAsync();
        await using (var second = await Backend.OpenAsync())
        {
            Assert.Equal(Backend.LatestVersion, await second.MigrateAsync(None));
            Assert.Equal(Backend.LatestVersion, await second.MigrateAsync(None));
        }

        Assert.Equal(before, await Backend.SnapshotAsync());
    }

    [Fact]
    public async Task Open_SixStoresAtOnce_AllSucceedAndMigrateOnce()
    {
        using var start = new Barrier(6);
        var opens = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            start.SignalAndWait();
            await using var store = await Backend.OpenAsync();
            return await store.BeginRunAsync(Source, None);
        }));

        var runs = await Task.WhenAll(opens);

        Assert.Equal(6, runs.Distinct().Count());
        Assert.Equal(Backend.LatestVersion, await Backend.CountAsync("schema_migrations"));
        Assert.Equal(129, await Backend.CountAsync("instruments"));
    }

    [Fact]
    public async Task Migrate_FourProcessesAtOnce_EachMigrationAppliedOnce()
    {
        // Separate processes (this test assembly's own entry point, Program.cs): nothing shared but the database.
        var processes = Enumerable.Range(0, 4).Select(_ => ChildProcess.RunAsync(["migrate", Backend.Db], TimeSpan.FromSeconds(120))).ToList();

        var results = await Task.WhenAll(processes);

        foreach (var result in results)
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal($"version {Backend.LatestVersion}", result.StandardOutput.Trim());
        }

        Assert.Equal(Backend.LatestVersion, await Backend.CountAsync("schema_migrations"));
        Assert.Equal(129, await Backend.CountAsync("instruments"));
        Assert.Equal(17, await Backend.CountAsync("instrument_families"));
    }

    [Fact]
    public async Task Open_SchemaOfAnOlderVersion_AppliesTheRestAndBackfillsShards()
    {
        await Backend.ApplyMigrationsUpToAsync(2);
        await Backend.ExecuteAsync("""
            INSERT INTO runs (source, started_at, finished_at, status) VALUES
                ('folder:/old', '2025-01-01T00:00:00Z', '2025-01-01T01:00:00Z', 'completed'),
                ('folder:/old', '2025-01-02T00:00:00Z', '2025-01-02T01:00:00Z', 'completed'),
                ('folder:/never', '2025-01-03T00:00:00Z', NULL, 'interrupted');
            """);
        Assert.Equal(2, await Backend.CountAsync("schema_migrations"));

        await using var store = await Backend.OpenAsync();

        Assert.Equal(Backend.LatestVersion, await Backend.CountAsync("schema_migrations"));
        var shard = Assert.Single(await store.GetCompletedShardsAsync(None));
        Assert.Equal(("folder:/old", 0, 1, 2L), (shard.Source, shard.Index, shard.Count, shard.RunId));
        Assert.Equal(new DateTimeOffset(2025, 1, 2, 1, 0, 0, TimeSpan.Zero), shard.CompletedAt);
    }

    [Fact]
    public async Task Open_SchemaNewerThanTheProgram_RefusesWithoutChangingAnything()
    {
        await using (var store = await Backend.OpenAsync())
        {
        }

        await Backend.ExecuteAsync("INSERT INTO schema_migrations (version, applied_at) VALUES (99, '2030-01-01T00:00:00Z');");
        var before = await Backend.SnapshotAsync();

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => Backend.OpenAsync());

        Assert.Contains("schema version 99", refused.Message, StringComparison.Ordinal);
        Assert.Contains("upgrade Scale", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, await Backend.SnapshotAsync());
    }

    [Fact]
    public async Task Store_NotOpened_ThrowsInvalidOperation()
    {
        await using var store = ScaleStoreFactory.Create(Backend.Db);

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.BeginRunAsync(Source, None));
        Assert.False(string.IsNullOrEmpty(store.Description));
        Assert.DoesNotContain("Password", store.Description, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Keys, songs and names of a small corpus written in one run, for the reader and similarity tests.</summary>
    protected async Task<(IScaleStore Store, long Run)> OpenWithSongsAsync(params ExtractedFile[] files)
    {
        var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        await store.WriteBatchAsync(run, files, None);
        return (store, run);
    }
}
