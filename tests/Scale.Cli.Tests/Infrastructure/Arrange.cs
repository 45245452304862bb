using System.Globalization;
using Scale.Testing;

namespace Scale.Cli.Tests.Infrastructure;

/// <summary>The commands the tests arrange with: <c>scale synth</c>, whose success is a precondition.</summary>
public static class Arrange
{
    /// <summary>Writes a synthetic corpus into <paramref name="outDir"/> with <c>scale synth</c>; it must succeed.</summary>
    public static async Task SynthAsync(string workingDirectory, string outDir, int files, long seed, params string[] extra)
    {
        var run = await ScaleProcess.RunAsync(workingDirectory,
        [
            "synth", "--files", files.ToString(CultureInfo.InvariantCulture), "--out", outDir,
            "--seed", seed.ToString(CultureInfo.InvariantCulture), .. extra,
        ]);
        Assert.True(run.ExitCode == 0, $"synth failed: {run}");
    }

    /// <summary>The columns of a song row that do not depend on which run stored it.</summary>
    public const string SongColumns =
        "id, name, title, format, tracks, division, ticks, seconds, bytes, note_count, instrument_count, warnings, " +
        "instrument_bits_lo, instrument_bits_mid, instrument_bits_hi";

    /// <summary>Songs and their instruments, comparable between databases filled from different sources.</summary>
    public static IReadOnlyList<string> SongSnapshot(ScaleDb db)
    {
        ArgumentNullException.ThrowIfNull(db);
        return
        [
            .. db.Rows($"SELECT {SongColumns} FROM songs ORDER BY id;"),
            .. db.Rows("SELECT song_id, instrument_code, notes FROM song_instruments ORDER BY song_id, instrument_code;"),
        ];
    }
}
