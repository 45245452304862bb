using System.IO.Compression;
using System.Text;
using Scale.Testing;

namespace Scale.Midi.Tests;

/// <summary>One test per <see cref="MidiErrorCode"/> that bytes can produce (read-error comes from sources, not bytes).</summary>
public class ErrorCodeTests
{
    /// <summary>A 26-byte valid file: format 0, one track with one End of Track.</summary>
    private static readonly byte[] Smallest =
    [
        0x4D, 0x54, 0x68, 0x64, // MThd
        0x00, 0x00, 0x00, 0x06, // header length 6
        0x00, 0x00,             // format 0
        0x00, 0x01,             // 1 track
        0x00, 0x60,             // division 96
        0x4D, 0x54, 0x72, 0x6B, // MTrk
        0x00, 0x00, 0x00, 0x04, // track length 4
        0x00, 0xFF, 0x2F, 0x00, // End of Track
    ];

    private static void AssertRejected(MidiSummary summary, MidiErrorCode code, string reasonCode)
    {
        Assert.False(summary.IsValid);
        Assert.NotNull(summary.Error);
        Assert.Equal(code, summary.Error.Code);
        Assert.Equal(reasonCode, summary.Error.ReasonCode);
        Assert.False(string.IsNullOrWhiteSpace(summary.Error.Message));
        Assert.True(summary.Instruments.IsEmpty);
        Assert.Empty(summary.NoteCounts);
    }

    [Fact]
    public void Extract_ZeroBytes_EmptyFile()
    {
        AssertRejected(MidiExtractor.ExtractOnce([]), MidiErrorCode.EmptyFile, "empty-file");
    }

    [Fact]
    public void Extract_OverMaxFileBytes_TooLarge()
    {
        var options = new MidiExtractorOptions { MaxFileBytes = Smallest.Length - 1 };

        AssertRejected(MidiExtractor.ExtractOnce(Smallest, options), MidiErrorCode.TooLarge, "too-large");
    }

    [Fact]
    public void Extract_ExactlyMaxFileBytes_Read()
    {
        var options = new MidiExtractorOptions { MaxFileBytes = Smallest.Length };

        Assert.True(MidiExtractor.ExtractOnce(Smallest, options).IsValid);
    }

