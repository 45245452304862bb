namespace Scale.Cli.Terminal;

/// <summary>What a long-running command reports while it works; the renderer turns it into rate and ETA.</summary>
internal readonly record struct ProgressSnapshot(long Done, long? Total, long Bytes, long Invalid, TimeSpan Elapsed, string? Detail = null)
{
    public double FilesPerSecond => Elapsed.TotalSeconds > 0 ? Done / Elapsed.TotalSeconds : 0;

    public double MegabytesPerSecond => Elapsed.TotalSeconds > 0 ? Bytes / 1e6 / Elapsed.TotalSeconds : 0;

    /// <summary>Time left at the average rate so far, when the total is known.</summary>
    public TimeSpan? Eta => Total is { } total && Done > 0 && total >= Done
        ? TimeSpan.FromSeconds((total - Done) / FilesPerSecond)
        : null;
}
