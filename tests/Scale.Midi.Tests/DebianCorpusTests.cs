using Scale.Testing;
using Xunit.Abstractions;

namespace Scale.Midi.Tests;

/// <summary>The extractor on real files from Debian packages (downloaded once per cache, see DebianMidiCorpus).</summary>
public class DebianCorpusTests(ITestOutputHelper output)
{
    [Fact]
    public void Extract_EveryDebianFile_EndsInResultOrReasonCode()
    {
        var files = DebianMidiCorpus.Files();
        Assert.True(files.Count >= 200, $"Only {files.Count} MIDI files came out of {DebianMidiCorpus.Packages.Count} packages.");
        Assert.All(DebianMidiCorpus.Packages, package => Assert.Contains(files, f => f.Package == package));
        var extractor = new MidiExtractor();
        foreach (var file in files)
        {
            var summary = Bounded.Extract(extractor, File.ReadAllBytes(file.FullPath), file.Name);
            SummaryAssert.Consistent(summary, file.Name);
            output.WriteLine($"{file.Name}\t{summary.Error?.ReasonCode ?? "ok"}\t{summary.Instruments}\t{string.Join(',', MidiCodes.Codes(summary.Warnings))}");
        }
    }

    [Fact]
    public void Extract_DebianSongsAndGameCharts_AllParseWithNotes()
    {
        var extractor = new MidiExtractor();
        var files = DebianMidiCorpus.Files()
            .Where(f => DebianMidiCorpus.SongPackages.Contains(f.Package) || f.Package == "fretsonfire-songs-sectoid")
            .ToList();
        Assert.True(files.Count >= 190, $"Only {files.Count} song files.");

        var failures = new List<string>();
        var silent = new List<string>();
        foreach (var file in files)
        {
            var summary = Bounded.Extract(extractor, File.ReadAllBytes(file.FullPath), file.Name);
            if (!summary.IsValid)
            {
                failures.Add($"{file.Name}: {summary.Error!.ReasonCode}: {summary.Error.Message}");
            }
            else if (summary.Notes == 0)
            {
                silent.Add(file.Name);
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));

        // mma's stdlib gypsyjazz.mid is a groove stub with no notes (edge/debian/no-notes_* in the shared corpus).
        Assert.Equal(["mma/usr/share/mma/lib/stdlib/gypsyjazz.mid"], silent);
    }

    [Fact]
    public void Extract_MapInfoTablesNamedMid_NotMidi()
    {
        var files = DebianMidiCorpus.Files().Where(f => DebianMidiCorpus.NotMidiPackages.Contains(f.Package)).ToList();
        Assert.NotEmpty(files);
        Assert.Contains(files, f => f.InstallPath.EndsWith(".MID", StringComparison.Ordinal)); // upper case found too

        foreach (var file in files)
        {
            var summary = MidiExtractor.ExtractOnce(File.ReadAllBytes(file.FullPath));
            Assert.Equal(MidiErrorCode.NotMidi, summary.Error?.Code);
        }
    }

    [Fact]
    public void Extract_SongwritePreviewsWithVelocityOver127_InvalidDataByte()
    {
        // songwrite's son_*.mid previews write Note On velocities such as 0xCC (son_flute.mid: "90 3E CC" at
        // bytes 53-55): not data bytes, so the event cannot be read.
        var files = DebianMidiCorpus.Files().Where(f => f.Package == "songwrite").ToList();
        Assert.NotEmpty(files);

        foreach (var file in files)
        {
            var summary = MidiExtractor.ExtractOnce(File.ReadAllBytes(file.FullPath));
            Assert.Equal(MidiErrorCode.InvalidDataByte, summary.Error?.Code);
        }
    }

    [Fact]
    public void Extract_OneExtractorOverWholeCorpus_SameAsFreshExtractorPerFile()
    {
        var files = DebianMidiCorpus.Files().Select(f => (f.Name, Bytes: File.ReadAllBytes(f.FullPath))).ToList();
        var expected = files.ToDictionary(f => f.Name, f => SummaryAssert.Describe(new MidiExtractor().Extract(f.Bytes)));
        var reused = new MidiExtractor();

        // Forward, then backward: every file follows both larger and smaller ones.
        foreach (var (name, bytes) in files.Concat(Enumerable.Reverse(files)))
        {
            Assert.Equal(expected[name], SummaryAssert.Describe(Bounded.Extract(reused, bytes, name)));
        }
    }
}
