using System.Net;
using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Scale.Corpus.Sources;

/// <summary>
/// The MIDI objects under an S3 prefix, on AWS or any S3-compatible server (MinIO, ...). Keys are object keys
/// relative to the prefix. Objects are listed page by page (ListObjectsV2) and downloaded
/// <see cref="CorpusSourceOptions.S3Concurrency"/> at a time, and yielded in listing order (S3 lists keys in
/// UTF-8 binary order), so at most that many objects are buffered at once.
/// </summary>
/// <remarks>
/// Requests are retried by the SDK (standard mode, exponential backoff, <see cref="CorpusSourceOptions.S3MaxErrorRetry"/>).
/// A body that breaks off mid-stream is outside the SDK's retries, so the object is fetched again, up to
/// <see cref="CorpusSourceOptions.S3BodyReadAttempts"/> times. An object that still fails is yielded with
/// <see cref="CorpusItem.ReadError"/>; a listing that fails throws <see cref="IOException"/>, since then the corpus
/// itself is unknown.
/// </remarks>
public sealed class S3Source : ICorpusSource
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(10);

    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly CorpusSourceOptions _options;

    /// <summary>Opens <paramref name="uri"/> with a client built from <paramref name="options"/> (see <see cref="CreateClient"/>).</summary>
    public S3Source(string uri, CorpusSourceOptions? options = null)
        : this(S3Location.Parse(uri), options ?? CorpusSourceOptions.Default, null)
    {
    }

    /// <summary>Opens <paramref name="uri"/> with a client the caller owns; <paramref name="endpointLabel"/> goes into the identity.</summary>
    public S3Source(string uri, IAmazonS3 client, string? endpointLabel, CorpusSourceOptions? options = null)
        : this(S3Location.Parse(uri), options ?? CorpusSourceOptions.Default, client ?? throw new ArgumentNullException(nameof(client)), endpointLabel)
    {
    }

    private S3Source(S3Location location, CorpusSourceOptions options, IAmazonS3? client, string? endpointLabel = null)
    {
        options.Validate();
        _options = options;
        Location = location;
        if (client is null)
        {
            _client = CreateClient(options);
            _ownsClient = true;
            endpointLabel = options.ResolveS3Endpoint();
        }
        else
        {
            _client = client;
        }

        Identity = $"{location}@{(string.IsNullOrEmpty(endpointLabel) ? "aws" : endpointLabel)}";
    }

    public S3Location Location { get; }

    /// <summary>"s3://bucket/prefix/@endpoint", or "@aws" without an endpoint override.</summary>
    public string Identity { get; }

    /// <summary>
    /// An S3 client for the options: path-style addressing against an endpoint override (what MinIO and most
    /// S3-compatible servers need), standard retry mode, explicit keys or else the AWS credential chain.
    /// </summary>
    public static AmazonS3Client CreateClient(CorpusSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var config = new AmazonS3Config
        {
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = options.S3MaxErrorRetry,
            // Only send checksums a request requires: many S3-compatible servers reject the SDK's default
            // trailing checksums. Listing and downloading do not upload anything anyway.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        };
        if (options.S3Timeout is { } timeout)
        {
            config.Timeout = timeout;
        }

        var endpoint = options.ResolveS3Endpoint();
        if (endpoint is not null)
        {
            config.ServiceURL = endpoint;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = options.S3Region ?? "us-east-1";
        }
        else if (options.S3Region is not null)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.S3Region);
        }

        return string.IsNullOrEmpty(options.S3AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.S3AccessKey, options.S3SecretKey), config);
    }

    public async IAsyncEnumerable<CorpusItem> ReadAsync(
        Func<string, bool>? include, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Downloads are cancelled when the consumer stops early, not only when the caller's token fires.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var window = new Queue<Task<CorpusItem>>(_options.S3Concurrency);
        Task<ListObjectsV2Response>? nextPage = ListPageAsync(null, stop.Token);
        try
        {
            while (nextPage is not null)
            {
                var page = await nextPage.ConfigureAwait(false);
                nextPage = null;
                if (page.IsTruncated == true)
                {
                    if (string.IsNullOrEmpty(page.NextContinuationToken))
                    {
                        throw new IOException($"Cannot list {Identity}: the server said the listing goes on but gave no continuation token.");
                    }

                    // Ask for the next page while this one downloads.
                    nextPage = ListPageAsync(page.NextContinuationToken, stop.Token);
                }

                foreach (var s3Object in page.S3Objects ?? [])
                {
                    var objectKey = s3Object.Key;
                    if (objectKey is null || !objectKey.StartsWith(Location.Prefix, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var key = objectKey[Location.Prefix.Length..];
                    if (key.Length == 0 || !CorpusKeys.IsMidiFileName(key) || (include is not null && !include(key)))
                    {
                        continue;
                    }

                    var size = s3Object.Size ?? 0;
                    window.Enqueue(size > _options.MaxFileBytes
                        ? Task.FromResult(PooledItems.Oversized(key, size))
                        : DownloadAsync(objectKey, key, size, stop.Token));
                    if (window.Count >= _options.S3Concurrency)
                    {
                        yield return await window.Dequeue().ConfigureAwait(false);
                    }
                }
            }

            while (window.Count > 0)
            {
                yield return await window.Dequeue().ConfigureAwait(false);
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await DrainAsync(window, nextPage).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    // Waits for what is still running after an early stop, so no download outlives the enumeration, and gives
    // back the buffers of items nobody will see.
    private static async Task DrainAsync(Queue<Task<CorpusItem>> window, Task<ListObjectsV2Response>? nextPage)
    {
        while (window.TryDequeue(out var download))
        {
            try
            {
                (await download.ConfigureAwait(false)).Dispose();
            }
            catch (OperationCanceledException)
            {
            }
        }

        if (nextPage is not null)
        {
            try
            {
                await nextPage.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
            }
        }
    }

    private async Task<ListObjectsV2Response> ListPageAsync(string? continuationToken, CancellationToken cancellationToken)
    {
        var request = new ListObjectsV2Request
        {
            BucketName = Location.Bucket,
            Prefix = Location.Prefix.Length == 0 ? null : Location.Prefix,
            MaxKeys = _options.S3PageSize,
            ContinuationToken = continuationToken,
        };
        try
        {
            return await _client.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransientOrServiceError(ex, cancellationToken))
        {
            throw new IOException($"Cannot list {Identity}: {ex.Message}", ex);
        }
    }

    private async Task<CorpusItem> DownloadAsync(string objectKey, string key, long listedSize, CancellationToken cancellationToken)
    {
        Exception? lastError = null;
        for (var attempt = 1; attempt <= _options.S3BodyReadAttempts; attempt++)
        {
            if (attempt > 1)
            {
                await Task.Delay(RetryDelay(attempt - 1), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }

            GetObjectResponse response;
            try
            {
                response = await _client.GetObjectAsync(
                    new GetObjectRequest { BucketName = Location.Bucket, Key = objectKey }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransientOrServiceError(ex, cancellationToken))
            {
                // The SDK has already retried what is worth retrying (throttling, 5xx, connection failures).
                return PooledItems.Failed(key, listedSize, $"download failed: {Describe(ex)}");
            }

            using (response)
            {
                var length = response.ContentLength >= 0 ? response.ContentLength : listedSize;
                if (length > _options.MaxFileBytes)
                {
                    return PooledItems.Oversized(key, length);
                }

                if (length == 0)
                {
                    return PooledItems.Empty(key);
                }

                var buffer = PooledItems.Rent(length);
                try
                {
                    var read = await response.ResponseStream.ReadAtLeastAsync(buffer.AsMemory(0, (int)length), (int)length,
                        throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                    if (read == length)
                    {
                        var item = PooledItems.Create(key, buffer, read);
                        buffer = null;
                        return item;
                    }

                    lastError = new EndOfStreamException($"the body ended after {read} of {length} bytes");
                }
                catch (Exception ex) when (IsTransientOrServiceError(ex, cancellationToken))
                {
                    lastError = ex;
                }
                finally
                {
                    if (buffer is not null)
                    {
                        PooledItems.Return(buffer);
                    }
                }
            }
        }

        return PooledItems.Failed(key, listedSize,
            $"download failed after {_options.S3BodyReadAttempts} attempts: {Describe(lastError!)}");
    }

    private TimeSpan RetryDelay(int retry)
    {
        // Exponential backoff without jitter: the retries of one object are few and deterministic delays keep
        // tests exact; the SDK's own retries (with jitter) handle server-wide throttling.
        var delay = _options.S3RetryBaseDelay * Math.Pow(2, retry - 1);
        return delay < MaxRetryDelay ? delay : MaxRetryDelay;
    }

    private static string Describe(Exception ex) => ex switch
    {
        AmazonServiceException { StatusCode: var status } service when status != default =>
            $"{(int)status} {service.ErrorCode ?? status.ToString()}: {service.Message}",
        _ => ex.Message,
    };

    // Errors of the network or the service; a timeout shows as a cancellation the caller did not ask for.
    private static bool IsTransientOrServiceError(Exception ex, CancellationToken cancellationToken) =>
        ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or WebException ||
        (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);
}
