namespace Scale.Chaos;

/// <summary>A problem with an experiment or its target, said so that a person can fix it (no stack trace is shown).</summary>
public sealed class ChaosException : Exception
{
    public ChaosException()
    {
    }

    public ChaosException(string message)
        : base(message)
    {
    }

    public ChaosException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
