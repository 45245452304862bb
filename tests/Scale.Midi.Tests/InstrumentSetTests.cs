namespace Scale.Midi.Tests;

public class InstrumentSetTests
{
    [Fact]
    public void FromCounts_CodesWithNotes_ExactlyThoseCodesAcrossAllThreeWords()
    {
        var counts = new int[GeneralMidi.InstrumentCount];
        counts[0] = 3;     // first word
        counts[63] = 1;    // last bit of the first word
        counts[64] = 7;    // second word
        counts[127] = 2;   // last GM program
        counts[128] = 40;  // drum kit, third word

        var set = InstrumentSet.FromCounts(counts);

        Assert.Equal([0, 63, 64, 127, 128], set.ToArray());
        Assert.Equal(5, set.Count);
        Assert.Equal(set, InstrumentSet.Of([128, 0, 64, 63, 127]));
    }

    [Fact]
    public void FromCounts_NoNotes_Empty()
    {
        Assert.True(InstrumentSet.FromCounts(new int[GeneralMidi.InstrumentCount]).IsEmpty);
    }

    [Fact]
    public void IntersectCountAndUnion_TwoSets_CountSharedAndAllCodes()
    {
        var a = InstrumentSet.Of([0, 33, 128]);
        var b = InstrumentSet.Of([33, 109, 128]);

        Assert.Equal(2, a.IntersectCount(b));
        Assert.Equal([33, 128], a.Intersect(b).ToArray());
        Assert.Equal([0, 33, 109, 128], a.Union(b).ToArray());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(129)]
    public void Add_CodeOutOfRange_Throws(int code)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => InstrumentSet.Empty.Add(code));
        Assert.False(InstrumentSet.Of([0, 128]).Contains(code));
    }
}
