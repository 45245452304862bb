using Scale.Store;

namespace Scale.Pipeline;

/// <summary>How a job ended: its run id, final status and counts. Completed means every key of the source is done.</summary>
public sealed record ExtractionResult(long RunId, RunStatus Status, RunStats Stats, string? Error)
{
    public bool Succeeded => Status == RunStatus.Completed;
}
