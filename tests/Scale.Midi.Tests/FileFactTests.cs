using Scale.Testing;

namespace Scale.Midi.Tests;

/// <summary>The per-file facts besides instruments: length in ticks and seconds, and the title candidate.</summary>
public class FileFactTests
{
    /// <summary>Two tracks ending at ticks 100 and 300; the header's format byte (index 9) is the parameter.</summary>
    private static byte[] TwoTracksOfDifferentLength(byte format) =>
    [
        0x4D, 0x54, 0x68, 0x64,       // MThd
        0x00, 0x00, 0x00, 0x06,       // header length 6
        0x00, format,                 // format
        0x00, 0x02,                   // 2 tracks
        0x00, 0x60,                   // division 96
        0x4D, 0x54, 0x72, 0x6B,       // MTrk (track 0)
        0x00, 0x00, 0x00, 0x04,       // track length 4
        0x64, 0xFF, 0x2F, 0x00,       // tick 100: End of Track
        0x4D, 0x54, 0x72, 0x6B,       // MTrk (track 1)
        0x00, 0x00, 0x00, 0x0D,       // track length 13
        0x00, 0x90, 0x3C, 0x64,       // tick 0: Note On
        0x82, 0x2C, 0x80, 0x3C, 0x40, // tick 300 (delta 2*128+44): Note Off
        0x00, 0xFF, 0x2F, 0x00,       // End of Track
    ];

    [Fact]
    public void Extract_Format1_TicksIsLatestTrackEnd()
    {
        var summary = MidiExtractor.ExtractOnce(TwoTracksOfDifferentLength(format: 1));

        Assert.Null(summary.Error);
        Assert.Equal(300, summary.Ticks);
        Assert.Equal(300 * 0.5 / 96, summary.Seconds); // no tempo: 500000 us per quarter
    }

    [Fact]
    public void Extract_Format2_TicksIsSumOfTrackLengths()
    {
        var summary = MidiExtractor.ExtractOnce(TwoTracksOfDifferentLength(format: 2));

        Assert.Null(summary.Error);
        Assert.Equal(400, summary.Ticks);
        Assert.Equal(400 * 0.5 / 96, summary.Seconds);
    }

