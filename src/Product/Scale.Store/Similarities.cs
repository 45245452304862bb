using Scale.Midi;

namespace Scale.Store;

/// <summary>A stored song as the similarity step needs it: its store key, id and instruments.</summary>
public readonly record struct SongSet(long Key, string Id, InstrumentSet Instruments);

/// <summary>How similar songs were computed: recorded with every similarity run.</summary>
/// <param name="Measure">"jaccard" (the default) or "weighted" (rarity-weighted Jaccard).</param>
/// <param name="Threshold">Smallest similarity kept.</param>
/// <param name="TopK">Similar songs stored per song.</param>
/// <param name="MinInstruments">Fewest instruments a song needs to take part.</param>
public sealed record SimilaritySettings(string Measure, double Threshold, int TopK, int MinInstruments);

/// <summary>One similar song of a song, as stored: rank is its position in the list (1 = most similar).</summary>
public readonly record struct SimilarRow(long SimilarKey, double Similarity, int Shared);

/// <summary>A song's stored similar songs (best first, at most top K) and how many songs reach the threshold in all.</summary>
public readonly record struct SimilarSongList(long SongKey, int Total, ReadOnlyMemory<SimilarRow> Rows);

/// <summary>Counts and timings of one similarity run.</summary>
public sealed record SimilarityStats
{
    public long Songs { get; init; }

    public long EligibleSongs { get; init; }

    public long DistinctSets { get; init; }

    /// <summary>Rows written to similar_songs (at most top K per song).</summary>
    public long SimilarRows { get; init; }

    /// <summary>Ordered song pairs above the threshold, all of them (the sum of every song's total).</summary>
    public long SimilarPairs { get; init; }

    public double ComputeSeconds { get; init; }

    public double WriteSeconds { get; init; }

    public double WallSeconds { get; init; }
}

/// <summary>A row of <c>similarity_runs</c>.</summary>
public sealed record SimilarityRunRecord(
    long Id,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    RunStatus Status,
    SimilaritySettings Settings,
    SimilarityStats Stats,
    string? Error);
