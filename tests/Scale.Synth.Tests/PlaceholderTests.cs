namespace Scale.Synth.Tests;

public class PlaceholderTests
{
    [Fact]
    public void Builds() => Assert.True(typeof(PlaceholderTests).Assembly.GetName().Name?.EndsWith(".Tests", StringComparison.Ordinal));
}