    [Fact]
    public void Extract_TempoChangeMidSong_SecondsFollowTempoMap()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,                         // MThd
            0x00, 0x00, 0x00, 0x06,                         // header length 6
            0x00, 0x00,                                     // format 0
            0x00, 0x01,                                     // 1 track
            0x00, 0x60,                                     // division 96
            0x4D, 0x54, 0x72, 0x6B,                         // MTrk
            0x00, 0x00, 0x00, 0x1C,                         // track length 28
            0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,       // tick 0: tempo 500000 us/quarter
            0x81, 0x40, 0xFF, 0x51, 0x03, 0x03, 0xD0, 0x90, // tick 192 (delta 128+64): tempo 250000
            0x00, 0x90, 0x3C, 0x64,                         // tick 192: Note On
            0x81, 0x40, 0x80, 0x3C, 0x40,                   // tick 384: Note Off
            0x00, 0xFF, 0x2F, 0x00,                         // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        // 192 ticks = 2 quarters at 0.5 s, then 2 quarters at 0.25 s.
        Assert.Null(summary.Error);
        Assert.Equal(384, summary.Ticks);
        Assert.Equal(1.5, summary.Seconds);
    }

    [Fact]
    public void Extract_Format1TempoChangesInTwoTracks_FormOneTempoMap()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,                         // MThd
            0x00, 0x00, 0x00, 0x06,                         // header length 6
            0x00, 0x01,                                     // format 1
            0x00, 0x02,                                     // 2 tracks
            0x00, 0x60,                                     // division 96
            0x4D, 0x54, 0x72, 0x6B,                         // MTrk (track 0)
            0x00, 0x00, 0x00, 0x0B,                         // track length 11
            0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,       // tick 0: tempo 500000
            0x00, 0xFF, 0x2F, 0x00,                         // End of Track
            0x4D, 0x54, 0x72, 0x6B,                         // MTrk (track 1)
            0x00, 0x00, 0x00, 0x15,                         // track length 21
            0x81, 0x40, 0xFF, 0x51, 0x03, 0x03, 0xD0, 0x90, // tick 192: tempo 250000
            0x00, 0x90, 0x3C, 0x64,                         // tick 192: Note On
            0x81, 0x40, 0x80, 0x3C, 0x40,                   // tick 384: Note Off
            0x00, 0xFF, 0x2F, 0x00,                         // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(1.5, summary.Seconds);
    }

    [Fact]
    public void Extract_Format2_EachTrackHasItsOwnTempoMap()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,                   // MThd
            0x00, 0x00, 0x00, 0x06,                   // header length 6
            0x00, 0x02,                               // format 2
            0x00, 0x02,                               // 2 tracks
            0x00, 0x60,                               // division 96
            0x4D, 0x54, 0x72, 0x6B,                   // MTrk (track 0)
            0x00, 0x00, 0x00, 0x0B,                   // track length 11
            0x00, 0xFF, 0x51, 0x03, 0x03, 0xD0, 0x90, // tick 0: tempo 250000
            0x60, 0xFF, 0x2F, 0x00,                   // tick 96: End of Track -> 0.25 s
            0x4D, 0x54, 0x72, 0x6B,                   // MTrk (track 1)
            0x00, 0x00, 0x00, 0x04,                   // track length 4
            0x60, 0xFF, 0x2F, 0x00,                   // tick 96: End of Track at the default 500000 -> 0.5 s
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(192, summary.Ticks);
        Assert.Equal(0.75, summary.Seconds);
    }

    [Theory]
    [InlineData(0xE7, 0x28, 2500, 2.5)]      // -25 fps, 40 ticks per frame: 1000 ticks/s
    [InlineData(0xE8, 0x50, 3840, 2.0)]      // -24 fps, 80 ticks per frame: 1920 ticks/s
    [InlineData(0xE2, 0x04, 240, 2.0)]       // -30 fps, 4 ticks per frame: 120 ticks/s
    [InlineData(0xE3, 0x64, 2997, 1.0)]      // -29 = 30 drop-frame = 29.97 fps, 100 ticks per frame
    public void Extract_SmpteDivision_SecondsFromFramesIgnoringTempo(byte framesByte, byte ticksPerFrame, int ticks, double seconds)
    {
        var length = SmfVlq.Encode(ticks);
        byte[] track =
        [
            0x00, 0xFF, 0x51, 0x03, 0x03, 0xD0, 0x90, // tick 0: tempo 250000 (does not apply to SMPTE time)
            0x00, 0x90, 0x3C, 0x64,                   // tick 0: Note On
            .. length, 0x80, 0x3C, 0x40,              // tick <ticks>: Note Off
            0x00, 0xFF, 0x2F, 0x00,                   // End of Track
        ];
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,         // MThd
            0x00, 0x00, 0x00, 0x06,         // header length 6
            0x00, 0x00,                     // format 0
            0x00, 0x01,                     // 1 track
            framesByte, ticksPerFrame,      // SMPTE division: -frames per second, ticks per frame
            0x4D, 0x54, 0x72, 0x6B,         // MTrk
            0x00, 0x00, 0x00, (byte)track.Length,
            .. track,
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal((framesByte << 8) | ticksPerFrame, summary.Division);
        Assert.Equal(ticks, summary.Ticks);
        Assert.NotNull(summary.Seconds);
        Assert.Equal(seconds, summary.Seconds.Value, precision: 9);
    }

    [Fact]
    public void Extract_PlaceholdersThenLatin1Name_TitleIsLatin1Name()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,                         // MThd
            0x00, 0x00, 0x00, 0x06,                         // header length 6
            0x00, 0x01,                                     // format 1
            0x00, 0x02,                                     // 2 tracks
            0x00, 0x60,                                     // division 96
            0x4D, 0x54, 0x72, 0x6B,                         // MTrk (track 0)
            0x00, 0x00, 0x00, 0x29,                         // track length 41
            0x00, 0xFF, 0x03, 0x08,                         // Track Name, 8 bytes:
            0x55, 0x6E, 0x74, 0x69, 0x74, 0x6C, 0x65, 0x64, //   "Untitled" (a placeholder)
            0x00, 0xFF, 0x01, 0x07,                         // Text, 7 bytes:
            0x54, 0x72, 0x61, 0x63, 0x6B, 0x20, 0x31,       //   "Track 1" (a placeholder)
            0x00, 0xFF, 0x03, 0x0A,                         // Track Name, 10 bytes:
            0x43, 0x61, 0x66, 0xE9, 0x20,                   //   "Caf\xE9 " (0xE9 = Latin-1 e acute; not UTF-8)
            0x42, 0x6C, 0x75, 0x65, 0x73,                   //   "Blues"
            0x00, 0xFF, 0x2F, 0x00,                         // End of Track
            0x4D, 0x54, 0x72, 0x6B,                         // MTrk (track 1)
            0x00, 0x00, 0x00, 0x15,                         // track length 21
            0x00, 0xFF, 0x03, 0x05,                         // Track Name, 5 bytes:
            0x50, 0x69, 0x61, 0x6E, 0x6F,                   //   "Piano" (track 1: an instrument, not the song)
            0x00, 0x90, 0x3C, 0x64,                         // Note On
            0x60, 0x80, 0x3C, 0x40,                         // Note Off
            0x00, 0xFF, 0x2F, 0x00,                         // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(MidiWarnings.None, summary.Warnings);
        Assert.Equal("Caf\u00E9 Blues", summary.Title);
    }

    [Fact]
    public void Extract_NameOnlyInLaterTrack_NoTitle()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,             // MThd
            0x00, 0x00, 0x00, 0x06,             // header length 6
            0x00, 0x01,                         // format 1
            0x00, 0x02,                         // 2 tracks
            0x00, 0x60,                         // division 96
            0x4D, 0x54, 0x72, 0x6B,             // MTrk (track 0)
            0x00, 0x00, 0x00, 0x0D,             // track length 13
            0x00, 0xFF, 0x03, 0x05,             // Track Name, 5 bytes:
            0x54, 0x65, 0x6D, 0x70, 0x6F,       //   "Tempo" (a placeholder)
            0x00, 0xFF, 0x2F, 0x00,             // End of Track
            0x4D, 0x54, 0x72, 0x6B,             // MTrk (track 1)
            0x00, 0x00, 0x00, 0x16,             // track length 22
            0x00, 0xFF, 0x03, 0x06,             // Track Name, 6 bytes:
            0x4D, 0x65, 0x6C, 0x6F, 0x64, 0x79, //   "Melody"
            0x00, 0x90, 0x3C, 0x64,             // Note On
            0x60, 0x80, 0x3C, 0x40,             // Note Off
            0x00, 0xFF, 0x2F, 0x00,             // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Null(summary.Title);
    }

    [Theory]
    [InlineData("Untitled")]
    [InlineData("untitled")]
    [InlineData("Track 1")]
    [InlineData("TRACK 12")]
    [InlineData("Sequence 3")]
    [InlineData("   ")]
    [InlineData("---")]
    public void Extract_PlaceholderBeforeRealText_PlaceholderSkipped(string placeholder)
    {
        var file = new SmfBuilder(format: 0)
            .Track(t => t.TrackName(0, placeholder).Text(0, "Moonlight Sonata").Note(0, 0, 60, 100, 96).EndOfTrack())
            .Build();

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Equal("Moonlight Sonata", summary.Title);
    }

    [Fact]
    public void Extract_Utf8TrackName_DecodedAsUtf8()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,       // MThd
            0x00, 0x00, 0x00, 0x06,       // header length 6
            0x00, 0x00,                   // format 0
            0x00, 0x01,                   // 1 track
            0x00, 0x60,                   // division 96
            0x4D, 0x54, 0x72, 0x6B,       // MTrk
            0x00, 0x00, 0x00, 0x0E,       // track length 14
            0x00, 0xFF, 0x03, 0x06,       // Track Name, 6 bytes:
            0x46, 0xC3, 0xBC, 0x72, 0x20, //   "F\u00FCr " (C3 BC = UTF-8 u umlaut)
            0x45,                         //   "E"
            0x00, 0xFF, 0x2F, 0x00,       // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Equal("F\u00FCr E", summary.Title);
    }
}
