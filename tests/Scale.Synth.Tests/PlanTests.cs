namespace Scale.Synth.Tests;

public class PlanTests
{
    [Fact]
    public void Plan_ZeroShare_EveryFileValid()
    {
        for (var i = 0; i < 5_000; i++)
        {
            Assert.Equal(FileKind.Valid, SyntheticCorpus.Plan(i, 0));
        }
    }

    [Fact]
    public void Plan_FullShare_EveryFileDamaged()
    {
        for (var i = 0; i < 500; i++)
        {
            Assert.NotEqual(FileKind.Valid, SyntheticCorpus.Plan(i, 1));
        }
    }

    [Theory]
    [InlineData(176_581, 0.02)]
    [InlineData(2_000, 0.02)]
    [InlineData(1_000, 0.1)]
    [InlineData(777, 0.013)]
    public void Plan_AnyPrefix_DamagedCountIsFloorOfShare(int files, double share)
    {
        var damaged = 0;
        for (var i = 0; i < files; i++)
        {
            damaged += SyntheticCorpus.Plan(i, share) == FileKind.Valid ? 0 : 1;
        }

        Assert.Equal((int)Math.Floor(files * share), damaged);
        Assert.Equal(damaged, SyntheticCorpus.DamagedCount(files, share));
    }

    [Fact]
    public void Plan_EnoughDamagedFiles_EveryKindPresentAndEven()
    {
        var counts = new Dictionary<FileKind, int>();
        for (var i = 0; i < 176_581; i++)
        {
            var kind = SyntheticCorpus.Plan(i, 0.02);
            counts[kind] = counts.GetValueOrDefault(kind) + 1;
        }

        foreach (var kind in FileKinds.All)
        {
            Assert.True(counts.ContainsKey(kind), $"kind {kind} missing");
        }

        Assert.Equal(1, counts[FileKind.EmptyFile]);
        var others = FileKinds.Damaged.Where(k => k != FileKind.EmptyFile).Select(k => counts[k]).ToArray();
        Assert.True(others.Max() - others.Min() <= 1, "the rotation must spread kinds evenly");
    }

    [Fact]
    public void Plan_TwoThousandFilesAtDefaultShare_EveryKindPresent()
    {
        var kinds = Enumerable.Range(0, 2_000).Select(i => SyntheticCorpus.Plan(i)).ToHashSet();
        Assert.Equal(FileKinds.All.Count, kinds.Count);
    }

    [Fact]
    public void Codes_EveryKind_RoundTrips()
    {
        foreach (var kind in FileKinds.All)
        {
            Assert.True(FileKinds.TryParse(FileKinds.Code(kind), out var parsed));
            Assert.Equal(kind, parsed);
        }

        Assert.Equal(FileKinds.All.Count, FileKinds.All.Select(FileKinds.Code).Distinct().Count());
    }

    [Fact]
    public void Expectation_EveryErrorAndWarningProducibleByBytes_HasAKind()
    {
        var errors = FileKinds.All.Select(k => FileKinds.Expectation(k).Error).OfType<Scale.Midi.MidiErrorCode>().ToHashSet();
        var limitOnly = new[] { Scale.Midi.MidiErrorCode.TooLarge, Scale.Midi.MidiErrorCode.DecompressedTooLarge, Scale.Midi.MidiErrorCode.ReadError };
        foreach (var code in Scale.Midi.MidiCodes.AllErrors.Except(limitOnly))
        {
            Assert.Contains(code, errors);
        }

        var warnings = FileKinds.All.Aggregate(Scale.Midi.MidiWarnings.None, (w, k) => w | FileKinds.Expectation(k).Warnings);
        foreach (var (flag, code) in Scale.Midi.MidiCodes.AllWarnings)
        {
            Assert.True((warnings & flag) != 0, $"no kind raises {code}");
        }
    }
}
