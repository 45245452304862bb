using Scale.Corpus.Sources;

namespace Scale.Corpus.Tests.Sources;

public sealed class S3LocationTests
{
    [Theory]
    [InlineData("s3://bucket", "bucket", "")]
    [InlineData("s3://bucket/", "bucket", "")]
    [InlineData("s3://bucket/lmd_full", "bucket", "lmd_full/")]
    [InlineData("s3://bucket/lmd_full/", "bucket", "lmd_full/")]
    [InlineData("S3://bucket/a/b", "bucket", "a/b/")]
    public void Parse_Address_GivesBucketAndFolderPrefix(string uri, string bucket, string prefix)
    {
        Assert.Equal(new S3Location(bucket, prefix), S3Location.Parse(uri));
    }

    [Theory]
    [InlineData("s3://")]
    [InlineData("s3:///prefix")]
    [InlineData("https://bucket/prefix")]
    [InlineData("s3://my bucket/x")]
    public void Parse_NotAnAddress_Throws(string uri)
    {
        var ex = Assert.Throws<ArgumentException>(() => S3Location.Parse(uri));

        Assert.Contains(uri, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_IsCanonicalAddress()
    {
        Assert.Equal("s3://bucket/lmd_full/", S3Location.Parse("s3://bucket/lmd_full").ToString());
    }
}
