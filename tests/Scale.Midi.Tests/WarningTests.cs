using System.Text;

namespace Scale.Midi.Tests;

/// <summary>
/// One test per <see cref="MidiWarnings"/> flag: the damage is recognised, flagged exactly, and the result is still
/// the song's real content.
/// </summary>
public class WarningTests
{
    /// <summary>A clean 37-byte song: format 0, a violin (program 40) plays one note.</summary>
    private static readonly byte[] Song =
    [
        0x4D, 0x54, 0x68, 0x64, // MThd
        0x00, 0x00, 0x00, 0x06, // header length 6
        0x00, 0x00,             // format 0
        0x00, 0x01,             // 1 track
        0x00, 0x60,             // division 96
        0x4D, 0x54, 0x72, 0x6B, // MTrk
        0x00, 0x00, 0x00, 0x0F, // track length 15
        0x00, 0xC0, 0x28,       // tick 0: PC channel 1 [0] -> 40 (Violin)
        0x00, 0x90, 0x3C, 0x64, // tick 0: Note On
        0x60, 0x80, 0x3C, 0x40, // tick 96: Note Off
        0x00, 0xFF, 0x2F, 0x00, // End of Track
    ];

    private static void AssertViolinNote(MidiSummary summary, MidiWarnings expected)
    {
        Assert.Null(summary.Error);
        Assert.Equal(expected, summary.Warnings);
        Assert.Equal(InstrumentSet.Of([40]), summary.Instruments);
        Assert.Equal(1, summary.NoteCounts[40]);
        Assert.Equal(1, summary.Notes);
    }

    [Fact]
    public void Extract_CleanSong_NoWarnings()
    {
        var summary = MidiExtractor.ExtractOnce(Song);

        AssertViolinNote(summary, MidiWarnings.None);
        Assert.Equal(96, summary.Ticks);
        Assert.Equal(0.5, summary.Seconds);
    }

    [Fact]
    public void Extract_RiffRmidContainer_ReadsInnerSong()
    {
        byte[] file =
        [
            0x52, 0x49, 0x46, 0x46, // "RIFF"
            0x31, 0x00, 0x00, 0x00, // RIFF size 49, little-endian: "RMID" + data chunk header + 37
            0x52, 0x4D, 0x49, 0x44, // "RMID"
            0x64, 0x61, 0x74, 0x61, // "data"
            0x25, 0x00, 0x00, 0x00, // data size 37, little-endian
            .. Song,
        ];

        AssertViolinNote(MidiExtractor.ExtractOnce(file), MidiWarnings.RiffRmidWrapper);
    }

    [Fact]
    public void Extract_RiffRmidWithInfoChunkFirst_ReadsInnerSong()
    {
        byte[] file =
        [
            0x52, 0x49, 0x46, 0x46, // "RIFF"
            0x3D, 0x00, 0x00, 0x00, // RIFF size 61: "RMID" + LIST chunk (12) + data chunk header + 37
            0x52, 0x4D, 0x49, 0x44, // "RMID"
            0x4C, 0x49, 0x53, 0x54, // "LIST"
            0x03, 0x00, 0x00, 0x00, // size 3 (odd: one pad byte follows)
            0x61, 0x62, 0x63, 0x00, // "abc" + pad byte
            0x64, 0x61, 0x74, 0x61, // "data"
            0x25, 0x00, 0x00, 0x00, // data size 37
            .. Song,
        ];

        AssertViolinNote(MidiExtractor.ExtractOnce(file), MidiWarnings.RiffRmidWrapper);
    }

    [Fact]
    public void Extract_MacBinaryHeader_SkipsIt()
    {
        var macBinary = new byte[128];
        macBinary[0] = 0x00; // MacBinary: old version byte 0
        macBinary[1] = 0x08; // file name length 8
        Encoding.ASCII.GetBytes("song.mid").CopyTo(macBinary, 2);
        Encoding.ASCII.GetBytes("Midi").CopyTo(macBinary, 65); // file type

        AssertViolinNote(MidiExtractor.ExtractOnce([.. macBinary, .. Song]), MidiWarnings.MacBinaryHeader);
    }

