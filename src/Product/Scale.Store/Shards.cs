using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace Scale.Store;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> of a source: which keys a worker of a sharded extraction takes.
/// </summary>
/// <remarks>
/// With 16 shards and Lakh's layout (files named by their MD5, in folders 0-f named by its first digit) shard i is
/// the files whose name starts with hex digit i, so a shard is one of Lakh's folders. Any other key, or any other
/// count, goes by a stable hash of the key (XxHash3 of its UTF-8 bytes) modulo the count: the same key always
/// lands in the same shard, on every machine and in every version.
/// </remarks>
public readonly record struct ShardSpec(int Index, int Count)
{
    /// <summary>The whole source as one shard.</summary>
    public static ShardSpec All => new(0, 1);

    /// <summary>Checks the range; "i/N" with 0 ≤ i &lt; N.</summary>
    public void Validate()
    {
        if (Count < 1 || Index < 0 || Index >= Count)
        {
            throw new ArgumentOutOfRangeException(nameof(Index), this.ToString(), "A shard is i/N with N ≥ 1 and 0 ≤ i < N.");
        }
    }

    /// <summary>Parses "i/N" (e.g. "3/16").</summary>
    /// <exception cref="ArgumentException">When the text is not i/N with 0 ≤ i &lt; N.</exception>
    public static ShardSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0
            || !int.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || count < 1 || index >= count)
        {
            throw new ArgumentException($"'{text}' is not a shard: write i/N with 0 ≤ i < N, e.g. 3/16.", nameof(text));
        }

        return new ShardSpec(index, count);
    }

    /// <summary>The shard a key belongs to, out of <paramref name="count"/>.</summary>
    public static int Of(string key, int count)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (count == 1)
        {
            return 0;
        }

        var name = key.AsSpan(key.LastIndexOf('/') + 1);
        if (count == 16 && name.Length > 0 && char.IsAsciiHexDigit(name[0]))
        {
            return Convert.ToInt32(name[..1].ToString(), 16);
        }

        var hash = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(key));
        return (int)(hash % (ulong)count);
    }

    /// <summary>True when <paramref name="key"/> is in this shard.</summary>
    public bool Contains(string key) => Of(key, Count) == Index;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}

/// <summary>A completed shard: a row of <c>shards</c>.</summary>
public sealed record ShardRecord(string Source, int Index, int Count, long RunId, DateTimeOffset CompletedAt);

/// <summary>Which shards of which sources are still missing.</summary>
public static class ShardCompleteness
{
    /// <summary>
    /// Sources (among <paramref name="sources"/>, those that have runs) with no complete set of shards: for each,
    /// the shards still missing of its most advanced sharding. Empty when every source is complete.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Missing(IEnumerable<string> sources, IReadOnlyList<ShardRecord> completed)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(completed);
        var missing = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in sources.Distinct(StringComparer.Ordinal))
        {
            var groups = completed.Where(s => s.Source == source).GroupBy(s => s.Count).ToList();
            if (groups.Any(g => g.Select(s => s.Index).Distinct().Count() == g.Key))
            {
                continue;
            }

            var best = groups.OrderByDescending(g => (double)g.Count() / g.Key).FirstOrDefault();
            missing[source] = best is null
                ? "no shard completed"
                : string.Create(CultureInfo.InvariantCulture, $"shards {string.Join(", ", Enumerable.Range(0, best.Key).Except(best.Select(s => s.Index)).Select(i => $"{i}/{best.Key}"))} not completed");
        }

        return missing;
    }
}
