using Scale.Corpus.Sources;
using Scale.Testing;

namespace Scale.Corpus.Tests.Sources;

/// <summary>End to end against s3rver, a real S3-compatible server, sometimes behind a proxy that drops bodies.</summary>
public sealed class S3SourceTests(S3ServerFixture server) : IClassFixture<S3ServerFixture>
{
    [Fact]
    public async Task ReadAsync_SeveralListingPages_YieldsEveryMidiObjectUnderPrefixOnceWithSameBytes()
    {
        var bucket = await NewBucketAsync();
        var expected = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i < 23; i++)
        {
            var key = $"{i % 3:x}/{i:D4}.{(i % 5 == 0 ? "MIDI" : "mid")}";
            var data = CorpusSnapshot.ContentFor(key, 200 + i);
            expected[key] = data;
            await server.PutObjectAsync(bucket, "lmd/" + key, data);
        }

        // Around the prefix: a sibling sharing its first letters, a parent-level file, a non-MIDI file inside.
        await server.PutObjectAsync(bucket, "lmd2/x.mid", [1]);
        await server.PutObjectAsync(bucket, "top.mid", [1]);
        await server.PutObjectAsync(bucket, "lmd/readme.txt", [1]);

        await using var source = new S3Source($"s3://{bucket}/lmd", Options(server.ServiceUrl) with
        {
            S3PageSize = 4,
            S3Concurrency = 3,
        });
        var items = await CorpusSnapshot.ReadAllAsync(source);

