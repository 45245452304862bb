using System.IO.Compression;
using Scale.Midi;

namespace Scale.Synth.Tests;

/// <summary>Single files against the generator's own claims, checked with the independent test-only walker.</summary>
public class SyntheticFileTests
{
    private static readonly SyntheticCorpusOptions Options = new() { Seed = 5 };

    [Fact]
    public void GenerateFile_SameSeedAndIndex_SameBytesAndTruth()
    {
        for (var i = 0; i < 60; i++)
        {
            var a = SyntheticCorpus.GenerateFile(77, i);
            var b = SyntheticCorpus.GenerateFile(77, i);
            Assert.Equal(a.Bytes.ToArray(), b.Bytes.ToArray());
            Assert.Equal(a.Instruments, b.Instruments);
            Assert.Equal(a.Kind, b.Kind);
            Assert.Equal(a.Paths, b.Paths);
        }
    }

    [Fact]
    public void GenerateFiles_Sequence_SameAsOneByOne()
    {
        var options = new SyntheticCorpusOptions { Seed = 8, DamagedShare = 0.3 };
        foreach (var file in SyntheticCorpus.GenerateFiles(options, 100, 40))
        {
            var alone = SyntheticCorpus.GenerateFile(options, file.Index);
            Assert.Equal(alone.Bytes.ToArray(), file.Bytes.ToArray());
            Assert.Equal(alone.Instruments, file.Instruments);
        }
    }

    [Fact]
    public void GenerateFile_DifferentSeed_DifferentBytes()
    {
        for (var i = 0; i < 20; i++)
        {
            Assert.NotEqual(SyntheticCorpus.GenerateFile(1, i).Md5, SyntheticCorpus.GenerateFile(2, i).Md5);
        }
    }

    [Fact]
    public void GenerateFile_SeedOneFirstFiles_PinnedMd5()
    {
        // Pinned: the generator uses no platform-dependent arithmetic and no System.Random, so these hold on
        // every machine. A deliberate change to the generator updates them (and changes every corpus).
        Assert.Equal(PinnedMd5[0], SyntheticCorpus.GenerateFile(1, 0).Md5);
        Assert.Equal(PinnedMd5[1], SyntheticCorpus.GenerateFile(1, 1).Md5);
    }

    private static readonly string[] PinnedMd5 = ["cca91affe94e8504730b7d9b8b1d6af7", "0b0020a654ca177a01f0e3a34c3bfd00"];

