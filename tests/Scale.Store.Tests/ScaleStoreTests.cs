using Microsoft.Data.Sqlite;
using Scale.Midi;

namespace Scale.Store.Tests;

public sealed class ScaleStoreTests : IDisposable
{
    private const string Source = "folder:/corpus";
    private readonly TempDb _db = new();

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task Open_NewFile_CreatesSchemaSeedsInstrumentsAndUsesWal()
    {
        await using (var store = await _db.OpenAsync())
        {
            Assert.Equal(Schema.CurrentVersion, await store.MigrateAsync(CancellationToken.None));
        }

        Assert.Equal(129, _db.Scalar("SELECT COUNT(*) FROM instruments"));
        Assert.Equal(17, _db.Scalar("SELECT COUNT(*) FROM instrument_families"));
        Assert.Equal(16, _db.Scalar("SELECT family_code FROM instruments WHERE code = 128"));
        Assert.Equal(1, _db.Scalar("SELECT COUNT(*) FROM instruments WHERE code = 73 AND name = 'Flute' AND family_code = 9"));
        using var connection = _db.Inspect();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar() as string);
    }

    [Fact]
    public async Task Open_Twice_AppliesEachMigrationOnce()
    {
        await using (var first = await _db.OpenAsync())
        {
        }

        await using (var second = await _db.OpenAsync())
        {
            Assert.Equal(Schema.CurrentVersion, await second.MigrateAsync(CancellationToken.None));
        }

        Assert.Equal(Schema.CurrentVersion, _db.Scalar("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(129, _db.Scalar("SELECT COUNT(*) FROM instruments"));
    }

    [Fact]
    public async Task Open_ManyConnectionsAtOnce_AllSucceedAndMigrateOnce()
    {
        using var start = new Barrier(6);
        var opens = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            start.SignalAndWait();
            await using var store = await _db.OpenAsync();
            var run = await store.BeginRunAsync(Source, CancellationToken.None);
            return run;
        }));

        var runs = await Task.WhenAll(opens);

        Assert.Equal(6, runs.Distinct().Count());
        Assert.Equal(Schema.CurrentVersion, _db.Scalar("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(129, _db.Scalar("SELECT COUNT(*) FROM instruments"));
    }

    [Theory]
    [InlineData("Host=db;Database=scale;Username=scale")]
    [InlineData("postgres://scale@db/scale")]
    public async Task Create_PostgresConnectionString_ThePostgresStoreNotYetConnected(string db)
    {
        await using var store = ScaleStoreFactory.Create(db);

        Assert.IsType<Scale.Store.Postgres.PostgresScaleStore>(store);
        Assert.False(File.Exists(db), "a PostgreSQL connection string was taken for a file name");
    }

    [Theory]
    [InlineData("postgres://scale:s%40cret@h1:5432,h2:5433/lakh?sslmode=disable&target_session_attrs=read-write",
        "Host=h1:5432,h2:5433;Username=scale;Password=s@cret;Database=lakh;SSL Mode=Disable;Target Session Attributes=read-write")]
    [InlineData("postgresql://db/scale", "Host=db;Database=scale")]
    [InlineData("Host=a;Database=b", "Host=a;Database=b")]
    public void ToConnectionString_UriWithSeveralHostsAndOptions_KeyValueForm(string uri, string expected)
    {
        var actual = new Npgsql.NpgsqlConnectionStringBuilder(Scale.Store.Postgres.PostgresConnections.ToConnectionString(uri));

        Assert.True(actual.EquivalentTo(new Npgsql.NpgsqlConnectionStringBuilder(expected)), actual.ConnectionString);
    }

    [Fact]
    public async Task Create_SqliteConnectionString_Opens()
    {
        await using var store = await ScaleStoreFactory.OpenAsync("Data Source=" + _db.DbPath, null, CancellationToken.None);
        Assert.Equal(Schema.CurrentVersion, await store.MigrateAsync(CancellationToken.None));
    }

    [Fact]
    public async Task WriteBatch_ValidSongs_WritesSongsInstrumentsLedgerAndRunCounts()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync(Source, CancellationToken.None);

        var result = await store.WriteBatchAsync(run, [Fake.Song("0/a.mid", 0, 73, 128), Fake.Song("0/b.mid", 0, 127)], CancellationToken.None);

        Assert.Equal(new BatchResult(2, 0, 0, 0, 2000), result);
        Assert.Equal(2, _db.Scalar("SELECT COUNT(*) FROM songs"));
        Assert.Equal(5, _db.Scalar("SELECT COUNT(*) FROM song_instruments"));
        Assert.Equal(2, _db.Scalar("SELECT COUNT(*) FROM source_files WHERE song_id IS NOT NULL"));
        Assert.Equal(10 + 73, _db.Scalar($"SELECT notes FROM song_instruments WHERE song_id = '{Fake.Md5("0/a.mid")}' AND instrument_code = 73"));
        var stored = await store.GetRunAsync(run, CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal(2, stored.Stats.FilesValid);
        Assert.Equal(2000, stored.Stats.BytesRead);
        Assert.Equal(RunStatus.Running, stored.Status);
    }

    [Fact]
    public async Task WriteBatch_Song_StoresColumnsAndInstrumentBits()
    {
        await using (var store = await _db.OpenAsync())
        {
            var run = await store.BeginRunAsync(Source, CancellationToken.None);
            await store.WriteBatchAsync(run, [Fake.Song("1/x.mid", 5, 63, 64, 127, 128)], CancellationToken.None);
        }

        using var connection = _db.Inspect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT name, title, format, tracks, division, ticks, seconds, bytes, note_count, instrument_count, warnings,
                   instrument_bits_lo, instrument_bits_mid, instrument_bits_hi, first_run_id
            FROM songs
            """;
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal("x", reader.GetString(0));
        Assert.Equal("Title 5-63-64-127-128", reader.GetString(1));
        Assert.Equal(1, reader.GetInt32(2));
        Assert.Equal(6, reader.GetInt32(3));
        Assert.Equal(96, reader.GetInt32(4));
        Assert.Equal(384, reader.GetInt64(5));
        Assert.Equal(2.0, reader.GetDouble(6));
        Assert.Equal(1000, reader.GetInt64(7));
        Assert.Equal(15 + 73 + 74 + 137 + 138, reader.GetInt64(8));
        Assert.Equal(5, reader.GetInt32(9));
        Assert.Equal("trailing-bytes missing-end-of-track", reader.GetString(10));
        var set = new InstrumentSet(unchecked((ulong)reader.GetInt64(11)), unchecked((ulong)reader.GetInt64(12)), unchecked((ulong)reader.GetInt64(13)));
        Assert.Equal(InstrumentSet.Of([5, 63, 64, 127, 128]), set);
        Assert.Equal(1, reader.GetInt64(14));
        Assert.False(reader.Read());
    }

    [Fact]
    public async Task WriteBatch_TwoKeysSameMd5_OneSongTwoLedgerRows()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync(Source, CancellationToken.None);
        var md5 = Fake.Md5("same");

        var first = await store.WriteBatchAsync(run, [Fake.Song("0/a.mid", md5, 1, 2)], CancellationToken.None);
        var second = await store.WriteBatchAsync(run, [Fake.Song("9/copy.mid", md5, 1, 2)], CancellationToken.None);

        Assert.Equal(new BatchResult(1, 0, 0, 0, 1000), first);
        Assert.Equal(new BatchResult(1, 0, 1, 0, 1000), second);
        Assert.Equal(1, _db.Scalar("SELECT COUNT(*) FROM songs"));
        Assert.Equal("a", ScalarText("SELECT name FROM songs"));
        Assert.Equal(2, _db.Scalar("SELECT COUNT(*) FROM song_instruments"));
        Assert.Equal(2, _db.Scalar($"SELECT COUNT(*) FROM source_files WHERE song_id = '{md5}'"));
        Assert.Equal(1, (await store.GetRunAsync(run, CancellationToken.None))!.Stats.FilesDuplicate);
    }

    [Fact]
    public async Task WriteBatch_DuplicateInsideOneBatch_OneSong()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync(Source, CancellationToken.None);
        var md5 = Fake.Md5("same");

        var result = await store.WriteBatchAsync(run, [Fake.Song("a.mid", md5, 1), Fake.Song("b.mid", md5, 1)], CancellationToken.None);

        Assert.Equal(new BatchResult(2, 0, 1, 0, 2000), result);
        Assert.Equal(1, _db.Scalar("SELECT COUNT(*) FROM songs"));
        Assert.Equal(2, _db.Scalar("SELECT COUNT(*) FROM source_files"));
    }

    [Fact]
    public async Task WriteBatch_SameBatchTwice_SecondIgnoredAndTablesUnchanged()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync(Source, CancellationToken.None);
        ExtractedFile[] batch = [Fake.Song("a.mid", 1), Fake.NotMidi("b.mid"), Fake.Song("c.mid", 2, 3)];
        await store.WriteBatchAsync(run, batch, CancellationToken.None);
        var before = Snapshot();

        var again = await store.WriteBatchAsync(run, batch, CancellationToken.None);

        Assert.Equal(new BatchResult(0, 0, 0, 3, 0), again);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task WriteBatch_ConstraintFailsMidBatch_LeavesNothing()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync(Source, CancellationToken.None);
        await store.WriteBatchAsync(run, [Fake.Song("before.mid", 1)], CancellationToken.None);
        var before = Snapshot();
        ExtractedFile[] batch =
        [
            Fake.Song("a.mid", 1, 2),
            Fake.NotMidi("b.mid"),
            Fake.Song("c.mid", "not-an-md5", 3),
            Fake.Song("d.mid", 4),
        ];

        await Assert.ThrowsAsync<SqliteException>(() => store.WriteBatchAsync(run, batch, CancellationToken.None));

        Assert.Equal(before, Snapshot());
        Assert.Equal(1, (await store.GetRunAsync(run, CancellationToken.None))!.Stats.FilesValid);
        // The store is still usable after the rollback.
        var result = await store.WriteBatchAsync(run, [batch[0], batch[1], batch[3]], CancellationToken.None);
        Assert.Equal(3, result.Written);
    }

    [Fact]
    public async Task WriteBatch_CancelledToken_WritesNothing()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync(Source, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => store.WriteBatchAsync(run, [Fake.Song("a.mid", 1)], cts.Token));

        Assert.Equal(0, _db.Scalar("SELECT COUNT(*) FROM source_files"));
    }

    [Fact]
    public async Task WriteBatch_InvalidFiles_RecordedWithReasonAndLedger()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync(Source, CancellationToken.None);

        var result = await store.WriteBatchAsync(
            run,
            [
                Fake.NotMidi("page.mid"),
                ExtractedFile.Failed("big.mid", 1L << 30, null, InvalidReasons.TooLarge, "Over the limit."),
                ExtractedFile.Failed("gone.mid", 7, null, InvalidReasons.ReadError, "I/O error"),
            ],
            CancellationToken.None);

        Assert.Equal(new BatchResult(0, 3, 0, 0, 12 + (1L << 30) + 7), result);
        Assert.Equal(1, _db.Scalar("SELECT COUNT(*) FROM invalid_files WHERE key = 'page.mid' AND reason_code = 'not-midi' AND message = 'HTML, not MIDI.' AND md5 IS NOT NULL"));
        Assert.Equal(1, _db.Scalar("SELECT COUNT(*) FROM invalid_files WHERE key = 'big.mid' AND reason_code = 'too-large' AND md5 IS NULL"));
        Assert.Equal(1, _db.Scalar("SELECT COUNT(*) FROM invalid_files WHERE key = 'gone.mid' AND reason_code = 'read-error'"));
        Assert.Equal(3, _db.Scalar("SELECT COUNT(*) FROM source_files WHERE song_id IS NULL"));
        Assert.Equal(0, _db.Scalar("SELECT COUNT(*) FROM songs"));
        var summary = await store.GetSummaryAsync(CancellationToken.None);
        Assert.Equal(3, summary.InvalidFiles);
        Assert.Equal(3, summary.InvalidByReason.Count);
    }

    [Fact]
    public async Task GetFinishedKeys_AfterBatches_ReturnsKeysOfThatSourceOnly()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync(Source, CancellationToken.None);
        var other = await store.BeginRunAsync("tar:/other.tar", CancellationToken.None);
        await store.WriteBatchAsync(run, [Fake.Song("a.mid", 1), Fake.NotMidi("b.mid")], CancellationToken.None);
        await store.WriteBatchAsync(other, [Fake.Song("c.mid", 1)], CancellationToken.None);

        var keys = await store.GetFinishedKeysAsync(Source, CancellationToken.None);

        Assert.Equal(["a.mid", "b.mid"], keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task BeginRun_StaleRunningRowOfSameSource_MarkedInterrupted()
    {
        var time = new ManualTime(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));
        long killed, otherSource;
        await using (var crashed = await _db.OpenAsync(time))
        {
            killed = await crashed.BeginRunAsync(Source, CancellationToken.None);
            otherSource = await crashed.BeginRunAsync("tar:/x.tar", CancellationToken.None);
            await crashed.WriteBatchAsync(killed, [Fake.Song("a.mid", 1)], CancellationToken.None);
            // The process "dies" here: no CompleteRunAsync.
        }

        await using var store = await _db.OpenAsync(time);
        var next = await store.BeginRunAsync(Source, CancellationToken.None);

        var stale = await store.GetRunAsync(killed, CancellationToken.None);
        Assert.NotNull(stale);
        Assert.Equal(RunStatus.Interrupted, stale.Status);
        Assert.Equal(1, stale.Stats.FilesValid);
        Assert.Contains("ended before the run finished", stale.Error, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Running, (await store.GetRunAsync(otherSource, CancellationToken.None))!.Status);
        Assert.Equal(RunStatus.Running, (await store.GetRunAsync(next, CancellationToken.None))!.Status);
        Assert.Equal(time.GetUtcNow(), stale.StartedAt);
    }

    [Fact]
    public async Task CompleteRun_Stats_RoundTripThroughGetRuns()
    {
        var time = new ManualTime(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
        await using var store = await _db.OpenAsync(time);
        var first = await store.BeginRunAsync(Source, CancellationToken.None);
        var stats = new RunStats
        {
            FilesSeen = 10, FilesSkipped = 3, FilesValid = 5, FilesInvalid = 2, FilesDuplicate = 1, BytesRead = 12345,
            ReadSeconds = 0.5, ExtractSeconds = 1.5, WriteSeconds = 0.25, WallSeconds = 2.0,
        };
        time.Advance(TimeSpan.FromSeconds(2));
        await store.CompleteRunAsync(first, stats, RunStatus.Completed, null, CancellationToken.None);
        var second = await store.BeginRunAsync(Source, CancellationToken.None);
        await store.CompleteRunAsync(second, new RunStats(), RunStatus.Failed, "disk full", CancellationToken.None);

        var runs = await store.GetRunsAsync(10, CancellationToken.None);

        Assert.Equal([second, first], runs.Select(r => r.Id));
        Assert.Equal(stats, runs[1].Stats);
        Assert.Equal(RunStatus.Completed, runs[1].Status);
        Assert.Equal(Source, runs[1].Source);
        Assert.Equal(time.GetUtcNow(), runs[1].FinishedAt);
        Assert.Equal(time.GetUtcNow() - TimeSpan.FromSeconds(2), runs[1].StartedAt);
        Assert.Null(runs[1].Error);
        Assert.Equal(RunStatus.Failed, runs[0].Status);
        Assert.Equal("disk full", runs[0].Error);
    }

    [Fact]
    public async Task GetSummary_AfterWrites_CountsSongsReasonsAndUsage()
    {
        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync(Source, CancellationToken.None);
        await store.WriteBatchAsync(
            run,
            [Fake.Song("a.mid", 0, 128), Fake.Song("b.mid", 0), Fake.Song("c.mid", 0, 40), Fake.NotMidi("d.mid"), Fake.NotMidi("e.mid")],
            CancellationToken.None);

        var summary = await store.GetSummaryAsync(CancellationToken.None);

        Assert.Equal(3, summary.Songs);
        Assert.Equal(5, summary.SongInstruments);
        Assert.Equal(5, summary.SourceFiles);
        Assert.Equal(2, summary.InvalidFiles);
        Assert.Equal([new ReasonCount("not-midi", 2)], summary.InvalidByReason);
        Assert.Equal(new InstrumentUsage(0, "Acoustic Grand Piano", 0, "Piano", 3), summary.InstrumentUsage[0]);
        Assert.Equal([0, 40, 128], summary.InstrumentUsage.Select(u => u.Code));
        Assert.Equal("Drums", summary.InstrumentUsage[2].FamilyName);
    }

    [Fact]
    public async Task WriteBatch_Unopened_Throws()
    {
        await using var store = ScaleStoreFactory.Create(_db.DbPath);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.BeginRunAsync(Source, CancellationToken.None));
    }

    private string ScalarText(string sql)
    {
        using var connection = _db.Inspect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (string)command.ExecuteScalar()!;
    }

    /// <summary>Every row of the data tables, as text, for before/after comparisons.</summary>
    private string Snapshot()
    {
        using var connection = _db.Inspect();
        var text = new System.Text.StringBuilder();
        foreach (var sql in new[]
                 {
                     "SELECT * FROM songs ORDER BY id",
                     "SELECT * FROM song_instruments ORDER BY song_id, instrument_code",
                     "SELECT * FROM source_files ORDER BY source, key",
                     "SELECT * FROM invalid_files ORDER BY source, key",
                 })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    text.Append(reader.IsDBNull(i) ? "NULL" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('|');
                }

                text.Append('\n');
            }
        }

        return text.ToString();
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    private DateTimeOffset _now = now;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
