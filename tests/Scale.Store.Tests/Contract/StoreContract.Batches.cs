using System.Data.Common;
using System.Globalization;
using Scale.Midi;

namespace Scale.Store.Tests.Contract;

/// <summary>WriteBatchAsync: what a batch writes, all or nothing, duplicates, ignored keys, reruns, counters.</summary>
public abstract partial class StoreContract
{
    [Fact]
    public async Task WriteBatch_ValidSongs_WritesSongsInstrumentsLedgerAndRunCounts()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);

        var result = await store.WriteBatchAsync(run, [Fake.Song("0/a.mid", 0, 73, 128), Fake.Song("0/b.mid", 0, 127)], None);

        Assert.Equal(new BatchResult(2, 0, 0, 0, 2000), result);
        Assert.Equal(2, await Backend.CountAsync("songs"));
        Assert.Equal(5, await Backend.CountAsync("song_instruments"));
        Assert.Equal(2, await Backend.ScalarAsync("SELECT COUNT(*) FROM source_files WHERE song_id IS NOT NULL"));
        Assert.Equal(10 + 73, await Backend.ScalarAsync($"SELECT notes FROM song_instruments WHERE song_id = '{Fake.Md5("0/a.mid")}' AND instrument_code = 73"));
        var stored = await store.GetRunAsync(run, None);
        Assert.NotNull(stored);
        Assert.Equal(new RunStats { FilesSeen = 2, FilesValid = 2, BytesRead = 2000 }, stored.Stats);
        Assert.Equal(RunStatus.Running, stored.Status);
        Assert.Null(stored.FinishedAt);
    }

    [Fact]
    public async Task WriteBatch_Song_StoresEveryColumnAndTheInstrumentBits()
    {
        long run;
        await using (var store = await Backend.OpenAsync())
        {
            run = await store.BeginRunAsync(Source, None);
            await store.WriteBatchAsync(run, [Fake.Song("1/x.mid", 5, 63, 64, 127, 128)], None);
        }

        await using var connection = await Backend.InspectAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT name, title, format, tracks, division, ticks, seconds, bytes, note_count, instrument_count, warnings,
                   instrument_bits_lo, instrument_bits_mid, instrument_bits_hi, first_run_id, id, key
            FROM songs
            """;
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("x", reader.GetString(0));
        Assert.Equal("Title 5-63-64-127-128", reader.GetString(1));
        Assert.Equal(1, Int(reader, 2));
        Assert.Equal(6, Int(reader, 3));
        Assert.Equal(96, Int(reader, 4));
        Assert.Equal(384, Int(reader, 5));
        Assert.Equal(2.0, reader.GetDouble(6));
        Assert.Equal(1000, Int(reader, 7));
        Assert.Equal(15 + 73 + 74 + 137 + 138, Int(reader, 8));
        Assert.Equal(5, Int(reader, 9));
        Assert.Equal("trailing-bytes missing-end-of-track", reader.GetString(10));
        var set = new InstrumentSet(unchecked((ulong)Int(reader, 11)), unchecked((ulong)Int(reader, 12)), unchecked((ulong)Int(reader, 13)));
        Assert.Equal(InstrumentSet.Of([5, 63, 64, 127, 128]), set);
        Assert.True(Int(reader, 13) < 0 || set.High >> 63 == 0, "the high word is stored as a signed 64-bit value");
        Assert.Equal(run, Int(reader, 14));
        Assert.Equal(Fake.Md5("1/x.mid"), reader.GetString(15));
        Assert.True(Int(reader, 16) > 0);
        Assert.False(await reader.ReadAsync());
    }

    [Fact]
    public async Task WriteBatch_SongWithoutSecondsOrTitle_StoresNulls()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        var fake = Fake.Summary(1, 2, 3);
        var summary = new MidiSummary
        {
            Format = 0, Tracks = 1, Division = 480, Instruments = fake.Instruments, NoteCounts = fake.NoteCounts, Notes = fake.Notes,
            Ticks = 0, Seconds = double.NaN, Title = null, Warnings = MidiWarnings.None,
        };

        await store.WriteBatchAsync(run, [ExtractedFile.Song("n.mid", 1, Fake.Md5("n"), "n", summary)], None);

        Assert.Equal(1, await Backend.ScalarAsync("SELECT COUNT(*) FROM songs WHERE seconds IS NULL AND title IS NULL AND warnings = ''"));
    }

    [Fact]
    public async Task WriteBatch_TwoKeysSameMd5InTwoBatches_OneSongTwoLedgerRowsOneDuplicate()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        var md5 = Fake.Md5("same");

        var first = await store.WriteBatchAsync(run, [Fake.Song("0/a.mid", md5, 1, 2)], None);
        var second = await store.WriteBatchAsync(run, [Fake.Song("9/copy.mid", md5, 1, 2)], None);

        Assert.Equal(new BatchResult(1, 0, 0, 0, 1000), first);
        Assert.Equal(new BatchResult(1, 0, 1, 0, 1000), second);
        Assert.Equal(1, await Backend.CountAsync("songs"));
        Assert.Equal("a", await Backend.TextAsync("SELECT name FROM songs"));
        Assert.Equal(2, await Backend.CountAsync("song_instruments"));
        Assert.Equal(2, await Backend.ScalarAsync($"SELECT COUNT(*) FROM source_files WHERE song_id = '{md5}'"));
        Assert.Equal(1, (await store.GetRunAsync(run, None))!.Stats.FilesDuplicate);
    }

    [Fact]
    public async Task WriteBatch_SameMd5TwiceInOneBatch_OneSongNamedAfterTheFirstFile()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        var md5 = Fake.Md5("same");

        // "z" comes first in the batch and last in key order: the batch's order decides.
        var result = await store.WriteBatchAsync(run, [Fake.Song("z.mid", md5, 1), Fake.Song("b.mid", md5, 1)], None);

        Assert.Equal(new BatchResult(2, 0, 1, 0, 2000), result);
        Assert.Equal(1, await Backend.CountAsync("songs"));
        Assert.Equal("z", await Backend.TextAsync("SELECT name FROM songs"));
        Assert.Equal(2, await Backend.CountAsync("source_files"));
        Assert.Equal(1, await Backend.CountAsync("song_instruments"));
        var stats = (await store.GetRunAsync(run, None))!.Stats;
        Assert.Equal((2L, 2L, 1L), (stats.FilesSeen, stats.FilesValid, stats.FilesDuplicate));
    }

    [Fact]
    public async Task WriteBatch_SameKeyTwiceInOneBatch_FirstWinsSecondIgnoredNoOrphanSong()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);

        var result = await store.WriteBatchAsync(
            run,
            [Fake.Song("k.mid", Fake.Md5("first"), 1), Fake.Song("k.mid", Fake.Md5("second"), 2), Fake.NotMidi("k.mid")],
            None);

        Assert.Equal(new BatchResult(1, 0, 0, 2, 1000), result);
        Assert.Equal(Fake.Md5("first"), await Backend.TextAsync("SELECT id FROM songs"));
        Assert.Equal(1, await Backend.CountAsync("songs"));
        Assert.Equal(1, await Backend.CountAsync("song_instruments"));
        Assert.Equal(0, await Backend.CountAsync("invalid_files"));
        Assert.Equal(Fake.Md5("first"), await Backend.TextAsync("SELECT song_id FROM source_files"));
        var stats = (await store.GetRunAsync(run, None))!.Stats;
        Assert.Equal((1L, 1L, 0L, 1000L), (stats.FilesSeen, stats.FilesValid, stats.FilesInvalid, stats.BytesRead));
    }

    [Fact]
    public async Task WriteBatch_InvalidThenValidUnderOneKey_TheInvalidOneWins()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);

        var result = await store.WriteBatchAsync(run, [Fake.NotMidi("k.mid"), Fake.Song("k.mid", 1)], None);

        Assert.Equal(new BatchResult(0, 1, 0, 1, 12), result);
        Assert.Equal(0, await Backend.CountAsync("songs"));
        Assert.Equal(1, await Backend.CountAsync("invalid_files"));
        Assert.Equal(1, await Backend.ScalarAsync("SELECT COUNT(*) FROM source_files WHERE song_id IS NULL"));
    }

    [Fact]
    public async Task WriteBatch_KeyFinishedBeforeWithOtherContent_IgnoredAndItsNewSongNotKept()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        await store.WriteBatchAsync(run, [Fake.Song("k.mid", Fake.Md5("old"), 1)], None);
        var later = await store.BeginRunAsync(Source, None);

        var result = await store.WriteBatchAsync(later, [Fake.Song("k.mid", Fake.Md5("new"), 2), Fake.Song("other.mid", 3)], None);

        Assert.Equal(new BatchResult(1, 0, 0, 1, 1000), result);
        Assert.Equal(0, await Backend.ScalarAsync($"SELECT COUNT(*) FROM songs WHERE id = '{Fake.Md5("new")}'"));
        Assert.Equal(2, await Backend.CountAsync("songs"));
        Assert.Equal(2, await Backend.CountAsync("song_instruments"));
        Assert.Equal(1, (await store.GetRunAsync(later, None))!.Stats.FilesValid);
    }

    [Fact]
    public async Task WriteBatch_SameBatchTwice_SecondIgnoredAndNothingChanges()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        ExtractedFile[] batch = [Fake.Song("a.mid", 1), Fake.NotMidi("b.mid"), Fake.Song("c.mid", 2, 3)];
        Assert.Equal(new BatchResult(2, 1, 0, 0, 2012), await store.WriteBatchAsync(run, batch, None));
        var before = await Backend.SnapshotAsync();

        var again = await store.WriteBatchAsync(run, batch, None);

        Assert.Equal(new BatchResult(0, 0, 0, 3, 0), again);
        Assert.Equal(before, await Backend.SnapshotAsync());
    }

    [Fact]
    public async Task WriteBatch_RerunOfASourceInANewStore_ChangesNothingButItsRunRow()
    {
        ExtractedFile[] files = [Fake.Song("a.mid", 1), Fake.NotMidi("b.mid"), Fake.Song("c.mid", 2, 3), Fake.Song("d.mid", Fake.Md5("a.mid"), 1)];
        await using (var store = await Backend.OpenAsync())
        {
            var run = await store.BeginRunAsync(Source, None);
            await store.WriteBatchAsync(run, files[..2], None);
            await store.WriteBatchAsync(run, files[2..], None);
            await store.CompleteRunAsync(run, new RunStats { FilesSeen = 4 }, RunStatus.Completed, null, None);
        }

        var tables = new[] { "songs", "song_instruments", "source_files", "invalid_files" };
        var before = await DataRowsAsync(tables);
        await using (var store = await Backend.OpenAsync())
        {
            var rerun = await store.BeginRunAsync(Source, None);
            var finished = await store.GetFinishedKeysAsync(Source, None);
            Assert.Equal(4, finished.Count);
            var result = await store.WriteBatchAsync(rerun, files, None);
            Assert.Equal(new BatchResult(0, 0, 0, 4, 0), result);
            Assert.Equal(new RunStats(), (await store.GetRunAsync(rerun, None))!.Stats);
        }

        Assert.Equal(before, await DataRowsAsync(tables));
    }

    [Fact]
    public async Task WriteBatch_ConstraintFailsMidBatch_LeavesNothingAndTheStoreStaysUsable()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        await store.WriteBatchAsync(run, [Fake.Song("before.mid", 1)], None);
        var before = await Backend.SnapshotAsync();
        ExtractedFile[] batch =
        [
            Fake.Song("a.mid", 1, 2),
            Fake.NotMidi("b.mid"),
            Fake.Song("c.mid", "not-an-md5", 3),
            Fake.Song("d.mid", 4),
        ];

        await Assert.ThrowsAnyAsync<DbException>(() => store.WriteBatchAsync(run, batch, new ShardSpec(0, 1), None));

        Assert.Equal(before, await Backend.SnapshotAsync());
        Assert.Equal(1, (await store.GetRunAsync(run, None))!.Stats.FilesValid);
        Assert.Empty(await store.GetCompletedShardsAsync(None));
        var result = await store.WriteBatchAsync(run, [batch[0], batch[1], batch[3]], None);
        Assert.Equal(3, result.Written);
    }

    [Fact]
    public async Task WriteBatch_CancelledToken_WritesNothing()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.WriteBatchAsync(run, [Fake.Song("a.mid", 1)], cts.Token));

        Assert.Equal(0, await Backend.CountAsync("source_files"));
        Assert.Equal(1, (await store.WriteBatchAsync(run, [Fake.Song("a.mid", 1)], None)).Valid);
    }

    [Fact]
    public async Task WriteBatch_UnknownRun_ThrowsAndWritesNothing()
    {
        await using var store = await Backend.OpenAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.WriteBatchAsync(424242, [Fake.Song("a.mid", 1)], None));

        Assert.Equal(0, await Backend.CountAsync("source_files"));
    }

    [Fact]
    public async Task WriteBatch_Empty_ChangesNothing()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        var before = await Backend.SnapshotAsync();

        Assert.Equal(default, await store.WriteBatchAsync(run, [], None));

        Assert.Equal(before, await Backend.SnapshotAsync());
    }

    [Fact]
    public async Task WriteBatch_InvalidFiles_RecordedWithReasonAndLedger()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);

        var result = await store.WriteBatchAsync(
            run,
            [
                Fake.NotMidi("page.mid"),
                ExtractedFile.Failed("big.mid", 1L << 30, null, InvalidReasons.TooLarge, "Over the limit."),
                ExtractedFile.Failed("gone.mid", 7, null, InvalidReasons.ReadError, "I/O error"),
                ExtractedFile.Rejected("short.mid", 3, Fake.Md5("short"), new MidiError(MidiErrorCode.TruncatedEvent, "Ends early.")),
            ],
            None);

        Assert.Equal(new BatchResult(0, 4, 0, 0, 12 + (1L << 30) + 7 + 3), result);
        Assert.Equal(1, await Backend.ScalarAsync("SELECT COUNT(*) FROM invalid_files WHERE key = 'page.mid' AND reason_code = 'not-midi' AND message = 'HTML, not MIDI.' AND md5 IS NOT NULL"));
        Assert.Equal(1, await Backend.ScalarAsync("SELECT COUNT(*) FROM invalid_files WHERE key = 'big.mid' AND reason_code = 'too-large' AND md5 IS NULL"));
        Assert.Equal(1, await Backend.ScalarAsync("SELECT COUNT(*) FROM invalid_files WHERE key = 'gone.mid' AND reason_code = 'read-error' AND bytes = 7"));
        Assert.Equal(1, await Backend.ScalarAsync($"SELECT COUNT(*) FROM invalid_files WHERE key = 'short.mid' AND reason_code = 'truncated-event' AND md5 = '{Fake.Md5("short")}'"));
        Assert.Equal(4, await Backend.ScalarAsync($"SELECT COUNT(*) FROM invalid_files WHERE run_id = {run}"));
        Assert.Equal(4, await Backend.ScalarAsync("SELECT COUNT(*) FROM source_files WHERE song_id IS NULL"));
        Assert.Equal(0, await Backend.CountAsync("songs"));
        var summary = await store.GetSummaryAsync(None);
        Assert.Equal(4, summary.InvalidFiles);
        Assert.Equal(4, summary.InvalidByReason.Count);
        var stats = (await store.GetRunAsync(run, None))!.Stats;
        Assert.Equal((4L, 0L, 4L), (stats.FilesSeen, stats.FilesValid, stats.FilesInvalid));
    }

    [Fact]
    public async Task WriteBatch_CountersOfSeveralBatches_AddUpInTheRunRow()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);

        await store.WriteBatchAsync(run, [Fake.Song("a.mid", 1), Fake.NotMidi("b.mid")], None);
        await store.WriteBatchAsync(run, [Fake.Song("c.mid", Fake.Md5("a.mid"), 1), Fake.Song("a.mid", 1)], None);
        await store.WriteBatchAsync(run, [Fake.Song("d.mid", 4, 5)], None);

        var stats = (await store.GetRunAsync(run, None))!.Stats;
        Assert.Equal(new RunStats { FilesSeen = 4, FilesValid = 3, FilesInvalid = 1, FilesDuplicate = 1, BytesRead = 3012 }, stats);
    }

    [Fact]
    public async Task WriteBatch_TwoStoresWritingOverlappingSongsAtOnce_EachSongOnceWithItsInstruments()
    {
        // Two workers (separate stores, as separate processes would have) of two sources whose files share content.
        await using var first = await Backend.OpenAsync();
        await using var second = await Backend.OpenAsync();
        var a = await first.BeginRunAsync("folder:/a", None);
        var b = await second.BeginRunAsync("folder:/b", None);
        var songs = Enumerable.Range(0, 400).Select(i => (Md5: Fake.Md5($"song {i}"), Codes: new[] { i % 128, 128 })).ToArray();
        ExtractedFile[] Files(string prefix, IEnumerable<(string Md5, int[] Codes)> content) =>
            [.. content.Select((c, i) => Fake.Song($"{prefix}/{i}.mid", c.Md5, c.Codes))];
        var filesA = Files("a", songs.Take(300));
        var filesB = Files("b", songs.Skip(100).Reverse());

        var results = await Task.WhenAll(
            Task.Run(async () => await WriteInBatchesAsync(first, a, filesA)),
            Task.Run(async () => await WriteInBatchesAsync(second, b, filesB)));

        Assert.Equal(400, await Backend.CountAsync("songs"));
        Assert.Equal(800, await Backend.CountAsync("song_instruments"));
        Assert.Equal(600, await Backend.CountAsync("source_files"));
        Assert.Equal(600, results.Sum(r => r.Valid));
        Assert.Equal(200, results.Sum(r => r.Duplicates));
        var runA = (await first.GetRunAsync(a, None))!.Stats;
        var runB = (await first.GetRunAsync(b, None))!.Stats;
        Assert.Equal((300L, 300L, 200L), (runA.FilesValid, runB.FilesValid, runA.FilesDuplicate + runB.FilesDuplicate));
    }

    private static async Task<BatchResult> WriteInBatchesAsync(IScaleStore store, long run, IReadOnlyList<ExtractedFile> files)
    {
        int valid = 0, duplicates = 0;
        foreach (var chunk in files.Chunk(25))
        {
            var result = await store.WriteBatchAsync(run, chunk, None);
            valid += result.Valid;
            duplicates += result.Duplicates;
        }

        return new BatchResult(valid, 0, duplicates, 0, 0);
    }

    [Fact]
    public async Task GetFinishedKeys_AfterBatches_ReturnsKeysOfThatSourceOnly()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        var other = await store.BeginRunAsync("tar:/other.tar", None);
        await store.WriteBatchAsync(run, [Fake.Song("a.mid", 1), Fake.NotMidi("b.mid")], None);
        await store.WriteBatchAsync(other, [Fake.Song("c.mid", 1)], None);

        var keys = await store.GetFinishedKeysAsync(Source, None);

        Assert.Equal(["a.mid", "b.mid"], keys.Order(StringComparer.Ordinal));
        Assert.Equal(["c.mid"], await store.GetFinishedKeysAsync("tar:/other.tar", None));
        Assert.Empty(await store.GetFinishedKeysAsync("folder:/nothing", None));
    }

    [Fact]
    public async Task GetSummary_AfterWrites_CountsSongsReasonsAndUsage()
    {
        await using var store = await Backend.OpenAsync();
        var run = await store.BeginRunAsync(Source, None);
        await store.WriteBatchAsync(
            run,
            [Fake.Song("a.mid", 0, 128), Fake.Song("b.mid", 0), Fake.Song("c.mid", 0, 40), Fake.NotMidi("d.mid"), Fake.NotMidi("e.mid"),
             ExtractedFile.Failed("f.mid", 1, null, InvalidReasons.ReadError, "gone"), ExtractedFile.Failed("g.mid", 1, null, InvalidReasons.InternalError, "bug")],
            None);

        var summary = await store.GetSummaryAsync(None);

        Assert.Equal(3, summary.Songs);
        Assert.Equal(5, summary.SongInstruments);
        Assert.Equal(7, summary.SourceFiles);
        Assert.Equal(4, summary.InvalidFiles);
        // Most frequent first, ties in ordinal order of the code.
        Assert.Equal([new ReasonCount("not-midi", 2), new ReasonCount("internal-error", 1), new ReasonCount("read-error", 1)], summary.InvalidByReason);
        Assert.Equal(new InstrumentUsage(0, "Acoustic Grand Piano", 0, "Piano", 3), summary.InstrumentUsage[0]);
        Assert.Equal([0, 40, 128], summary.InstrumentUsage.Select(u => u.Code));
        Assert.Equal("Drums", summary.InstrumentUsage[2].FamilyName);
    }

    [Fact]
    public async Task GetSummary_EmptyStore_Zeros()
    {
        await using var store = await Backend.OpenAsync();

        var summary = await store.GetSummaryAsync(None);

        Assert.Equal((0L, 0L, 0L, 0L), (summary.Songs, summary.SongInstruments, summary.SourceFiles, summary.InvalidFiles));
        Assert.Empty(summary.InvalidByReason);
        Assert.Empty(summary.InstrumentUsage);
    }

    private static long Int(DbDataReader reader, int ordinal) => Convert.ToInt64(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    private async Task<string> DataRowsAsync(IEnumerable<string> tables)
    {
        var snapshot = await Backend.SnapshotAsync();
        var keep = false;
        var text = new System.Text.StringBuilder();
        foreach (var line in snapshot.Split('\n'))
        {
            if (line.StartsWith("-- ", StringComparison.Ordinal))
            {
                keep = tables.Any(t => line.StartsWith("-- " + t + " ", StringComparison.Ordinal));
            }

            if (keep)
            {
                text.Append(line).Append('\n');
            }
        }

        return text.ToString();
    }
}
