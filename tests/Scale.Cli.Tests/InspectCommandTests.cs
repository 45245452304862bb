using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Scale.Cli.Tests.Infrastructure;
using Scale.Testing;

namespace Scale.Cli.Tests;

/// <summary><c>scale inspect</c> on hand-built files: what each file holds is known from how it was built.</summary>
public sealed class InspectCommandTests : IDisposable
{
    private const string Title = "Harbour Lights";

    // Track 1 plays 3 notes on channel 0 as program 40 (Violin), then 2 on channel 1 as program 33
    // (Electric Bass, finger); track 2 plays 4 drum notes on channel 10. Track 0 ends last, at tick 384.
    private static readonly int[] SongInstruments = [33, 40, 128];
    private static readonly Dictionary<string, int> SongNotes = new(StringComparer.Ordinal) { ["33"] = 2, ["40"] = 3, ["128"] = 4 };
    private const int SongDivision = 96;
    private const int SongTicks = 384;

    // 384 ticks at 96 per quarter and 500,000 us per quarter: 4 quarters of 0.5 s.
    private const double SongSeconds = 2.0;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task InspectJson_ValidFormat1Song_ReportsIdFormatTracksInstrumentsNotesTitle()
    {
        var bytes = Song();
        var path = _dir.Write("song.mid", bytes);

        var result = await InspectJsonAsync(path);

        var o = Assert.Single(result).Value;
        Assert.Equal(path, o.GetProperty("path").GetString());
        Assert.Equal(Md5(bytes), o.GetProperty("id").GetString());
        Assert.Equal(bytes.Length, o.GetProperty("bytes").GetInt64());
        Assert.Equal(1, o.GetProperty("format").GetInt32());
        Assert.Equal(3, o.GetProperty("tracks").GetInt32());
        Assert.Equal(SongDivision, o.GetProperty("division").GetInt32());
        Assert.Equal(SongInstruments, Ints(o.GetProperty("instruments")));
        Assert.Equal(SongNotes, Notes(o));
        Assert.Equal(SongTicks, o.GetProperty("ticks").GetInt64());
        Assert.Equal(SongSeconds, o.GetProperty("seconds").GetDouble(), 3);
        Assert.Equal(Title, o.GetProperty("title").GetString());
        Assert.Empty(Strings(o.GetProperty("warnings")));
        Assert.Equal(JsonValueKind.Null, o.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task InspectJson_HtmlPage_RejectedAsNotMidiWithMessage()
    {
        var bytes = Html();
        var path = _dir.Write("page.mid", bytes);

        var o = Assert.Single(await InspectJsonAsync(path)).Value;

        Assert.Equal(Md5(bytes), o.GetProperty("id").GetString());
        AssertRejected(o, "not-midi");
    }

    [Fact]
    public async Task InspectJson_EmptyFile_RejectedAsEmptyFile()
    {
        var path = _dir.Write("empty.mid", []);

        var o = Assert.Single(await InspectJsonAsync(path)).Value;

        Assert.Equal(Md5([]), o.GetProperty("id").GetString());
        Assert.Equal(0, o.GetProperty("bytes").GetInt64());
        AssertRejected(o, "empty-file");
    }

    [Fact]
    public async Task InspectJson_GzipCompressedSong_SameSongWithGzipWarningAndIdOfCompressedBytes()
    {
        var bytes = Gzip(Song());
        var path = _dir.Write("song-gz.mid", bytes);

        var o = Assert.Single(await InspectJsonAsync(path)).Value;

        Assert.Equal(Md5(bytes), o.GetProperty("id").GetString());
        Assert.Equal(bytes.Length, o.GetProperty("bytes").GetInt64());
        Assert.Equal(1, o.GetProperty("format").GetInt32());
        Assert.Equal(3, o.GetProperty("tracks").GetInt32());
        Assert.Equal(SongInstruments, Ints(o.GetProperty("instruments")));
        Assert.Equal(SongNotes, Notes(o));
        Assert.Equal(Title, o.GetProperty("title").GetString());
        Assert.Equal(["gzip-compressed"], Strings(o.GetProperty("warnings")));
        Assert.Equal(JsonValueKind.Null, o.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task InspectJson_GzipSongWithNoSizeLimit_StillReadAsTheSong()
    {
        var path = _dir.Write("song-gz.mid", Gzip(Song()));

        var o = Assert.Single(await InspectJsonAsync("--max-file-bytes", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), path)).Value;

        Assert.Equal(JsonValueKind.Null, o.GetProperty("error").ValueKind);
        Assert.Equal(SongInstruments, Ints(o.GetProperty("instruments")));
        Assert.Equal(["gzip-compressed"], Strings(o.GetProperty("warnings")));
    }

    [Fact]
    public async Task InspectJson_FileOverMaxFileBytes_TooLargeWithoutIdAndUnread()
    {
        var bytes = Song();
        var path = _dir.Write("song.mid", bytes);

        var o = Assert.Single(await InspectJsonAsync("--max-file-bytes", (bytes.Length - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), path)).Value;

        Assert.Equal(JsonValueKind.Null, o.GetProperty("id").ValueKind);
        Assert.Equal(bytes.Length, o.GetProperty("bytes").GetInt64());
        AssertRejected(o, "too-large");
    }

    [Fact]
    public async Task InspectJson_Folder_OneLinePerMidiFileRecursivelyOtherFilesLeftOut()
    {
        var song = Song();
        var html = Html();
        var gzip = Gzip(song);
        var expectedIds = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [_dir.Write("corpus/a/song.mid", song)] = Md5(song),
            [_dir.Write("corpus/a/page.mid", html)] = Md5(html),
            [_dir.Write("corpus/empty.mid", [])] = Md5([]),
            [_dir.Write("corpus/b/c/compressed.MIDI", gzip)] = Md5(gzip),
        };
        _dir.Write("corpus/readme.txt", Encoding.ASCII.GetBytes("not a song"));
        _dir.Write("corpus/a/cover.jpg", [0xFF, 0xD8, 0xFF]);

        var result = await InspectJsonAsync(_dir.Combine("corpus"));

        Assert.Equal(expectedIds.Keys.Order(StringComparer.Ordinal), result.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, id) in expectedIds)
        {
            Assert.Equal(id, result[path].GetProperty("id").GetString());
        }

        Assert.Equal(SongInstruments, Ints(result[_dir.Combine("corpus/a/song.mid")].GetProperty("instruments")));
        Assert.Equal(SongInstruments, Ints(result[_dir.Combine("corpus/b/c/compressed.MIDI")].GetProperty("instruments")));
        AssertRejected(result[_dir.Combine("corpus/a/page.mid")], "not-midi");
        AssertRejected(result[_dir.Combine("corpus/empty.mid")], "empty-file");
    }

    [Fact]
    public async Task InspectText_SongAndHtml_ReadableLinesWithPathIdInstrumentNamesAndReason()
    {
        var song = Song();
        var html = Html();
        var songPath = _dir.Write("song.mid", song);
        var htmlPath = _dir.Write("page.mid", html);

        var run = await ScaleProcess.RunAsync(_dir.Path, ["inspect", songPath, htmlPath]);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.False(run.HasStackTrace, run.ToString());
        Assert.Contains(songPath, run.Stdout, StringComparison.Ordinal);
        Assert.Contains(htmlPath, run.Stdout, StringComparison.Ordinal);
        Assert.Contains(Md5(song), run.Stdout, StringComparison.Ordinal);
        Assert.Contains(Md5(html), run.Stdout, StringComparison.Ordinal);
        Assert.Contains(Title, run.Stdout, StringComparison.Ordinal);
        // General MIDI names of programs 40 and 33 (GM numbers 41 and 34).
        Assert.Contains("Violin", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("Electric Bass (finger)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("not-midi", run.Stdout, StringComparison.Ordinal);
        // Text mode is for people: no JSON objects.
        Assert.DoesNotContain(run.StdoutLines, l => l.StartsWith('{'));
    }

    [Fact]
    public async Task Inspect_MissingPath_ExitCode2AndOneLineOnStderrNamingIt()
    {
        var song = _dir.Write("song.mid", Song());
        var missing = _dir.Combine("no-such-song.mid");

        var run = await ScaleProcess.RunAsync(_dir.Path, ["inspect", "--json", song, missing]);

        Assert.True(run.ExitCode == 2, run.ToString());
        var line = Assert.Single(run.StderrLines);
        Assert.Contains(missing, line, StringComparison.Ordinal);
        Assert.False(run.HasStackTrace, run.ToString());
        Assert.Empty(run.StdoutLines);
    }

    /// <summary>Runs inspect --json; every stdout line must be one JSON object. Returns them by path.</summary>
    private async Task<Dictionary<string, JsonElement>> InspectJsonAsync(params string[] paths)
    {
        var run = await ScaleProcess.RunAsync(_dir.Path, ["inspect", "--json", .. paths]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.False(run.HasStackTrace, run.ToString());
        var objects = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var line in run.StdoutLines)
        {
            using var document = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
            var path = document.RootElement.GetProperty("path").GetString()!;
            Assert.True(objects.TryAdd(path, document.RootElement.Clone()), $"'{path}' reported twice.\n{run}");
        }

        return objects;
    }

    private static void AssertRejected(JsonElement o, string code)
    {
        var error = o.GetProperty("error");
        Assert.Equal(JsonValueKind.Object, error.ValueKind);
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.Null, o.GetProperty("format").ValueKind);
        Assert.Equal(JsonValueKind.Null, o.GetProperty("tracks").ValueKind);
        Assert.Empty(Ints(o.GetProperty("instruments")));
        Assert.Empty(o.GetProperty("notes").EnumerateObject());
    }

    private static byte[] Song() =>
        new SmfBuilder(format: 1, division: SongDivision)
            .Track(t => t.TrackName(0, Title).Tempo(0, 500_000).EndOfTrack(SongTicks))
            .Track(t => t
                .ProgramChange(0, channel: 0, program: 40)
                .Note(0, 0, 60, 100, 48).Note(0, 0, 62, 100, 48).Note(0, 0, 64, 100, 48)
                .ProgramChange(0, channel: 1, program: 33)
                .Note(0, 1, 40, 90, 96).Note(0, 1, 43, 90, 96)
                .EndOfTrack())
            .Track(t => t
                .Note(0, 9, 36, 100, 24).Note(0, 9, 38, 100, 24).Note(0, 9, 42, 100, 24).Note(0, 9, 42, 100, 24)
                .EndOfTrack())
            .Build();

    private static byte[] Html() => Encoding.UTF8.GetBytes(
        "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n");

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

#pragma warning disable CA5351 // MD5 is the corpus's content id (Lakh names files by it), not security.
    private static string Md5(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));
#pragma warning restore CA5351

    private static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    private static Dictionary<string, int> Notes(JsonElement o) =>
        o.GetProperty("notes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
}
