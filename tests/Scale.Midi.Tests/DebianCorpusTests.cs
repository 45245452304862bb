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
        Assert.NotEmpty(files);
        var extractor = new MidiExtractor();
        var lines = new List<string>();
        foreach (var file in files)
        {
            var summary = Bounded.Extract(extractor, File.ReadAllBytes(file.FullPath), file.Name);
            Assert.True(summary.IsValid || MidiCodes.AllErrors.Contains(summary.Error!.Code), file.Name);
            lines.Add($"{file.Name}\t{(summary.IsValid ? "ok" : summary.Error!.ReasonCode)}\t{summary.Instruments}\t{string.Join(',', MidiCodes.Codes(summary.Warnings))}");
        }

        output.WriteLine(string.Join('\n', lines));
    }
}
