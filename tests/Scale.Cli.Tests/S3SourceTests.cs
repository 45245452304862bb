using Scale.Cli.Tests.Infrastructure;
using Scale.Testing;

namespace Scale.Cli.Tests;

/// <summary><c>scale run --source s3://bucket/prefix</c> against a real S3-compatible server on loopback.</summary>
public sealed class S3SourceTests(S3ServerFixture server) : IClassFixture<S3ServerFixture>, IDisposable
{
    private const int Files = 60;
    private const long Seed = 5;
    private const string Prefix = "lmd_full";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Run_S3PrefixHoldingSynthCorpus_SameSongsAsFolderRun()
    {
        // A tenth damaged: the empty file and the first five kinds of damage go up too.
        var folder = _dir.Combine("corpus");
        await Arrange.SynthAsync(_dir.Path, folder, Files, Seed, "--damaged-share", "0.1");
        var truth = SynthTruth.Load(folder);
        var bucket = "scale-cli-" + Guid.NewGuid().ToString("N")[..12];
        await server.CreateBucketAsync(bucket);
        foreach (var row in truth.Rows)
        {
            await server.PutObjectAsync(bucket, $"{Prefix}/{row.Path}", await File.ReadAllBytesAsync(Path.Join(folder, row.Path)));
        }

        // Outside the prefix: must not be read.
        await server.PutObjectAsync(bucket, "other/extra.mid", await File.ReadAllBytesAsync(Path.Join(folder, truth.Rows[0].Path)));

        var folderRun = await ScaleProcess.RunAsync(_dir.Path,
            ["run", "--source", folder, "--names", Path.Join(folder, "md5_to_paths.json"), "--db", _dir.Combine("folder.db")]);
        var s3Run = await ScaleProcess.RunAsync(
            _dir.Path,
            [
                "run", "--source", $"s3://{bucket}/{Prefix}", "--s3-endpoint", server.ServiceUrl,
                "--names", Path.Join(folder, "md5_to_paths.json"), "--db", _dir.Combine("s3.db"),
            ],
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey,
                ["AWS_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretKey,
                ["AWS_REGION"] = S3ServerFixture.Region,
            });

        Assert.True(folderRun.ExitCode == 0, folderRun.ToString());
        Assert.True(s3Run.ExitCode == 0, s3Run.ToString());
        Assert.False(s3Run.HasStackTrace, s3Run.ToString());
        using var fromFolder = ScaleDb.Open(_dir.Combine("folder.db"));
        using var fromS3 = ScaleDb.Open(_dir.Combine("s3.db"));
        Assert.Equal(Arrange.SongSnapshot(fromFolder), Arrange.SongSnapshot(fromS3));
        MapAssert.Equal(fromFolder.InvalidByReason(), fromS3.InvalidByReason());
        Assert.Equal(fromFolder.LedgerKeys(), fromS3.LedgerKeys());
        MapAssert.EqualInstruments(truth.Songs, fromS3.SongInstruments());
        MapAssert.Equal(truth.ErrorCounts, fromS3.InvalidByReason());
        var runRow = Assert.Single(fromS3.Runs());
        Assert.Equal("completed", runRow.Status);
        Assert.Contains(bucket, runRow.Source, StringComparison.Ordinal);
        Assert.Equal(Files, runRow.FilesValid + runRow.FilesInvalid);
    }
}
