namespace Scale.Cli.Tests.Infrastructure;

/// <summary>Dictionary equality with a readable diff: both sides as sorted "key value" lines.</summary>
public static class MapAssert
{
    public static void Equal<T>(IReadOnlyDictionary<string, T> expected, IReadOnlyDictionary<string, T> actual, Func<T, string>? show = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        show ??= v => v?.ToString() ?? "∅";
        Assert.Equal(Lines(expected, show), Lines(actual, show));
    }

    /// <summary>md5 → instrument codes, shown as "0,33,128".</summary>
    public static void EqualInstruments(IReadOnlyDictionary<string, IReadOnlyList<int>> expected, IReadOnlyDictionary<string, IReadOnlyList<int>> actual) =>
        Equal(expected, actual, codes => string.Join(',', codes));

    private static List<string> Lines<T>(IReadOnlyDictionary<string, T> map, Func<T, string> show) =>
        [.. map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {show(p.Value)}")];
}