    [Theory]
    [InlineData(-0.5, 35_000)]
    [InlineData(2.0, 35_000)]
    [InlineData(0.02, 0)]
    public void GenerateFile_BadSettings_Throws(double share, int average) =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            SyntheticCorpus.GenerateFile(new SyntheticCorpusOptions { DamagedShare = share, AverageFileBytes = average }, 0));

    [Fact]
    public void Md5_File_IsMd5OfBytes()
    {
        var file = SyntheticCorpus.GenerateFile(3, 3);
        Assert.Equal(TestCorpora.Md5Hex(file.Bytes.Span), file.Md5);
        Assert.Equal(file.Md5[..1] + "/" + file.Md5 + ".mid", file.RelativePath);
    }

    [Fact]
    public void ValidFiles_IndependentWalker_CleanAndSameInstruments()
    {
        var checkedFiles = 0;
        foreach (var file in SyntheticCorpus.GenerateFiles(new SyntheticCorpusOptions { Seed = 21, DamagedShare = 0 }, 0, 400))
        {
            var walk = SmfWalker.Walk(file.Bytes.Span);
            Assert.True(walk.Violation is null, $"file {file.Index}: {walk.Violation}");
            Assert.Equal(file.Instruments, walk.Instruments);
            Assert.InRange(walk.Format, 0, 1);
            Assert.InRange(walk.Tracks, 1, 20);
            Assert.Contains(walk.Division, new[] { 96, 120, 192, 384, 480 });
            checkedFiles++;
        }

        Assert.Equal(400, checkedFiles);
    }

    [Fact]
    public void ValidFiles_ManySongs_UseEveryFeatureTheExtractorMustHandle()
    {
        var walks = SyntheticCorpus.GenerateFiles(new SyntheticCorpusOptions { Seed = 4, DamagedShare = 0 }, 0, 600)
            .Select(f => SmfWalker.Walk(f.Bytes.Span))
            .ToList();

        Assert.All(walks, w => Assert.Null(w.Violation));
        Assert.InRange(walks.Count(w => w.Format == 0), 20, 120);
        Assert.True(walks.Count(w => w.RunningStatusEvents > w.NoteOns / 2) > walks.Count * 3 / 4, "running status must be used heavily");
        Assert.Contains(walks, w => w.RunningStatusEvents == 0);
        Assert.True(walks.Count(w => w.ZeroVelocityNoteOffs > 0) > walks.Count / 2);
        Assert.True(walks.Count(w => w.NoteOffs > 0) > walks.Count / 4);
        Assert.True(walks.Count(w => w.Controllers > 0) > walks.Count * 9 / 10);
        Assert.True(walks.Count(w => w.PitchBends > 0) > walks.Count / 10);
        Assert.InRange(walks.Count(w => w.SysexEvents > 0), walks.Count / 5, walks.Count / 2);
        Assert.All(walks, w => Assert.True(w.TempoEvents >= 1 && w.TimeSignatures >= 1));
        Assert.True(walks.Count(w => w.TempoEvents > 1) > walks.Count / 4, "tempo changes");
        Assert.True(walks.Count(w => w.KeySignatures > 0) > walks.Count / 2);
        Assert.True(walks.Count(w => w.TrackNames > 0) > walks.Count * 9 / 10);
        Assert.True(walks.Count(w => w.CopyrightEvents > 0) > walks.Count / 3);
        Assert.True(walks.Count(w => w.TextEvents > 0) > walks.Count / 5);
        Assert.True(walks.Count(w => w.DrumChannelProgramChanges > 0) > walks.Count / 10);
        Assert.True(walks.Count(w => w.MidTrackProgramChanges > 0) >= 10, "program changes in mid-track");
        Assert.True(walks.Count(w => w.SharedChannels > 0) >= 5, "tracks sharing a channel");
        Assert.Contains(walks, w => w.Tracks >= 15);
        Assert.Contains(walks, w => w.Tracks == 2);
    }

    [Fact]
    public void Sizes_TwoThousandFiles_AverageNearTargetAndWideSpread()
    {
        var sizes = SyntheticCorpus.GenerateFiles(Options, 0, 2_000).Select(f => f.Bytes.Length).ToArray();
        var average = sizes.Average();
        Assert.InRange(average, SyntheticCorpusOptions.LakhAverageFileBytes * 0.9, SyntheticCorpusOptions.LakhAverageFileBytes * 1.1);
        Assert.True(sizes.Count(s => s is > 0 and < 8_000) > 20, "a few KB");
        Assert.True(sizes.Count(s => s > 150_000) > 10, "a few hundred KB");
    }

    [Fact]
    public void Instruments_TwoThousandSongs_SkewedLikePopMidi()
    {
        var songs = SyntheticCorpus.GenerateFiles(Options, 0, 2_000).Where(f => f.Kind == FileKind.Valid).ToList();
        double Share(int code) => songs.Count(s => s.Instruments.Contains(code)) / (double)songs.Count;

        Assert.InRange(Share(GeneralMidi.DrumKit), 0.74, 0.86);
        Assert.InRange(Share(0), 0.5, 0.8);
        Assert.True(Share(109) < 0.01, "bag pipe must be rare");
        Assert.True(Share(33) > 0.3 && Share(48) > 0.25 && Share(25) > 0.2, "bass, strings and guitar common");
        var byPopularity = Enumerable.Range(0, 128).OrderByDescending(Share).Take(10).ToArray();
        Assert.Contains(0, byPopularity);
        Assert.Contains(33, byPopularity);

        var counts = songs.Select(s => s.Instruments.Count).Order().ToArray();
        Assert.InRange(counts[counts.Length / 2], 5, 6);
        Assert.InRange(counts.Count(c => c <= 2) / (double)counts.Length, 0.05, 0.2);
        Assert.InRange(counts.Count(c => c >= 15), 5, counts.Length / 20);
    }

    [Fact]
    public void DamagedKinds_IndependentWalker_ShowTheirDamage()
    {
        var seen = new HashSet<FileKind>();
        foreach (var file in SyntheticCorpus.GenerateFiles(new SyntheticCorpusOptions { Seed = 12, DamagedShare = 1 }, 0, 120))
        {
            seen.Add(file.Kind);
            var bytes = file.Bytes.ToArray();
            var walk = SmfWalker.Walk(bytes);
            Assert.True(ExpectedViolation(file.Kind) == walk.Violation, $"file {file.Index} ({file.Kind}): walker says {walk.Violation}");
            if (Unwrap(file.Kind, bytes) is { } inner)
            {
                var innerWalk = SmfWalker.Walk(inner);
                Assert.True(innerWalk.Violation is null, $"file {file.Index} ({file.Kind}) inside: {innerWalk.Violation}");
                Assert.Equal(file.Instruments, innerWalk.Instruments);
            }

            if (file.Expectation.IsRejected || file.Kind == FileKind.NoNotes)
            {
                Assert.True(file.Instruments.IsEmpty);
            }
            else
            {
                Assert.False(file.Instruments.IsEmpty);
            }
        }

        Assert.Equal(FileKinds.Damaged.Count, seen.Count);
    }

    [Fact]
    public void GzipCorrupt_Inflate_Throws()
    {
        var file = FirstOfKind(FileKind.GzipCorrupt);
        using var gzip = new GZipStream(new MemoryStream(file.Bytes.ToArray()), CompressionMode.Decompress);
        Assert.Throws<InvalidDataException>(() => gzip.CopyTo(Stream.Null));
    }

    [Fact]
    public void SmallDamagedKinds_ManyFiles_AllDistinct()
    {
        // Tiny files (13-byte headers, one-line texts) are unique by construction, not by luck.
        var options = new SyntheticCorpusOptions { Seed = 2, DamagedShare = 1, AverageFileBytes = 2_000 };
        var small = new[] { FileKind.TruncatedHeader, FileKind.NoTracks, FileKind.NotMidiText, FileKind.NotMidiHtml };
        var md5s = SyntheticCorpus.GenerateFiles(options, 0, 3_000).Where(f => small.Contains(f.Kind)).Select(f => f.Md5).ToList();
        Assert.True(md5s.Count > 300);
        Assert.Equal(md5s.Count, md5s.Distinct().Count());
    }

    [Fact]
    public void Paths_ManyFiles_LookLikeLakh()
    {
        var files = SyntheticCorpus.GenerateFiles(new SyntheticCorpusOptions { Seed = 6, AverageFileBytes = 2_000 }, 0, 500).ToList();
        Assert.All(files, f => Assert.All(f.Paths, p =>
        {
            Assert.EndsWith(".mid", p, StringComparison.Ordinal);
            Assert.Contains('/', p);
        }));
        Assert.True(files.Count(f => f.Paths.Count >= 2) > 25);
        Assert.Contains(files, f => f.Paths.Any(p => p.Contains('_', StringComparison.Ordinal)));
        Assert.Contains(files, f => f.Paths.Any(p => p.Contains('-', StringComparison.Ordinal)));
    }

    private static SyntheticFile FirstOfKind(FileKind kind)
    {
        var index = Enumerable.Range(0, 1_000).First(i => SyntheticCorpus.Plan(i, 1) == kind);
        return SyntheticCorpus.GenerateFile(new SyntheticCorpusOptions { Seed = 1, DamagedShare = 1 }, index);
    }

    /// <summary>The first thing the walker stops at for each kind: the damage itself, nothing before it.</summary>
    private static string? ExpectedViolation(FileKind kind) => kind switch
    {
        FileKind.Valid => null,
        FileKind.EmptyFile => "empty",
        FileKind.NotMidiHtml or FileKind.NotMidiMp3 or FileKind.NotMidiText or FileKind.GzipCorrupt or FileKind.RiffRmidWrapper
            or FileKind.MacBinaryHeader or FileKind.GzipCompressed or FileKind.LeadingBytes => "not-mthd",
        FileKind.TruncatedHeader => "truncated-header",
        FileKind.BadHeaderLength => "bad-header-length",
        FileKind.NoTracks => "no-tracks",
        FileKind.BadVariableLengthQuantity => "bad-vlq",
        FileKind.RunningStatusWithoutStatus => "running-status-without-status",
        FileKind.InvalidDataByte => "invalid-data-byte",
        FileKind.TruncatedEvent => "truncated-event",
        FileKind.UnknownChunk => "unknown-chunk",
        FileKind.TrailingBytes => "trailing-bytes",
        FileKind.TrackLengthPastEnd or FileKind.TruncatedTrack => "track-length-past-end",
        FileKind.MissingEndOfTrack => "missing-end-of-track",
        FileKind.RunningStatusAfterMetaOrSysex => "running-status-after-meta",
        FileKind.TrackCountMismatch => "track-count-mismatch",
        FileKind.UnknownFormat => "unknown-format",
        FileKind.InvalidDivision => "invalid-division",
        FileKind.SystemMessageInTrack => "system-message",
        FileKind.DataAfterEndOfTrack => "data-after-end-of-track",
        FileKind.LongHeader => "long-header",
        FileKind.BadTempo => "bad-tempo",
        FileKind.NoNotes => "no-notes",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The SMF inside a wrapper kind, found the simple way (the wrappers' own length fields).</summary>
    private static byte[]? Unwrap(FileKind kind, byte[] bytes)
    {
        switch (kind)
        {
            case FileKind.RiffRmidWrapper:
                Assert.Equal("RIFFRMIDdata"u8.ToArray(), bytes[..4].Concat(bytes[8..16]).ToArray());
                Assert.Equal(bytes.Length - 8, BitConverter.ToInt32(bytes, 4));
                return bytes.AsSpan(20, BitConverter.ToInt32(bytes, 16)).ToArray();
            case FileKind.MacBinaryHeader:
                Assert.Equal(0, bytes[0]);
                Assert.InRange(bytes[1], 1, 63);
                Assert.Equal(bytes.Length - 128, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(83)));
                return bytes[128..];
            case FileKind.GzipCompressed:
                using (var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress))
                using (var inner = new MemoryStream())
                {
                    gzip.CopyTo(inner);
                    return inner.ToArray();
                }

            case FileKind.LeadingBytes:
                var at = bytes.AsSpan().IndexOf("MThd"u8);
                Assert.True(at > 0);
                return bytes[at..];
            default:
                return null;
        }
    }
}
