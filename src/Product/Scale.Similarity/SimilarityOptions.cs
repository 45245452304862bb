namespace Scale.Similarity;

/// <summary>How two instrument sets are compared.</summary>
public enum SimilarityMeasure
{
    /// <summary>Jaccard index: shared instruments over instruments of either song (the original's measure, the default).</summary>
    Jaccard,

    /// <summary>
    /// Rarity-weighted Jaccard: each instrument weighs ln(1 + N / n), N eligible songs of which n use it, and the
    /// similarity is the weight of the shared instruments over the weight of all of either's. Sharing a Bag pipe
    /// then says more than sharing a piano. See docs/similarity.md.
    /// </summary>
    RarityWeighted,
}

/// <summary>What counts as similar and how much of it to keep.</summary>
public sealed record SimilarityOptions
{
    /// <summary>Songs with fewer instruments take no part (the original's rule: at least 3).</summary>
    public int MinInstruments { get; init; } = 3;

    /// <summary>Smallest similarity kept: 0.5, the original's distance threshold of 0.5.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Similar songs kept per song; <see cref="SongSimilarities.Total"/> still counts all above the threshold.</summary>
    public int TopK { get; init; } = 100;

    public SimilarityMeasure Measure { get; init; } = SimilarityMeasure.Jaccard;

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

        if (!Enum.IsDefined(Measure))
        {
            throw new ArgumentOutOfRangeException(nameof(Measure), Measure, "Unknown similarity measure.");
        }
    }
}

/// <summary>One similar song: its index, the similarity of the two instrument sets, and how many instruments they share.</summary>
public readonly record struct SimilarSong(int Song, double Similarity, int Shared);

/// <summary>A song's most similar songs, best first, and how many songs in all reach the threshold.</summary>
public readonly record struct SongSimilarities(int Song, ReadOnlyMemory<SimilarSong> Top, int Total);

/// <summary>What a computation looked at.</summary>
/// <param name="EligibleSongs">Songs with enough instruments.</param>
/// <param name="DistinctSets">Distinct instrument sets among them: the units actually compared.</param>
/// <param name="Comparisons">Set pairs whose similarity was computed after pruning (each unordered pair counted from both sides).</param>
public readonly record struct SimilaritySummary(int EligibleSongs, int DistinctSets, long Comparisons);