    [Fact]
    public void Extract_GzipCompressedSong_ReadsDecompressedSong()
    {
        AssertViolinNote(MidiExtractor.ExtractOnce(ErrorCodeTests.Gzip(Song)), MidiWarnings.GzipCompressed);
    }

    [Fact]
    public void Extract_JunkBeforeMThd_SkipsIt()
    {
        byte[] file = [0x6A, 0x75, 0x6E, 0x6B, 0x0D, 0x0A, .. Song]; // "junk\r\n"

        AssertViolinNote(MidiExtractor.ExtractOnce(file), MidiWarnings.LeadingBytes);
    }

    [Fact]
    public void Extract_UnknownChunkBeforeTrack_SkipsIt()
    {
        byte[] file =
        [
            .. Song[..14],          // the header
            0x58, 0x46, 0x49, 0x48, // "XFIH" (a Yamaha XF info chunk)
            0x00, 0x00, 0x00, 0x03, // chunk length 3
            0x90, 0x3C, 0x64,       // chunk data (looks like a Note On; must not be read as one)
            .. Song[14..],          // the track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        AssertViolinNote(summary, MidiWarnings.UnknownChunk);
        Assert.Equal(1, summary.Tracks);
    }

    [Theory]
    [InlineData(new byte[] { 0x00, 0x00, 0x1A })]
    [InlineData(new byte[] { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 })]
    [InlineData(new byte[] { 0x0D, 0x0A })]
    public void Extract_BytesAfterLastChunk_IgnoresThem(byte[] trailing)
    {
        AssertViolinNote(MidiExtractor.ExtractOnce([.. Song, .. trailing]), MidiWarnings.TrailingBytes);
    }

    [Fact]
    public void Extract_TrackLengthPastEndOfFile_ReadsToTheEnd()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x01, 0x00, // track length 256, but only 15 bytes follow
            0x00, 0xC0, 0x28,       // PC -> 40
            0x00, 0x90, 0x3C, 0x64, // Note On
            0x60, 0x80, 0x3C, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        AssertViolinNote(MidiExtractor.ExtractOnce(file), MidiWarnings.TrackLengthPastEnd);
    }

