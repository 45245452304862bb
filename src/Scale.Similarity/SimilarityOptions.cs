namespace Scale.Similarity;

/// <summary>What counts as similar and how much of it to keep.</summary>
public sealed record SimilarityOptions
{
    /// <summary>Songs with fewer instruments take no part (the original's rule: at least 3).</summary>
    public int MinInstruments { get; init; } = 3;

    /// <summary>Smallest Jaccard index kept: 0.5, the original's distance threshold of 0.5.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Similar songs kept per song; <see cref="SongSimilarities.Total"/> still counts all above the threshold.</summary>
    public int TopK { get; init; } = 100;

    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MinInstruments, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(TopK, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDegreeOfParallelism, 1);
        if (Threshold is <= 0 or > 1 || double.IsNaN(Threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "The threshold must be above 0 and at most 1.");
        }
    }
}

/// <summary>One similar song: its index, the Jaccard index of the two instrument sets, and how many instruments they share.</summary>
public readonly record struct SimilarSong(int Song, double Similarity, int Shared);

/// <summary>A song's most similar songs, best first, and how many songs in all reach the threshold.</summary>
public readonly record struct SongSimilarities(int Song, ReadOnlyMemory<SimilarSong> Top, int Total);
