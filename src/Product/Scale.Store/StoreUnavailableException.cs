namespace Scale.Store;

/// <summary>
/// No database server could answer within the retry budget (every host down, a failover taking longer than the
/// budget, a file that cannot be opened). Temporary by nature: the web app answers 503 and readiness fails, rather
/// than reporting a bug.
/// </summary>
public sealed class StoreUnavailableException : IOException
{
    public StoreUnavailableException()
    {
    }

    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
