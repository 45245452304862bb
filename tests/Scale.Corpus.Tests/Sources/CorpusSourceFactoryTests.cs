using System.Formats.Tar;
using System.IO.Compression;
using Scale.Corpus.Sources;

namespace Scale.Corpus.Tests.Sources;

public sealed class CorpusSourceFactoryTests : IDisposable
{
    // Never used to sign anything here (no request is made): generated so no literal key sits in the tests.
    private static readonly string GeneratedSecretKey = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    private static readonly CorpusSourceOptions NoEnvironment = new() { GetEnvironmentVariable = _ => null };

    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Open_S3Address_ReturnsS3SourceWithEndpointIdentity()
    {
        await using var source = CorpusSourceFactory.Open("s3://lakh/lmd_full", NoEnvironment with
        {
            S3Endpoint = "http://127.0.0.1:9000",
            S3AccessKey = "key",
            S3SecretKey = GeneratedSecretKey,
        });

        var s3 = Assert.IsType<S3Source>(source);
        Assert.Equal(new S3Location("lakh", "lmd_full/"), s3.Location);
        Assert.Equal("s3://lakh/lmd_full/@http://127.0.0.1:9000", source.Identity);
    }

    [Fact]
    public async Task Open_S3AddressWithEndpointFromEnvironment_UsesIt()
    {
        var environment = new Dictionary<string, string>
        {
            [CorpusSourceOptions.AwsS3EndpointVariable] = "http://aws-variable:1",
        };
        await using var source = CorpusSourceFactory.Open("S3://lakh", new CorpusSourceOptions
        {
            GetEnvironmentVariable = name => environment.GetValueOrDefault(name),
            S3AccessKey = "key",
            S3SecretKey = GeneratedSecretKey,
        });

        Assert.Equal("s3://lakh/@http://aws-variable:1", source.Identity);
    }

    [Fact]
    public async Task Open_Folder_ReturnsFolderSource()
    {
        await using var source = CorpusSourceFactory.Open(_temp.Path, NoEnvironment);

        Assert.IsType<FolderSource>(source);
        Assert.Equal("folder:" + _temp.Path, source.Identity);
    }

    [Theory]
    [InlineData("c.tar", false)]
    [InlineData("c.TAR.GZ", true)]
    [InlineData("c.tgz", true)]
    [InlineData("no-extension", false)]
    [InlineData("no-extension.bin", true)]
    public async Task Open_Tarball_ReturnsTarSource(string name, bool gzip)
    {
        var path = WriteTarball(name, gzip);

        await using var source = CorpusSourceFactory.Open(path, NoEnvironment);

        Assert.IsType<TarSource>(source);
        Assert.Equal("tar:" + path, source.Identity);
        Assert.Equal(["a.mid"], (await CorpusSnapshot.ReadAllAsync(source)).Select(i => i.Key));
    }

    [Fact]
    public void Open_GzipFileThatIsNotATarball_ThrowsArgumentException()
    {
        var path = _temp.Combine("song.mid.gz");
        using (var file = File.Create(path))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        {
            gzip.Write(CorpusSnapshot.ContentFor("song", 2000));
        }

        var ex = Assert.Throws<ArgumentException>(() => CorpusSourceFactory.Open(path, NoEnvironment));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a tarball", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_PlainFile_ThrowsNamingSpecAndAcceptedForms()
    {
        var path = _temp.Write("song.mid", CorpusSnapshot.ContentFor("song", 1000));

        var ex = Assert.Throws<ArgumentException>(() => CorpusSourceFactory.Open(path, NoEnvironment));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("s3://bucket/prefix", ex.Message, StringComparison.Ordinal);
        Assert.Contains(".tar.gz", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing-folder")]
    [InlineData("missing.tar.gz")]
    public void Open_MissingPath_ThrowsArgumentException(string name)
    {
        var path = _temp.Combine(name);

        var ex = Assert.Throws<ArgumentException>(() => CorpusSourceFactory.Open(path, NoEnvironment));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://example.invalid/lmd.tar.gz")]
    [InlineData("gs://bucket/prefix")]
    [InlineData("   ")]
    public void Open_UnsupportedSpec_ThrowsArgumentException(string spec)
    {
        var ex = Assert.Throws<ArgumentException>(() => CorpusSourceFactory.Open(spec, NoEnvironment));

        Assert.Contains("expected a folder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_InvalidOptions_ThrowsArgumentException()
    {
        Assert.ThrowsAny<ArgumentException>(() =>
            CorpusSourceFactory.Open(_temp.Path, NoEnvironment with { MaxFileBytes = 0 }));
    }

    [Fact]
    public void LooksLikeTarball_EmptyFile_IsFalse()
    {
        var path = _temp.Write("empty", []);

        Assert.False(CorpusSourceFactory.LooksLikeTarball(path));
    }

    [Fact]
    public void LooksLikeTarball_ZeroBlock_IsFalse()
    {
        var path = _temp.Write("zeros", new byte[1024]);

        Assert.False(CorpusSourceFactory.LooksLikeTarball(path));
    }

    private string WriteTarball(string name, bool gzip)
    {
        var path = _temp.Combine(name);
        using var file = File.Create(path);
        using var content = gzip ? new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true) : (Stream)file;
        using var writer = new TarWriter(content, TarEntryFormat.Ustar, leaveOpen: true);
        writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "a.mid") { DataStream = new MemoryStream([1, 2]) });
        return path;
    }
}
