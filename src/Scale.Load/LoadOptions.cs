namespace Scale.Load;

/// <summary>What to send, how fast and for how long (flags after npm loadtest's; see docs/load.md).</summary>
public sealed record LoadOptions
{
    /// <summary>The URL every request goes to (unless <see cref="Targets"/> is given).</summary>
    public required Uri Target { get; init; }

    /// <summary>A mix of URLs taken in turn (request i goes to Targets[i mod n]); null or empty: <see cref="Target"/> only.</summary>
    public IReadOnlyList<Uri>? Targets { get; init; }

    /// <summary>
    /// Requests per second on a fixed schedule (open model: request i is due at start + i / rate, whatever earlier
    /// responses do). Null: a closed model, <see cref="Concurrency"/> clients each sending as soon as its last
    /// response arrived, as loadtest does without --rps.
    /// </summary>
    public double? RequestsPerSecond { get; init; }

    /// <summary>How long to send (loadtest -t). At least one of this and <see cref="MaxRequests"/> is needed.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Stop after this many requests (loadtest -n).</summary>
    public long? MaxRequests { get; init; }

    /// <summary>
    /// Closed model: the number of clients. Open model: the most requests in flight at once (loadtest ignores -c
    /// with --rps); a due request that finds them all busy waits for one, and its wait counts in its latency.
    /// </summary>
    public int Concurrency { get; init; } = 10;

    /// <summary>Reuse connections (loadtest -k); otherwise every request asks for Connection: close.</summary>
    public bool KeepAlive { get; init; } = true;

    public string Method { get; init; } = "GET";

    /// <summary>The request body (loadtest -P) and its content type (loadtest -T).</summary>
    public byte[]? Body { get; init; }

    public string ContentType { get; init; } = "text/plain";

    /// <summary>A request not answered by then is a timeout error.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Open model: requests that are due while this many are already waiting for a free slot are not sent but
    /// counted as dropped, so an overloaded target cannot make the generator queue without bound. Default: one
    /// second of requests, at least <see cref="Concurrency"/>.
    /// </summary>
    public int? MaxWaiting { get; init; }

    /// <summary>A send that leaves later than this after its intended time counts as late.</summary>
    public TimeSpan LateAfter { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Throws <see cref="ArgumentException"/> with what is wrong.</summary>
    public void Validate()
    {
        if (!Target.IsAbsoluteUri || Target.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"the target must be an http:// or https:// URL, not '{Target}'");
        }

        foreach (var uri in Targets ?? [])
        {
            if (!uri.IsAbsoluteUri || uri.Scheme is not ("http" or "https"))
            {
                throw new ArgumentException($"every target must be an http:// or https:// URL, not '{uri}'");
            }
        }

        if (RequestsPerSecond is { } rate && !(rate > 0 && rate <= 1_000_000))
        {
            throw new ArgumentException($"--rps must be above 0 and at most 1,000,000, not {rate}");
        }

        if (Duration is null && MaxRequests is null)
        {
            throw new ArgumentException("give a duration (-t seconds) or a number of requests (-n)");
        }

        if (Duration is { } duration && duration <= TimeSpan.Zero)
        {
            throw new ArgumentException($"-t must be a positive number of seconds, not {duration.TotalSeconds}");
        }

        if (MaxRequests is { } max && max <= 0)
        {
            throw new ArgumentException($"-n must be positive, not {max}");
        }

        if (Concurrency is < 1 or > 100_000)
        {
            throw new ArgumentException($"-c must be between 1 and 100,000, not {Concurrency}");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("the timeout must be positive");
        }
    }
}
