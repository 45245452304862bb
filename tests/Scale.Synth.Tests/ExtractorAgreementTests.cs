using Scale.Midi;

namespace Scale.Synth.Tests;

/// <summary>
/// EXTRACTOR-DEPENDENT: checks Scale.Midi's MidiExtractor against the generator's own truth (kinds, expected
/// errors and warnings, instruments computed from what was written). Unlike the rest of this project these tests
/// fail when the extractor is wrong or missing, not when the generator is.
/// </summary>
public class ExtractorAgreementTests
{
    [Fact]
    public void Extract_EveryKind_MatchesGeneratorTruth()
    {
        var extractor = new MidiExtractor();
        var failures = new List<string>();
        var kinds = new HashSet<FileKind>();
        foreach (var file in SyntheticCorpus.GenerateFiles(new SyntheticCorpusOptions { Seed = 31, DamagedShare = 0.25 }, 0, 1_500))
        {
            kinds.Add(file.Kind);
            if (file.Mismatch(extractor.Extract(file.Bytes.Span)) is { } mismatch)
            {
                failures.Add($"file {file.Index} ({FileKinds.Code(file.Kind)}): {mismatch}");
            }
        }

        Assert.Equal(FileKinds.All.Count, kinds.Count);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public async Task Extract_WrittenCorpus_MatchesManifest()
    {
        using var temp = new TempFolder();
        var result = SyntheticCorpus.Write(TestCorpora.Small(temp.Path, files: 400, damagedShare: 0.2));
        var extractor = new MidiExtractor();
        foreach (var entry in await SynthManifest.ReadAsync(result.ManifestPath!, CancellationToken.None))
        {
            var summary = extractor.Extract(File.ReadAllBytes(Path.Join(temp.Path, entry.Path)));
            Assert.True(entry.Mismatch(summary) is null, $"{entry.Path} ({FileKinds.Code(entry.Kind)}): {entry.Mismatch(summary)}");
        }
    }
}
