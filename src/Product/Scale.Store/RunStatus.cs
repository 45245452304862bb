namespace Scale.Store;

/// <summary>State of a run; stored as its lower-case name.</summary>
public enum RunStatus
{
    Running,
    Completed,
    Failed,
    Interrupted,
}

/// <summary>Stable text of <see cref="RunStatus"/> values as stored.</summary>
public static class RunStatuses
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Interrupted = "interrupted";

    public static string ToCode(RunStatus status) => status switch
    {
        RunStatus.Running => Running,
        RunStatus.Completed => Completed,
        RunStatus.Failed => Failed,
        RunStatus.Interrupted => Interrupted,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown run status."),
    };

    public static RunStatus Parse(string code) => code switch
    {
        Running => RunStatus.Running,
        Completed => RunStatus.Completed,
        Failed => RunStatus.Failed,
        Interrupted => RunStatus.Interrupted,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unknown run status."),
    };
}
