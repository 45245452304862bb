using System.Diagnostics;

namespace Scale.Store.Tests.Sqlite;

/// <summary>
/// Another process (python3's sqlite3 module, a separate SQLite library) holding the file's lock while the store
/// opens: file locks between processes are real POSIX locks, unlike two connections inside one process.
/// </summary>
public sealed class CrossProcessTests : IDisposable
{
    private readonly TempDb _db = new();

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task Open_OtherProcessHoldsExclusiveLock_WaitsThenMigrates()
    {
        const string Script = """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN EXCLUSIVE')
            c.execute('CREATE TABLE other_tool (x INTEGER)')
            print('locked', flush=True)
            time.sleep(1.5)
            c.execute('COMMIT')
            c.close()
            """;
        using var holder = StartPython(Script, _db.DbPath);
        Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync());
        var watch = Stopwatch.StartNew();

        await using (var store = await _db.OpenAsync())
        {
            await store.BeginRunAsync("folder:/x", CancellationToken.None);
        }

        Assert.True(watch.Elapsed > TimeSpan.FromSeconds(0.5), $"opened after {watch.Elapsed} despite the lock");
        await holder.WaitForExitAsync();
        Assert.Equal(0, holder.ExitCode);
        Assert.Equal(Scale.Store.Sqlite.SqliteSchema.LatestVersion, _db.Scalar("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(0, _db.Scalar("SELECT COUNT(*) FROM other_tool"));
    }

    [Fact]
    public async Task WriteBatch_OtherProcessReadingMidWrite_ReaderSeesOnlyCommittedBatches()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync("folder:/x", CancellationToken.None);
        await store.WriteBatchAsync(run, [Fake.Song("a.mid", 1), Fake.Song("b.mid", 2)], CancellationToken.None);
        // A reader in another process keeps one read transaction open across our next commit (WAL snapshot).
        const string Script = """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN')
            print(c.execute('SELECT COUNT(*) FROM source_files').fetchone()[0], flush=True)
            sys.stdin.readline()
            print(c.execute('SELECT COUNT(*) FROM source_files').fetchone()[0], flush=True)
            c.execute('COMMIT')
            print(c.execute('SELECT COUNT(*) FROM source_files').fetchone()[0], flush=True)
            """;
        using var reader = StartPython(Script, _db.DbPath);
        Assert.Equal("2", await reader.StandardOutput.ReadLineAsync());

        await store.WriteBatchAsync(run, [Fake.Song("c.mid", 3)], CancellationToken.None);
        await reader.StandardInput.WriteLineAsync();
        await reader.StandardInput.FlushAsync();

        Assert.Equal("2", await reader.StandardOutput.ReadLineAsync());
        Assert.Equal("3", await reader.StandardOutput.ReadLineAsync());
        await reader.WaitForExitAsync();
        Assert.Equal(0, reader.ExitCode);
    }

    private static Process StartPython(string script, string dbPath)
    {
        var info = new ProcessStartInfo("python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(dbPath);
        return Process.Start(info) ?? throw new InvalidOperationException("python3 did not start");
    }
}
