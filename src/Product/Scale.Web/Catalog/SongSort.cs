namespace Scale.Web.Catalog;

/// <summary>The orders the song list can be shown in; each has a precomputed permutation in <see cref="SongCatalog"/>.</summary>
public enum SongSort
{
    NameAscending,
    NameDescending,
    InstrumentsAscending,
    InstrumentsDescending,
    SimilarAscending,
    SimilarDescending,
}

/// <summary>The query-string spelling of <see cref="SongSort"/>: a column name, "-" in front for descending.</summary>
public static class SongSorts
{
    /// <summary>What the original app's table started with: most instruments first.</summary>
    public const SongSort Default = SongSort.InstrumentsDescending;

    public static IReadOnlyList<string> Values { get; } = ["name", "-name", "instruments", "-instruments", "similar", "-similar"];

    public static bool TryParse(string? text, out SongSort sort)
    {
        sort = text switch
        {
            null or "" => Default,
            "name" => SongSort.NameAscending,
            "-name" => SongSort.NameDescending,
            "instruments" => SongSort.InstrumentsAscending,
            "-instruments" => SongSort.InstrumentsDescending,
            "similar" => SongSort.SimilarAscending,
            "-similar" => SongSort.SimilarDescending,
            _ => (SongSort)(-1),
        };
        return Enum.IsDefined(sort);
    }

    public static string ToQueryValue(SongSort sort) => Values[(int)sort];

    /// <summary>The column a sort orders by: "name", "instruments" or "similar".</summary>
    public static string Column(SongSort sort) => Values[(int)sort & ~1];

    public static bool IsDescending(SongSort sort) => ((int)sort & 1) == 1;
}
