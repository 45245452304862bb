using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Scale.Midi;

namespace Scale.Store.Tests;

/// <summary>A temp folder with a database path, deleted on dispose.</summary>
internal sealed class TempDb : IDisposable
{
    public TempDb()
    {
        Folder = Path.Combine(Path.GetTempPath(), "scale-store-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        DbPath = Path.Combine(Folder, "scale.db");
    }

    public string Folder { get; }

    public string DbPath { get; }

    public Task<IScaleStore> OpenAsync(TimeProvider? time = null) =>
        ScaleStoreFactory.OpenAsync(DbPath, time, CancellationToken.None);

    /// <summary>A separate plain connection to look at the tables.</summary>
    public SqliteConnection Inspect()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public long Scalar(string sql)
    {
        using var connection = Inspect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Synthetic extraction results: no MIDI parsing needed to test the store.</summary>
internal static class Fake
{
#pragma warning disable CA5351 // MD5 is Lakh's content id, not a security measure.
    public static string Md5(string seed) =>
        Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(seed)));
#pragma warning restore CA5351

    public static MidiSummary Summary(params int[] codes)
    {
        var counts = new int[GeneralMidi.InstrumentCount];
        long notes = 0;
        foreach (var code in codes)
        {
            counts[code] = 10 + code;
            notes += counts[code];
        }

        return new MidiSummary
        {
            Format = 1,
            Tracks = codes.Length + 1,
            Division = 96,
            Instruments = InstrumentSet.Of(codes),
            NoteCounts = counts,
            Notes = notes,
            Ticks = 96 * 4,
            Seconds = 2.0,
            Title = "Title " + string.Join('-', codes),
            Warnings = MidiWarnings.MissingEndOfTrack | MidiWarnings.TrailingBytes,
        };
    }

    public static ExtractedFile Song(string key, string md5, params int[] codes) =>
        ExtractedFile.Song(key, 1000, md5, System.IO.Path.GetFileNameWithoutExtension(key), Summary(codes));

    public static ExtractedFile Song(string key, params int[] codes) => Song(key, Md5(key), codes);

    public static ExtractedFile NotMidi(string key) =>
        ExtractedFile.Song(key, 12, Md5(key), "ignored", MidiSummary.Rejected(MidiErrorCode.NotMidi, "HTML, not MIDI."));
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    private DateTimeOffset _now = now;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
