namespace Scale.Midi.Tests;

public class PlaceholderTests
{
    [Fact]
    public void Builds() => Assert.True(typeof(PlaceholderTests).Assembly.GetName().Name?.EndsWith(".Tests", StringComparison.Ordinal));
}