    [Fact]
    public void Extract_TrackWithoutEndOfTrack_KeepsItsNotes()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x0B, // track length 11
            0x00, 0xC0, 0x28,       // PC -> 40
            0x00, 0x90, 0x3C, 0x64, // Note On
            0x60, 0x80, 0x3C, 0x40, // Note Off, and no End of Track
        ];

        AssertViolinNote(MidiExtractor.ExtractOnce(file), MidiWarnings.MissingEndOfTrack);
    }

    [Fact]
    public void Extract_RunningStatusAfterMetaEvent_ContinuesPreviousStatus()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,       // MThd
            0x00, 0x00, 0x00, 0x06,       // header length 6
            0x00, 0x00,                   // format 0
            0x00, 0x01,                   // 1 track
            0x00, 0x60,                   // division 96
            0x4D, 0x54, 0x72, 0x6B,       // MTrk
            0x00, 0x00, 0x00, 0x1A,       // track length 26
            0x00, 0xC0, 0x28,             // PC -> 40
            0x00, 0x90, 0x3C, 0x64,       // Note On key 60
            0x00, 0xFF, 0x01, 0x01, 0x78, // Text "x"
            0x00, 0x3E, 0x64,             // running status 0x90 across the meta event: Note On key 62
            0x60, 0x80, 0x3C, 0x40,       // Note Off key 60
            0x00, 0x3E, 0x40,             // running status 0x80: Note Off key 62
            0x00, 0xFF, 0x2F, 0x00,       // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(MidiWarnings.RunningStatusAfterMetaOrSysex, summary.Warnings);
        Assert.Equal(InstrumentSet.Of([40]), summary.Instruments);
        Assert.Equal(2, summary.NoteCounts[40]);
    }

    [Fact]
    public void Extract_RunningStatusAfterSysex_ContinuesPreviousStatus()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,       // MThd
            0x00, 0x00, 0x00, 0x06,       // header length 6
            0x00, 0x00,                   // format 0
            0x00, 0x01,                   // 1 track
            0x00, 0x60,                   // division 96
            0x4D, 0x54, 0x72, 0x6B,       // MTrk
            0x00, 0x00, 0x00, 0x1B,       // track length 27
            0x00, 0xC0, 0x28,             // PC -> 40
            0x00, 0x90, 0x3C, 0x64,       // Note On key 60
            0x00, 0xF0, 0x02, 0x01, 0xF7, // SysEx, 2 bytes
            0x00, 0x3E, 0x64,             // running status 0x90 across the sysex: Note On key 62
            0x60, 0x80, 0x3C, 0x40,       // Note Off key 60
            0x00, 0x80, 0x3E, 0x40,       // Note Off key 62
            0x00, 0xFF, 0x2F, 0x00,       // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(MidiWarnings.RunningStatusAfterMetaOrSysex, summary.Warnings);
        Assert.Equal(2, summary.NoteCounts[40]);
    }

    [Fact]
    public void Extract_HeaderDeclaresFewerTracksThanPresent_ReadsAllTracks()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00, 0x01,             // 1 track declared, 2 present
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x07, // track length 7
            0x00, 0xC0, 0x28,       // PC -> 40
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x0A, 0x90, 0x3C, 0x64, // tick 10: Note On
            0x60, 0x80, 0x3C, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        AssertViolinNote(summary, MidiWarnings.TrackCountMismatch);
        Assert.Equal(2, summary.Tracks);
    }

    [Fact]
    public void Extract_HeaderDeclaresMoreTracksThanPresent_ReadsThoseThere()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x03,             // 3 tracks declared, 1 present
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x0F, // track length 15
            0x00, 0xC0, 0x28,       // PC -> 40
            0x00, 0x90, 0x3C, 0x64, // Note On
            0x60, 0x80, 0x3C, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        AssertViolinNote(summary, MidiWarnings.TrackCountMismatch);
        Assert.Equal(1, summary.Tracks);
    }

    [Fact]
    public void Extract_FormatThree_ReadAsFormat1WithSharedChannels()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x03,             // format 3: does not exist
            0x00, 0x02,             // 2 tracks
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x07, // track length 7
            0x00, 0xC0, 0x28,       // PC -> 40: reaches track 1 only if channels are shared (format 1)
            0x64, 0xFF, 0x2F, 0x00, // tick 100: End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x0A, 0x90, 0x3C, 0x64, // tick 10: Note On
            0x60, 0x80, 0x3C, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        AssertViolinNote(summary, MidiWarnings.UnknownFormat);
        Assert.Equal(3, summary.Format);
        Assert.Equal(106, summary.Ticks); // the latest track end (format 1: max(100, 106)), not the sum (format 2: 206)
    }

    [Fact]
    public void Extract_DivisionZero_NoSecondsButInstruments()
    {
        byte[] file = [.. Song];
        file[12] = 0x00; // division high byte
        file[13] = 0x00; // division low byte: 0 ticks per quarter note

        var summary = MidiExtractor.ExtractOnce(file);

        AssertViolinNote(summary, MidiWarnings.InvalidDivision);
        Assert.Null(summary.Seconds);
        Assert.Equal(96, summary.Ticks);
    }

    [Theory]
    [InlineData(0xE7, 0x00)] // SMPTE -25 fps, 0 ticks per frame
    [InlineData(0x80, 0x28)] // SMPTE "minus 0" frames per second, 40 ticks per frame
    public void Extract_SmpteDivisionWithoutFramesOrTicks_InvalidDivision(byte high, byte low)
    {
        byte[] file = [.. Song];
        file[12] = high;
        file[13] = low;

        var summary = MidiExtractor.ExtractOnce(file);

        AssertViolinNote(summary, MidiWarnings.InvalidDivision);
        Assert.Null(summary.Seconds);
    }

    [Fact]
    public void Extract_SystemCommonAndRealTimeMessagesInTrack_SkippedWithTheirData()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x18, // track length 24
            0x00, 0xC0, 0x28,       // PC -> 40
            0x00, 0xF1, 0x05,       // MTC quarter frame + 1 data byte
            0x00, 0x90, 0x3C, 0x64, // Note On
            0x00, 0xF2, 0x01, 0x02, // Song Position Pointer + 2 data bytes
            0x00, 0xF8,             // Timing Clock, no data
            0x60, 0x80, 0x3C, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        AssertViolinNote(MidiExtractor.ExtractOnce(file), MidiWarnings.SystemMessageInTrack);
    }

    [Fact]
    public void Extract_FileCutInsideLastEvent_KeepsEventsBeforeTheCut()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x0A, // track length 10: up to the end of the file
            0x00, 0xC0, 0x28,       // PC -> 40
            0x00, 0x90, 0x3C, 0x64, // Note On
            0x60, 0x80, 0x3C,       // Note Off without its velocity: the file ends
        ];

        AssertViolinNote(MidiExtractor.ExtractOnce(file), MidiWarnings.TruncatedTrack | MidiWarnings.MissingEndOfTrack);
    }

    [Fact]
    public void Extract_FileCutInsideEventOfLongerTrack_KeepsEventsBeforeTheCut()
    {
        byte[] file = Song[..^5]; // cut inside the Note Off: "60 80 3C" remain of it

        AssertViolinNote(
            MidiExtractor.ExtractOnce(file),
            MidiWarnings.TrackLengthPastEnd | MidiWarnings.TruncatedTrack | MidiWarnings.MissingEndOfTrack);
    }

    [Fact]
    public void Extract_EventsAfterEndOfTrackInsideChunk_Ignored()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x13, // track length 19
            0x00, 0xC0, 0x28,       // PC -> 40
            0x00, 0x90, 0x3C, 0x64, // Note On
            0x60, 0x80, 0x3C, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x00, 0x91, 0x3E, 0x64, // a Note On channel 2 after End of Track: not played
        ];

        AssertViolinNote(MidiExtractor.ExtractOnce(file), MidiWarnings.DataAfterEndOfTrack);
    }

    [Fact]
    public void Extract_HeaderLongerThanSix_SkipsExtraHeaderBytes()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x08, // header length 8
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x00, 0x00,             // 2 extra header bytes
            .. Song[14..],          // the track
        ];

        AssertViolinNote(MidiExtractor.ExtractOnce(file), MidiWarnings.LongHeader);
    }

    [Theory]
    [InlineData(new byte[] { 0x02, 0x07, 0xA1 })]       // 2 data bytes instead of 3
    [InlineData(new byte[] { 0x03, 0x00, 0x00, 0x00 })] // tempo 0
    [InlineData(new byte[] { 0x04, 0x00, 0x07, 0xA1, 0x20 })] // 4 data bytes
    public void Extract_BadSetTempo_IgnoredAndDefaultTempoKept(byte[] lengthAndData)
    {
        byte[] track =
        [
            0x00, 0xFF, 0x51, .. lengthAndData, // a damaged Set Tempo
            0x00, 0xC0, 0x28,                   // PC -> 40
            0x00, 0x90, 0x3C, 0x64,             // Note On
            0x81, 0x40, 0x80, 0x3C, 0x40,       // tick 192: Note Off
            0x00, 0xFF, 0x2F, 0x00,             // End of Track
        ];
        byte[] file =
        [
            .. Song[..14],                                  // the header: division 96
            0x4D, 0x54, 0x72, 0x6B,                         // MTrk
            0x00, 0x00, 0x00, (byte)track.Length,           // track length
            .. track,
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        AssertViolinNote(summary, MidiWarnings.BadTempo);
        Assert.Equal(1.0, summary.Seconds); // 2 quarters at the default 500000 us
    }

    [Fact]
    public void Extract_OnlyProgramChange_ValidWithNoNotes()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x0B, // track length 11
            0x00, 0xC0, 0x28,       // PC -> 40
            0x00, 0x90, 0x3C, 0x00, // Note On velocity 0 (a Note Off)
            0x60, 0xFF, 0x2F, 0x00, // tick 96: End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(MidiWarnings.NoNotes, summary.Warnings);
        Assert.True(summary.Instruments.IsEmpty);
        Assert.Equal(0, summary.Notes);
        Assert.All(summary.NoteCounts, count => Assert.Equal(0, count));
        Assert.Equal(96, summary.Ticks);
    }
}
