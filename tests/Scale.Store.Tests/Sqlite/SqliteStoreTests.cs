using Scale.Store.Sqlite;

namespace Scale.Store.Tests.Sqlite;

/// <summary>SQLite's own machinery: WAL, connection strings, the file left behind. The behaviour is in Contract/.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private readonly TempDb _db = new();

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task Open_NewFile_UsesWalAndLeavesATruncatedWalOnDispose()
    {
        await using (var store = await _db.OpenAsync())
        {
            var run = await store.BeginRunAsync("folder:/x", CancellationToken.None);
            await store.WriteBatchAsync(run, [Fake.Song("a.mid", 1)], CancellationToken.None);
            Assert.Equal(_db.DbPath, store.Description);
        }

        using var connection = _db.Inspect();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar() as string);
        var wal = new FileInfo(_db.DbPath + "-wal");
        Assert.True(!wal.Exists || wal.Length == 0, $"WAL of {wal.Length} bytes left behind");
        Assert.Equal(SqliteSchema.LatestVersion, _db.Scalar("SELECT COUNT(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task Open_SqliteConnectionString_OpensTheFile()
    {
        await using (var store = await ScaleStoreFactory.OpenAsync("Data Source=" + _db.DbPath, null, CancellationToken.None))
        {
            Assert.Equal(SqliteSchema.LatestVersion, await store.MigrateAsync(CancellationToken.None));
            Assert.IsType<SqliteScaleStore>(store);
        }

        Assert.Equal(129, _db.Scalar("SELECT COUNT(*) FROM instruments"));
    }

    [Fact]
    public async Task Reader_WhileTheStoreWrites_ReadsOneSnapshot()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync("folder:/x", CancellationToken.None);
        await store.WriteBatchAsync(run, [Fake.Song("a.mid", 1)], CancellationToken.None);
        await using var reader = ScaleStoreFactory.CreateReader(_db.DbPath);
        var names = new List<string>();

        await foreach (var song in reader.ReadCatalogAsync(CancellationToken.None))
        {
            // A write commits while the catalogue is being read (WAL: readers never block the writer).
            await store.WriteBatchAsync(run, [Fake.Song(song.Name + "x.mid", 2)], CancellationToken.None);
            names.Add(song.Name);
        }

        Assert.Equal(["a"], names);
        Assert.Equal(2, (await reader.GetSummaryAsync(CancellationToken.None)).Songs);
    }
}
