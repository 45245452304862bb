namespace Scale.Synth.Tests;

public class SynthRandomTests
{
    [Fact]
    public void Reset_SameSeedIndexStream_SameSequence()
    {
        var a = new SynthRandom(42, 7, 1);
        var b = new SynthRandom(0, 0);
        b.Reset(42, 7, 1);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(a.NextUInt64(), b.NextUInt64());
        }
    }

    [Fact]
    public void Reset_SwappedSeedAndIndex_DifferentSequences()
    {
        // seed^index mixing would make (1, 2) and (2, 1) the same file; the seed is mixed on its own first.
        Assert.NotEqual(new SynthRandom(1, 2).NextUInt64(), new SynthRandom(2, 1).NextUInt64());
        Assert.NotEqual(new SynthRandom(1, 3).NextUInt64(), new SynthRandom(2, 0).NextUInt64());
    }

    [Fact]
    public void NextUInt64_FixedSeed_KnownValues()
    {
        // Pinned (and checked against an independent Python rendering of SplitMix64 + xoshiro256**) so that any
        // change to the generator, which would change every corpus, is deliberate.
        var rng = new SynthRandom(1, 0);
        Assert.Equal(0xbed39bb864d51ef8UL, rng.NextUInt64());
        Assert.Equal(0x2570d86f5d876711UL, rng.NextUInt64());
        Assert.Equal(0xb4074c4963953840UL, rng.NextUInt64());
    }

    [Fact]
    public void Range_ManyDraws_StaysInBoundsAndCoversThem()
    {
        var rng = new SynthRandom(3, 3);
        var seen = new bool[10];
        for (var i = 0; i < 10_000; i++)
        {
            var v = rng.Range(-5, 5);
            Assert.InRange(v, -5, 4);
            seen[v + 5] = true;
        }

        Assert.All(seen, Assert.True);
    }

    [Fact]
    public void NextGaussian_ManyDraws_MeanZeroUnitVariance()
    {
        var rng = new SynthRandom(9, 9);
        var values = Enumerable.Range(0, 50_000).Select(_ => rng.NextGaussian()).ToArray();
        var mean = values.Average();
        var variance = values.Select(v => (v - mean) * (v - mean)).Average();
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(variance, 0.97, 1.03);
    }

    [Theory]
    [InlineData(-3.0)]
    [InlineData(-0.32)]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(2.4)]
    public void Exp_Value_MatchesMathExp(double x) =>
        Assert.Equal(Math.Exp(x), SynthMath.Exp(x), 1e-12 * Math.Exp(x));

    [Fact]
    public void ProgramsByPopularity_Table_IsAPermutationOfAllPrograms()
    {
        var programs = InstrumentTable.ProgramsByPopularity.ToArray();
        Assert.Equal(128, programs.Length);
        Assert.Equal(Enumerable.Range(0, 128), programs.Select(p => (int)p).Order());
        Assert.Equal(0, programs[0]);
        Assert.Equal(109, programs[^1]);
    }
}
