using Scale.Corpus.Sources;

namespace Scale.Corpus.Tests.Sources;

public sealed class CorpusSourceOptionsTests
{
    [Fact]
    public void ResolveS3Endpoint_OptionSet_WinsOverEnvironment()
    {
        var options = Options(("SCALE_S3_ENDPOINT", "http://scale:1")) with { S3Endpoint = "http://option:1/" };

        Assert.Equal("http://option:1", options.ResolveS3Endpoint());
    }

    [Fact]
    public void ResolveS3Endpoint_BothVariables_ScaleVariableWins()
    {
        var options = Options(("SCALE_S3_ENDPOINT", "http://scale:1"), ("AWS_ENDPOINT_URL_S3", "http://aws:1"));

        Assert.Equal("http://scale:1", options.ResolveS3Endpoint());
    }

    [Fact]
    public void ResolveS3Endpoint_OnlyAwsVariable_UsesIt()
    {
        Assert.Equal("http://aws:1", Options(("AWS_ENDPOINT_URL_S3", " http://aws:1 ")).ResolveS3Endpoint());
    }

    [Fact]
    public void ResolveS3Endpoint_NothingSet_IsNull()
    {
        Assert.Null(Options(("SCALE_S3_ENDPOINT", "  ")).ResolveS3Endpoint());
    }

    [Fact]
    public void Validate_Defaults_Pass()
    {
        new CorpusSourceOptions().Validate();

        Assert.Equal(Scale.Midi.MidiExtractorOptions.DefaultMaxFileBytes, CorpusSourceOptions.Default.MaxFileBytes);
        Assert.Equal(16, CorpusSourceOptions.Default.S3Concurrency);
    }

    [Fact]
    public void Validate_AccessKeyWithoutSecret_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new CorpusSourceOptions { S3AccessKey = "k" }.Validate());

        Assert.Contains("together", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 16, 1000, 1)]
    [InlineData(1, 0, 1000, 1)]
    [InlineData(1, 16, 0, 1)]
    [InlineData(1, 16, 1001, 1)]
    [InlineData(1, 16, 1000, 0)]
    public void Validate_OutOfRange_Throws(long maxFileBytes, int concurrency, int pageSize, int attempts)
    {
        var options = new CorpusSourceOptions
        {
            MaxFileBytes = maxFileBytes,
            S3Concurrency = concurrency,
            S3PageSize = pageSize,
            S3BodyReadAttempts = attempts,
        };

        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }

    private static CorpusSourceOptions Options(params (string Name, string Value)[] variables)
    {
        var environment = variables.ToDictionary(v => v.Name, v => v.Value);
        return new CorpusSourceOptions { GetEnvironmentVariable = name => environment.GetValueOrDefault(name) };
    }
}
