using Scale.Midi;

namespace Scale.Corpus.Sources;

/// <summary>Settings shared by the corpus sources; the S3 ones only matter for s3:// specs.</summary>
public sealed record CorpusSourceOptions
{
    public const int DefaultS3Concurrency = 16;
    public const int DefaultS3PageSize = 1000;

    /// <summary>Environment variable naming the S3 endpoint (MinIO, any S3 API); wins over AWS_ENDPOINT_URL_S3.</summary>
    public const string S3EndpointVariable = "SCALE_S3_ENDPOINT";

    /// <summary>The AWS tools' own variable for an S3 endpoint override.</summary>
    public const string AwsS3EndpointVariable = "AWS_ENDPOINT_URL_S3";

    public static CorpusSourceOptions Default { get; } = new();

    /// <summary>Files larger than this are yielded with <see cref="CorpusItem.Oversized"/> set and never read.</summary>
    public long MaxFileBytes { get; init; } = MidiExtractorOptions.DefaultMaxFileBytes;

    /// <summary>S3 endpoint URL (e.g. "http://127.0.0.1:9000"); null means the environment, then AWS itself.</summary>
    public string? S3Endpoint { get; init; }

    /// <summary>S3 region; null means the SDK's own resolution (or "us-east-1" with an endpoint override).</summary>
    public string? S3Region { get; init; }

    /// <summary>How many objects are downloaded at once, and so at most how many are buffered.</summary>
    public int S3Concurrency { get; init; } = DefaultS3Concurrency;

    /// <summary>Explicit access key; with <see cref="S3SecretKey"/>. Null means the SDK's credential chain.</summary>
    public string? S3AccessKey { get; init; }

    public string? S3SecretKey { get; init; }

    /// <summary>Keys asked per ListObjectsV2 page (S3 caps it at 1000; tests use small pages to cross pages).</summary>
    public int S3PageSize { get; init; } = DefaultS3PageSize;

    /// <summary>SDK-level retries (standard retry mode, exponential backoff) of each S3 request.</summary>
    public int S3MaxErrorRetry { get; init; } = 5;

    /// <summary>Attempts at an object whose body stops mid-stream; the SDK does not retry a body once it has returned.</summary>
    public int S3BodyReadAttempts { get; init; } = 3;

    /// <summary>Delay before the second body-read attempt; doubled for each further one.</summary>
    public TimeSpan S3RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Per-request timeout; null keeps the SDK's.</summary>
    public TimeSpan? S3Timeout { get; init; }

    /// <summary>Clock for retry delays (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Reads environment variables (tests pass a dictionary lookup instead of the process environment).</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>The S3 endpoint to use: <see cref="S3Endpoint"/>, else SCALE_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3, else null (AWS).</summary>
    public string? ResolveS3Endpoint()
    {
        foreach (var candidate in new[]
                 {
                     S3Endpoint, GetEnvironmentVariable(S3EndpointVariable), GetEnvironmentVariable(AwsS3EndpointVariable),
                 })
        {
            if (!string.IsNullOrWhiteSpace(candidate))
            {
                return candidate.Trim().TrimEnd('/');
            }
        }

        return null;
    }

    /// <summary>Throws <see cref="ArgumentException"/> for settings no source can work with.</summary>
    public void Validate()
    {
        // Files are read whole into one array, so the limit cannot pass the largest array.
        if (MaxFileBytes <= 0 || MaxFileBytes > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFileBytes), MaxFileBytes,
                $"MaxFileBytes must be between 1 and {Array.MaxLength}.");
        }

        if (S3Concurrency < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(S3Concurrency), S3Concurrency, "S3Concurrency must be at least 1.");
        }

        if (S3PageSize is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(S3PageSize), S3PageSize, "S3PageSize must be between 1 and 1000.");
        }

        if (S3MaxErrorRetry < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(S3MaxErrorRetry), S3MaxErrorRetry, "S3MaxErrorRetry cannot be negative.");
        }

        if (S3BodyReadAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(S3BodyReadAttempts), S3BodyReadAttempts,
                "S3BodyReadAttempts must be at least 1.");
        }

        if (S3RetryBaseDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(S3RetryBaseDelay), S3RetryBaseDelay, "S3RetryBaseDelay cannot be negative.");
        }

        if (string.IsNullOrEmpty(S3AccessKey) != string.IsNullOrEmpty(S3SecretKey))
        {
            throw new ArgumentException("S3AccessKey and S3SecretKey must be given together (or neither, to use the AWS credential chain).");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(GetEnvironmentVariable);
    }
}