    [Theory]
    [InlineData("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body></body></html>", "HTML")]
    [InlineData("  \r\n<html><body>MIDI download</body></html>", "HTML")]
    [InlineData("error with file", "plain text")]
    public void Extract_TextNamedMid_NotMidiSayingWhatItIs(string content, string kind)
    {
        var summary = MidiExtractor.ExtractOnce(Encoding.ASCII.GetBytes(content));

        AssertRejected(summary, MidiErrorCode.NotMidi, "not-midi");
        Assert.Contains(kind, summary.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_Mp3WithId3Tag_NotMidiSayingMp3()
    {
        byte[] file =
        [
            0x49, 0x44, 0x33,       // "ID3"
            0x03, 0x00,             // ID3v2.3
            0x00,                   // flags
            0x00, 0x00, 0x00, 0x0A, // tag size (synchsafe)
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tag padding
            0xFF, 0xFB, 0x90, 0x64, // MPEG-1 Layer III frame header
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        AssertRejected(summary, MidiErrorCode.NotMidi, "not-midi");
        Assert.Contains("MP3", summary.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_GzipWithInvalidDeflateBlock_GzipCorrupt()
    {
        byte[] file =
        [
            0x1F, 0x8B,             // gzip magic
            0x08,                   // compression method: deflate
            0x00,                   // flags
            0x00, 0x00, 0x00, 0x00, // modification time
            0x00,                   // extra flags
            0x03,                   // OS: Unix
            0x07,                   // deflate block header: final block, type 3 (reserved: invalid)
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        AssertRejected(summary, MidiErrorCode.GzipCorrupt, "gzip-corrupt");
        Assert.Equal(MidiWarnings.GzipCompressed, summary.Warnings);
    }

    [Fact]
    public void Extract_GzipExpandingPastLimit_DecompressedTooLarge()
    {
        // A valid song with a 20,000-byte text event compresses to far less than the 2,000-byte limit.
        var song = new SmfBuilder(format: 0)
            .Track(t => t.Meta(0, 0x01, new byte[20_000]).Note(0, 0, 60, 100, 96).EndOfTrack())
            .Build();
        var compressed = Gzip(song);
        var options = new MidiExtractorOptions { MaxFileBytes = 2_000 };
        Assert.True(compressed.Length < options.MaxFileBytes, $"The fixture compresses to {compressed.Length} bytes.");

        var summary = MidiExtractor.ExtractOnce(compressed, options);

        AssertRejected(summary, MidiErrorCode.DecompressedTooLarge, "decompressed-too-large");
        Assert.Equal(MidiWarnings.GzipCompressed, summary.Warnings);
    }

    [Fact]
    public void Extract_GzipCutInsideFirstDeflateBlockHeader_GzipCorrupt()
    {
        // The member ends 3 bytes into its deflate data, inside a stored block's LEN/NLEN words, with no CRC-32 or
        // size trailer: damaged compressed data. (Not "the file is empty": it has 13 bytes and is cut.)
        byte[] file =
        [
            0x1F, 0x8B, 0x08, 0x00, // gzip magic, deflate, no flags
            0x00, 0x00, 0x00, 0x00, // modification time
            0x00, 0x03,             // extra flags, OS: Unix
            0x01,                   // deflate block header: final block, type 0 (stored)
            0x25, 0x00,             // LEN = 37; NLEN, the 37 bytes and the 8-byte trailer are missing
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        AssertRejected(summary, MidiErrorCode.GzipCorrupt, "gzip-corrupt");
        Assert.Equal(MidiWarnings.GzipCompressed, summary.Warnings);
    }

    [Fact]
    public void Extract_GzipSongWithMaxFileBytesLongMaxValue_ReadsSong()
    {
        // "No limit" written as long.MaxValue must not change what a small gzip-compressed song yields.
        var song = new SmfBuilder(format: 0)
            .Track(t => t.ProgramChange(0, 0, 40).Note(0, 0, 60, 100, 96).EndOfTrack())
            .Build();
        var options = new MidiExtractorOptions { MaxFileBytes = long.MaxValue };

        var summary = MidiExtractor.ExtractOnce(Gzip(song), options);

        Assert.True(summary.IsValid, summary.Error?.ReasonCode + ": " + summary.Error?.Message);
        Assert.Equal(InstrumentSet.Of([40]), summary.Instruments);
    }

    [Fact]
    public void Extract_GzipOfNothing_EmptyFile()
    {
        byte[] file =
        [
            0x1F, 0x8B, 0x08, 0x00, // gzip magic, deflate, no flags
            0x00, 0x00, 0x00, 0x00, // modification time
            0x00, 0x03,             // extra flags, OS: Unix
            0x03, 0x00,             // deflate: one final fixed-Huffman block holding only end-of-block
            0x00, 0x00, 0x00, 0x00, // CRC-32 of nothing
            0x00, 0x00, 0x00, 0x00, // uncompressed size 0
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        AssertRejected(summary, MidiErrorCode.EmptyFile, "empty-file");
        Assert.Equal(MidiWarnings.GzipCompressed, summary.Warnings);
    }

    [Fact]
    public void Extract_FileEndsInsideHeaderFields_TruncatedHeader()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00,                   // first byte of the track count, then the file ends
        ];

        AssertRejected(MidiExtractor.ExtractOnce(file), MidiErrorCode.TruncatedHeader, "truncated-header");
    }

    [Fact]
    public void Extract_FileEndsInsideHeaderLength_TruncatedHeader()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00,             // half of the header length, then the file ends
        ];

        AssertRejected(MidiExtractor.ExtractOnce(file), MidiErrorCode.TruncatedHeader, "truncated-header");
    }

    [Fact]
    public void Extract_HeaderLengthBelowSix_BadHeaderLength()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x05, // header length 5 (at least 6 are needed)
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x04, // track length 4
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        AssertRejected(MidiExtractor.ExtractOnce(file), MidiErrorCode.BadHeaderLength, "bad-header-length");
    }

    [Fact]
    public void Extract_HeaderDeclaringOneTrackAndNoChunk_NoTracks()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track, but none follows
            0x00, 0x60,             // division 96
        ];

        AssertRejected(MidiExtractor.ExtractOnce(file), MidiErrorCode.NoTracks, "no-tracks");
    }

    [Fact]
    public void Extract_OnlyAnUnknownChunk_NoTracks()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x58, 0x46, 0x49, 0x48, // "XFIH": a chunk that is not a track
            0x00, 0x00, 0x00, 0x02, // chunk length 2
            0x01, 0x02,             // chunk data
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        AssertRejected(summary, MidiErrorCode.NoTracks, "no-tracks");
        Assert.Equal(MidiWarnings.UnknownChunk, summary.Warnings);
    }

