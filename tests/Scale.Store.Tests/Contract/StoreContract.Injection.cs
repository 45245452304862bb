using System.Text;
using Scale.Midi;

namespace Scale.Store.Tests.Contract;

/// <summary>
/// Hostile text in every text parameter of every store and reader call, and extreme numbers in every numeric one:
/// nothing but the documented argument checks may fail, what is stored comes back as it went in (PostgreSQL text
/// cannot hold NUL, which becomes U+FFFD), and no other row changes.
/// </summary>
public abstract partial class StoreContract
{
    /// <summary>Labelled hostile strings (the label names a failing case).</summary>
    public static IReadOnlyList<(string Label, string Text)> Hostile { get; } = BuildHostile();

    [Fact]
    public async Task Injection_EveryWrittenText_StoredVerbatimAndHarmless()
    {
        await using var store = await Backend.OpenAsync();
        var index = 0;
        foreach (var (label, text) in Hostile)
        {
            index++;
            var md5 = Fake.Md5("hostile " + label);
            var summary = Fake.Summary(1, 2, 3 + index);
            summary = new MidiSummary
            {
                Format = summary.Format, Tracks = summary.Tracks, Division = summary.Division, Instruments = summary.Instruments,
                NoteCounts = summary.NoteCounts, Notes = summary.Notes, Ticks = summary.Ticks, Seconds = summary.Seconds, Title = text,
            };
            // Empty sources and reason codes are refused by argument checks (documented); everything else goes in.
            var source = text.Length == 0 ? "(empty)" : text;
            var reason = text.Length == 0 ? "(empty)" : text;
            ExtractedFile[] files =
            [
                ExtractedFile.Song(text, 100, md5, text, summary),
                ExtractedFile.Failed(text + "#failed", 5, null, reason, text),
                ExtractedFile.Rejected(text + "#rejected", 5, Fake.Md5("rejected " + label), new MidiError(MidiErrorCode.NotMidi, text)),
            ];

            var run = await store.BeginRunAsync(source, None);
            var result = await store.WriteBatchAsync(run, files, new ShardSpec(0, 1), None);

            Assert.True(new BatchResult(1, 2, 0, 0, 110) == result, $"{label}: {result}");
            Assert.True(new BatchResult(0, 0, 0, 3, 0) == await store.WriteBatchAsync(run, files, None), label);
            var keys = await store.GetFinishedKeysAsync(source, None);
            Assert.True(keys.SetEquals(files.Select(f => Backend.StoredKey(f.Key))), label);
            Assert.All(keys, k => Assert.True(System.Text.Encoding.UTF8.GetByteCount(k) <= 1000 || Backend.Name == "sqlite", label));
            await store.CompleteRunAsync(run, new RunStats { FilesSeen = 3 }, RunStatus.Failed, text, None);
            var row = await store.GetRunAsync(run, None);
            Assert.True(row!.Source == Backend.StoredKey(source), label);
            Assert.True(row.Error == Backend.Stored(text), label);
            Assert.True(Backend.Stored(text) == await Backend.TextAsync($"SELECT message FROM invalid_files WHERE run_id = {run} AND md5 IS NULL"), label);
            Assert.True(Backend.StoredKey(reason) == await Backend.TextAsync($"SELECT reason_code FROM invalid_files WHERE run_id = {run} AND md5 IS NULL"), label);
            Assert.True(Backend.Stored(text) == await Backend.TextAsync($"SELECT message FROM invalid_files WHERE run_id = {run} AND md5 IS NOT NULL"), label);
        }

        var songs = Hostile.Count;
        Assert.Equal(songs, await Backend.CountAsync("songs"));
        Assert.Equal(songs * 3, await Backend.CountAsync("source_files"));
        Assert.Equal(songs * 2, await Backend.CountAsync("invalid_files"));
        Assert.Equal(songs, await Backend.CountAsync("runs"));
        Assert.Equal(129, await Backend.CountAsync("instruments"));
        var shards = await store.GetCompletedShardsAsync(None);
        Assert.Equal(Hostile.Select(h => Backend.StoredKey(h.Text.Length == 0 ? "(empty)" : h.Text)).Order(StringComparer.Ordinal), shards.Select(s => s.Source).Order(StringComparer.Ordinal));
        var summaryRows = await store.GetSummaryAsync(None);
        Assert.Equal(songs * 2, summaryRows.InvalidByReason.Sum(r => r.Files));

        // Hostile similarity settings: the measure is checked by the schema (jaccard or weighted), and nothing changes.
        var before = await Backend.SnapshotAsync();
        foreach (var (label, text) in Hostile)
        {
            await Assert.ThrowsAnyAsync<Exception>(() => store.BeginSimilarityRunAsync(new SimilaritySettings(text, 0.5, 100, 3), None));
        }

        Assert.Equal(before, await Backend.SnapshotAsync());
        var simRun = await store.BeginSimilarityRunAsync(Jaccard, None);
        foreach (var (label, text) in Hostile)
        {
            await store.FailSimilarityRunAsync(simRun, RunStatus.Failed, text, None);
            Assert.True(Backend.Stored(text) == (await store.GetSimilarityRunsAsync(1, None))[0].Error, label);
        }

        // The reader gives the same text back.
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();
        var catalog = await ToListAsync(reader.ReadCatalogAsync(None));
        Assert.Equal(songs, catalog.Count);
        foreach (var (label, text) in Hostile)
        {
            var song = await reader.GetSongAsync(Fake.Md5("hostile " + label), None);
            Assert.True(song is not null, label);
            Assert.True(song.Name == Backend.Stored(text) && song.Title == Backend.Stored(text), label);
            Assert.Contains(catalog, s => s.Id == song.Id && s.Name == song.Name);
            Assert.True(await reader.GetSongAsync(text, None) is null, label);
            Assert.True(await reader.GetSimilarAsync(text, 0, 10, None) is null, label);
        }

        Assert.Equal(songs, (await reader.GetRunsAsync(int.MaxValue, None)).Count);
        Assert.Equal(songs * 2, (await reader.GetSummaryAsync(None)).InvalidFiles);
    }

