using System.Diagnostics;
using System.Globalization;
using Scale.Midi;
using Xunit.Abstractions;

namespace Scale.Store.Tests;

/// <summary>
/// Lakh-sized write throughput: 176,581 synthetic songs with about 6 instruments each (≈ 1M song_instruments
/// rows) in batches of 10,000 (the pipeline's default). The full size runs when SCALE_PERF=1; otherwise a tenth, to keep the suite quick.
/// </summary>
public sealed class WriteThroughputTests(ITestOutputHelper output) : IDisposable
{
    private const int LakhFiles = 176_581;
    private readonly TempDb _db = new();

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task WriteBatch_LakhSizedRun_EveryRowWrittenAndTimeReported()
    {
        var full = Environment.GetEnvironmentVariable("SCALE_PERF") == "1";
        var count = full ? LakhFiles : LakhFiles / 10;
        var files = MakeFiles(count);
        var instrumentRows = 0L;
        foreach (var file in files)
        {
            instrumentRows += file.Summary?.Instruments.Count ?? 0;
        }

        await using var store = await _db.OpenAsync();
        var run = await store.BeginRunAsync("folder:/lakh", CancellationToken.None);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var size = int.Parse(Environment.GetEnvironmentVariable("SCALE_PERF_BATCH") ?? "10000", CultureInfo.InvariantCulture);
        var batch = new List<ExtractedFile>(size);
        for (var i = 0; i < files.Count; i++)
        {
            batch.Add(files[i]);
            if (batch.Count == size || i == files.Count - 1)
            {
                await store.WriteBatchAsync(run, batch, CancellationToken.None);
                batch.Clear();
            }
        }

        watch.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var seconds = watch.Elapsed.TotalSeconds;
        var rows = count + instrumentRows + count;
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{count:N0} files ({instrumentRows:N0} song_instruments rows, {rows:N0} rows in all) in {seconds:F2} s: " +
            $"{count / seconds:N0} files/s, {rows / seconds:N0} rows/s; process CPU {cpu.TotalSeconds:F2} s"));
        Assert.Equal(count, _db.Scalar("SELECT COUNT(*) FROM source_files"));
        Assert.Equal(instrumentRows, _db.Scalar("SELECT COUNT(*) FROM song_instruments"));
        // The time is reported, not asserted: this machine is shared, and speed is judged in bench/, by ratios.
    }

    private static List<ExtractedFile> MakeFiles(int count)
    {
        var random = new Random(42);
        var files = new List<ExtractedFile>(count);
        var codes = new List<int>(12);
        for (var i = 0; i < count; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"{i % 16:x}/{i:D8}.mid");
            if (i % 100 == 99)
            {
                files.Add(ExtractedFile.Song(key, 500, Fake.Md5(key), "x", MidiSummary.Rejected(MidiErrorCode.NotMidi, "Not MIDI.")));
                continue;
            }

            codes.Clear();
            var n = 1 + random.Next(11);
            for (var j = 0; j < n; j++)
            {
                codes.Add(j == 0 && random.Next(3) > 0 ? 128 : random.Next(128));
            }

            var unique = codes.Distinct().ToArray();
            files.Add(ExtractedFile.Song(key, 35_000, Fake.Md5(key), "Song " + key, Fake.Summary(unique)));
        }

        return files;
    }
}