    [Fact]
    public void Extract_HeaderDeclaringZeroTracksAndNoChunk_ValidSilentFile()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00, 0x00,             // 0 tracks
            0x00, 0x60,             // division 96
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(0, summary.Tracks);
        Assert.True(summary.Instruments.IsEmpty);
        Assert.Equal(MidiWarnings.NoNotes, summary.Warnings);
    }

    [Fact]
    public void Extract_DeltaTimeOfFiveBytes_BadVlq()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,       // MThd
            0x00, 0x00, 0x00, 0x06,       // header length 6
            0x00, 0x00,                   // format 0
            0x00, 0x01,                   // 1 track
            0x00, 0x60,                   // division 96
            0x4D, 0x54, 0x72, 0x6B,       // MTrk
            0x00, 0x00, 0x00, 0x0C,       // track length 12
            0x81, 0x81, 0x81, 0x81, 0x00, // delta time of 5 bytes (at most 4 allowed)
            0x90, 0x3C, 0x64,             // Note On
            0x00, 0xFF, 0x2F, 0x00,       // End of Track
        ];

        AssertRejected(MidiExtractor.ExtractOnce(file), MidiErrorCode.BadVariableLengthQuantity, "bad-vlq");
    }

    [Fact]
    public void Extract_MetaLengthOfFiveBytes_BadVlq()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,       // MThd
            0x00, 0x00, 0x00, 0x06,       // header length 6
            0x00, 0x00,                   // format 0
            0x00, 0x01,                   // 1 track
            0x00, 0x60,                   // division 96
            0x4D, 0x54, 0x72, 0x6B,       // MTrk
            0x00, 0x00, 0x00, 0x0C,       // track length 12
            0x00, 0xFF, 0x01,             // Text meta event...
            0x80, 0x80, 0x80, 0x80, 0x01, // ...whose length has 5 bytes
            0x00, 0xFF, 0x2F, 0x00,       // End of Track
        ];

        AssertRejected(MidiExtractor.ExtractOnce(file), MidiErrorCode.BadVariableLengthQuantity, "bad-vlq");
    }

    [Fact]
    public void Extract_DataByteFirstInTrack_RunningStatusWithoutStatus()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x07, // track length 7
            0x00, 0x3C, 0x64,       // delta 0, then data bytes where a status must be, and none to repeat
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        AssertRejected(MidiExtractor.ExtractOnce(file), MidiErrorCode.RunningStatusWithoutStatus, "running-status-without-status");
    }

    [Fact]
    public void Extract_VelocityByteOver127_InvalidDataByte()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x00, 0x90, 0x3C, 0xCC, // Note On, key 60, "velocity" 0xCC: not a data byte
            0x60, 0x80, 0x3C, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        AssertRejected(MidiExtractor.ExtractOnce(file), MidiErrorCode.InvalidDataByte, "invalid-data-byte");
    }

    [Fact]
    public void Extract_ProgramByteOver127_InvalidDataByte()
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
            0x00, 0xC0, 0xA8,       // PC with "program" 0xA8: not a data byte
            0x00, 0x90, 0x3C, 0x64, // Note On
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        AssertRejected(MidiExtractor.ExtractOnce(file), MidiErrorCode.InvalidDataByte, "invalid-data-byte");
    }

    [Fact]
    public void Extract_TrackChunkEndsInsideEventBeforeNextChunk_TruncatedEvent()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00, 0x02,             // 2 tracks
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x03, // track length 3
            0x00, 0x90, 0x3C,       // Note On without its velocity: the chunk ends here
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x00, 0x90, 0x3C, 0x64, // Note On
            0x60, 0x80, 0x3C, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        AssertRejected(MidiExtractor.ExtractOnce(file), MidiErrorCode.TruncatedEvent, "truncated-event");
    }

    internal static byte[] Gzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return output.ToArray();
    }
}