    [Fact]
    public async Task Injection_EveryLookup_NoMatchNoErrorNothingChanged()
    {
        var (store, run) = await OpenWithSongsAsync(FourSongs());
        await using var _1 = store;
        var sets = await store.GetSongSetsAsync(None);
        await store.ReplaceSimilaritiesAsync(await store.BeginSimilarityRunAsync(Jaccard, None), ListsFor(sets, 3), () => new SimilarityStats(), None);
        await using var reader = Backend.CreateReader();
        await Backend.SyncReadersAsync();
        var before = await Backend.SnapshotAsync();
        var piano = Fake.Md5("0/piano.mid");

        foreach (var (label, text) in Hostile)
        {
            Assert.True(await reader.GetSongAsync(text, None) is null, label);
            Assert.True(text.Length == 0 || await reader.GetSongAsync(piano + text, None) is null, label);
            Assert.True(await reader.GetSimilarAsync(text, 0, 10, None) is null, label);
            Assert.True(await reader.GetSimilarAsync(text, int.MaxValue, int.MaxValue, None) is null, label);
            if (text.Length > 0)
            {
                Assert.True((await store.GetFinishedKeysAsync(text, None)).Count == 0, label);
            }
        }

        foreach (var code in new[] { int.MinValue, short.MinValue - 1, -1, 129, short.MaxValue, short.MaxValue + 1, int.MaxValue })
        {
            foreach (var limit in new[] { 0, 1, int.MaxValue })
            {
                Assert.Empty(await reader.GetSongsWithInstrumentAsync(code, limit, None));
            }
        }

        Assert.Equal(2, (await reader.GetSongsWithInstrumentAsync(128, int.MaxValue, None)).Count);
        Assert.Empty((await reader.GetSimilarAsync(piano, int.MaxValue, int.MaxValue, None))!.Items);
        Assert.Equal(3, (await reader.GetSimilarAsync(piano, 0, int.MaxValue, None))!.Items.Count);
        Assert.Single(await reader.GetRunsAsync(int.MaxValue, None));
        Assert.Single(await reader.GetSimilarityRunsAsync(int.MaxValue, None));
        Assert.Single(await store.GetRunsAsync(int.MaxValue, None));
        Assert.Single(await store.GetSimilarityRunsAsync(int.MaxValue, None));
        foreach (var id in new[] { long.MinValue, -1, 0, long.MaxValue })
        {
            Assert.Null(await store.GetRunAsync(id, None));
            await Assert.ThrowsAsync<InvalidOperationException>(() => store.WriteBatchAsync(id, [Fake.Song("x.mid", 1)], None));
            await Assert.ThrowsAsync<InvalidOperationException>(() => store.CompleteRunAsync(id, new RunStats(), RunStatus.Completed, "'; DROP TABLE runs; --", None));
            await Assert.ThrowsAsync<InvalidOperationException>(() => store.ReplaceSimilaritiesAsync(id, [], () => new SimilarityStats(), None));
            await store.FailSimilarityRunAsync(id, RunStatus.Failed, "'; DROP TABLE similarity_runs; --", None);
        }

        Assert.Equal(before, await Backend.SnapshotAsync());
        Assert.True(run > 0);
    }

    private static List<(string, string)> BuildHostile()
    {
        var random = new Random(7);
        var unicode = new StringBuilder();
        while (unicode.Length < 3000)
        {
            var c = random.Next(0x20, 0x2FFFF);
            if (c is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            unicode.Append(char.ConvertFromUtf32(c));
        }

        return
        [
            ("drop table", "'; DROP TABLE songs; --"),
            ("double quote or", "\" OR 1=1 --"),
            ("quote or", "' OR '1'='1"),
            ("union", "x' UNION SELECT id, name FROM songs --"),
            ("stacked", "a'); DELETE FROM runs; INSERT INTO runs (source) VALUES ('x"),
            ("comment", "/* */ -- #"),
            ("backslash quote", "\\'; SELECT pg_sleep(30); --"),
            ("dollar quote", "$$; DROP TABLE songs; $$"),
            ("tagged dollar", "$x$ $1 $2 ? @p :name"),
            ("like wildcards", "%_%[a-z]*"),
            ("escape string", "E'\\x27' \\x00 \\0 \\u0000"),
            ("nul", "\0"),
            ("nul inside", "before\0after"),
            ("control", "\r\n\t\b\f\v\u001b[31m"),
            ("unicode", "🎹🥁 Ünïcödé 日本語 עברית عربي \u202Eevil\u202C \uFEFF \u2028 \u0301e"),
            ("lone-ish", "\uFFFD\uFFFE"),
            ("lone surrogates", "a\uD800b\uDC00c"),
            ("html", "<script>alert(1)</script>&amp;"),
            ("null words", "NULL"),
            ("semicolon", ";"),
            ("quote", "'"),
            ("dquote", "\""),
            ("empty", string.Empty),
            ("spaces", "   "),
            ("long repeated", string.Concat(Enumerable.Repeat("'; DROP TABLE songs; -- ", 5000))),
            ("long random unicode", unicode.ToString()),
        ];
    }
}
