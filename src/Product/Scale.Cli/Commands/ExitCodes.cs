namespace Scale.Cli.Commands;

/// <summary>What <c>scale</c> returns, for scripts, CI and Kubernetes Jobs (docs/operations.md, "Exit codes").</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>
    /// It ran and failed: a damaged tarball, songs that could not be stored, an experiment whose hypothesis did not
    /// hold, an unhealthy lab. What was committed stays; a rerun continues.
    /// </summary>
    public const int Failure = 1;

    /// <summary>Bad input: a missing source, an unreadable file, a bad option, a store that cannot be reached; the message says which.</summary>
    public const int BadInput = 2;

    /// <summary><c>scale lab status</c>: no lab is running.</summary>
    public const int NoLab = 3;

    /// <summary>Interrupted (Ctrl+C, SIGTERM): 128 + SIGINT, as shells report a process that SIGINT ended; a rerun continues.</summary>
    public const int Interrupted = 130;
}