        Assert.Equal(expected.Keys, items.Select(i => i.Key));
        foreach (var item in items)
        {
            Assert.Null(item.ReadError);
            Assert.False(item.Oversized);
            Assert.Equal(expected[item.Key], item.Data);
            Assert.Equal(expected[item.Key].Length, item.Size);
        }
    }

    [Fact]
    public async Task ReadAsync_NoPrefix_KeysAreWholeObjectKeys()
    {
        var bucket = await NewBucketAsync();
        await server.PutObjectAsync(bucket, "a/b.mid", [1]);
        await server.PutObjectAsync(bucket, "c.kar", [2]);

        await using var source = new S3Source($"s3://{bucket}", Options(server.ServiceUrl));
        var items = await CorpusSnapshot.ReadAllAsync(source);

        Assert.Equal(["a/b.mid", "c.kar"], items.Select(i => i.Key));
        Assert.Equal(new byte[] { 2 }, items[1].Data);
    }

    [Fact]
    public async Task ReadAsync_IncludePredicate_AskedBeforeDownloadAndSkipsIt()
    {
        var bucket = await NewBucketAsync();
        foreach (var name in new[] { "a.mid", "b.mid", "c.mid" })
        {
            await server.PutObjectAsync(bucket, "p/" + name, CorpusSnapshot.ContentFor(name));
        }

        await using var proxy = new FlakyHttpProxy(new Uri(server.ServiceUrl));
        await using var source = new S3Source($"s3://{bucket}/p/", Options(proxy.Url));
        var asked = new List<string>();
        var items = await CorpusSnapshot.ReadAllAsync(source, key =>
        {
            asked.Add(key);
            return key != "b.mid";
        });

        Assert.Equal(["a.mid", "b.mid", "c.mid"], asked);
        Assert.Equal(["a.mid", "c.mid"], items.Select(i => i.Key));
        Assert.Equal(0, proxy.CountGets("/p/b.mid"));
        Assert.Equal(1, proxy.CountGets("/p/a.mid"));
    }

    [Fact]
    public async Task ReadAsync_ObjectOverLimit_YieldedOversizedWithoutDownload()
    {
        var bucket = await NewBucketAsync();
        await server.PutObjectAsync(bucket, "big.mid", new byte[101]);
        await server.PutObjectAsync(bucket, "small.mid", new byte[100]);

        await using var proxy = new FlakyHttpProxy(new Uri(server.ServiceUrl));
        await using var source = new S3Source($"s3://{bucket}/", Options(proxy.Url) with { MaxFileBytes = 100 });
        var items = await CorpusSnapshot.ReadAllAsync(source);

        Assert.Equal(["big.mid", "small.mid"], items.Select(i => i.Key));
        Assert.True(items[0].Oversized);
        Assert.Equal(101, items[0].Size);
        Assert.Empty(items[0].Data);
        Assert.Equal(100, items[1].Data.Length);
        Assert.Equal(0, proxy.CountGets("/big.mid"));
    }

    [Fact]
    public async Task ReadAsync_BodyBrokenOffOnce_RetriesAndYieldsWholeObject()
    {
        var bucket = await NewBucketAsync();
        var data = CorpusSnapshot.ContentFor("flaky", 5000);
        await server.PutObjectAsync(bucket, "flaky.mid", data);
        await server.PutObjectAsync(bucket, "steady.mid", [9]);

        await using var proxy = new FlakyHttpProxy(new Uri(server.ServiceUrl));
        proxy.CutBody("/flaky.mid", 1);
        await using var source = new S3Source($"s3://{bucket}", Options(proxy.Url));
        var items = await CorpusSnapshot.ReadAllAsync(source);

        Assert.Equal(["flaky.mid", "steady.mid"], items.Select(i => i.Key));
        Assert.Null(items[0].ReadError);
        Assert.Equal(data, items[0].Data);
        Assert.Equal(2, proxy.CountGets("/flaky.mid"));
    }

    [Fact]
    public async Task ReadAsync_BodyAlwaysBrokenOff_YieldsReadErrorAfterAttemptsAndGoesOn()
    {
        var bucket = await NewBucketAsync();
        await server.PutObjectAsync(bucket, "a.mid", [1]);
        await server.PutObjectAsync(bucket, "broken.mid", CorpusSnapshot.ContentFor("broken", 5000));
        await server.PutObjectAsync(bucket, "c.mid", [3]);

        await using var proxy = new FlakyHttpProxy(new Uri(server.ServiceUrl));
        proxy.CutBody("/broken.mid", int.MaxValue);
        await using var source = new S3Source($"s3://{bucket}", Options(proxy.Url) with { S3BodyReadAttempts = 3 });
        var items = await CorpusSnapshot.ReadAllAsync(source);

        Assert.Equal(["a.mid", "broken.mid", "c.mid"], items.Select(i => i.Key));
        Assert.Contains("after 3 attempts", items[1].ReadError, StringComparison.Ordinal);
        Assert.Empty(items[1].Data);
        Assert.Equal(5000, items[1].Size);
        Assert.Equal(3, proxy.CountGets("/broken.mid"));
        Assert.Equal(new byte[] { 3 }, items[2].Data);
    }

    [Fact]
    public async Task ReadAsync_ManyObjectsInParallel_ReturnsExactlyTheSetWithIdenticalBytes()
    {
        var bucket = await NewBucketAsync();
        var expected = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await Parallel.ForAsync(0, 60, async (i, ct) =>
        {
            var key = $"{i:x2}/{i}.mid";
            var data = CorpusSnapshot.ContentFor(key, 1000 + (i * 37));
            lock (expected)
            {
                expected[key] = data;
            }

            await server.PutObjectAsync(bucket, "corpus/" + key, data, ct);
        });

        await using var source = new S3Source($"s3://{bucket}/corpus", Options(server.ServiceUrl) with
        {
            S3Concurrency = 8,
            S3PageSize = 7,
        });
        var items = await CorpusSnapshot.ReadAllAsync(source);

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), items.Select(i => i.Key));
        Assert.All(items, item => Assert.Equal(expected[item.Key], item.Data));
    }

    [Fact]
    public async Task ReadAsync_ConsumerStopsEarly_EndsCleanly()
    {
        var bucket = await NewBucketAsync();
        for (var i = 0; i < 10; i++)
        {
            await server.PutObjectAsync(bucket, $"{i}.mid", [(byte)i]);
        }

        await using var source = new S3Source($"s3://{bucket}", Options(server.ServiceUrl) with { S3Concurrency = 4 });
        var keys = new List<string>();
        await foreach (var item in source.ReadAsync(null, CancellationToken.None))
        {
            using (item)
            {
                keys.Add(item.Key);
            }

            if (keys.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(["0.mid", "1.mid"], keys);
    }

    [Fact]
    public async Task ReadAsync_MissingBucket_ThrowsIOExceptionNamingTheSource()
    {
        await using var source = new S3Source("s3://no-such-bucket/x", Options(server.ServiceUrl));

        var ex = await Assert.ThrowsAsync<IOException>(() => CorpusSnapshot.ReadAllAsync(source));

        Assert.Contains("s3://no-such-bucket/x/", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Identity_WithEndpoint_IsLocationAtEndpoint()
    {
        var source = new S3Source("s3://bucket/lmd_full", Options("http://127.0.0.1:9000/"));

        Assert.Equal("s3://bucket/lmd_full/@http://127.0.0.1:9000", source.Identity);
    }

    [Fact]
    public void Identity_WithoutEndpoint_IsLocationAtAws()
    {
        var source = new S3Source("s3://bucket", new CorpusSourceOptions
        {
            S3Region = "eu-west-1",
            S3AccessKey = S3ServerFixture.AccessKey,
            S3SecretKey = S3ServerFixture.SecretKey,
            GetEnvironmentVariable = _ => null,
        });

        Assert.Equal("s3://bucket/@aws", source.Identity);
    }

    private static CorpusSourceOptions Options(string endpoint) => new()
    {
        S3Endpoint = endpoint,
        S3AccessKey = S3ServerFixture.AccessKey,
        S3SecretKey = S3ServerFixture.SecretKey,
        S3RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        S3MaxErrorRetry = 1,
        GetEnvironmentVariable = _ => null,
    };

    private async Task<string> NewBucketAsync()
    {
        var bucket = "t" + Guid.NewGuid().ToString("N")[..20];
        await server.CreateBucketAsync(bucket);
        return bucket;
    }
}
