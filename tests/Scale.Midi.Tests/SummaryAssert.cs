using System.Globalization;

namespace Scale.Midi.Tests;

/// <summary>Checks every summary must pass, and a full text form of a summary for equality checks.</summary>
internal static class SummaryAssert
{
    /// <summary>Every field, so that two summaries with the same text are the same result.</summary>
    public static string Describe(MidiSummary summary) => string.Join(
        " | ",
        summary.Format.ToString(CultureInfo.InvariantCulture),
        summary.Tracks.ToString(CultureInfo.InvariantCulture),
        summary.Division.ToString(CultureInfo.InvariantCulture),
        summary.Instruments.ToString(),
        string.Join(',', summary.NoteCounts),
        summary.Notes.ToString(CultureInfo.InvariantCulture),
        summary.Ticks.ToString(CultureInfo.InvariantCulture),
        summary.Seconds?.ToString("R", CultureInfo.InvariantCulture) ?? "null",
        summary.Title ?? "null",
        summary.Warnings.ToString(),
        summary.Error?.ReasonCode ?? "ok",
        summary.Error?.Message ?? string.Empty);

    /// <summary>A rejected file has a known code and nothing else; a valid one has consistent instruments and counts.</summary>
    public static void Consistent(MidiSummary summary, string what)
    {
        if (summary.Error is { } error)
        {
            Assert.True(MidiCodes.AllErrors.Contains(error.Code), $"{what}: unknown error code {error.Code}");
            Assert.False(string.IsNullOrWhiteSpace(error.Message), what);
            Assert.True(summary.Instruments.IsEmpty, what);
            Assert.Empty(summary.NoteCounts);
            return;
        }

        Assert.True(summary.Format >= 0, what);
        Assert.True(summary.Tracks >= 0 && summary.Ticks >= 0, what);
        Assert.Equal(GeneralMidi.InstrumentCount, summary.NoteCounts.Count);
        Assert.All(summary.Instruments.ToArray(), code => Assert.InRange(code, 0, GeneralMidi.DrumKit));
        long total = 0;
        for (var code = 0; code < GeneralMidi.InstrumentCount; code++)
        {
            var count = summary.NoteCounts[code];
            Assert.True(count >= 0, $"{what}: negative count for {code}");
            Assert.True(count > 0 == summary.Instruments.Contains(code), $"{what}: instrument {code} has {count} notes but Contains says {summary.Instruments.Contains(code)}");
            total += count;
        }

        Assert.Equal(summary.Notes, total);
        Assert.Equal(summary.Notes == 0, summary.Warnings.HasFlag(MidiWarnings.NoNotes));
        if (summary.Seconds is { } seconds)
        {
            Assert.True(double.IsFinite(seconds) && seconds >= 0, $"{what}: seconds {seconds}");
        }
    }
}
