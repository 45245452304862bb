using System.Collections.Concurrent;
using System.Numerics;
using System.Text;
using Scale.Midi;
using Scale.Store;

namespace Scale.Web.Catalog;

/// <summary>
/// Every song of the store in memory, immutable, as parallel arrays indexed by position in id order, with one
/// precomputed permutation per <see cref="SongSort"/>. "Songs using all of these instruments, whose name contains
/// q, sorted by a column, page p" is then a linear bitset scan (three AND/compares per song) plus a walk of the
/// chosen permutation: well under a millisecond for the whole Lakh catalogue, with no database round trip. The
/// original app ran this as a GROUP BY over a join per request and pinned PostgreSQL's CPU at 11k songs
/// (docs/web.md). A new data version builds a new instance; readers keep the one they started with.
/// </summary>
public sealed class SongCatalog
{
    private readonly string[] _ids;
    private readonly string[] _names;
    private readonly InstrumentSet[] _instruments;
    private readonly byte[] _instrumentCounts;
    /// <summary>Null similar counts (similarity not run, or too few instruments) are stored as -1.</summary>
    private readonly int[] _similarCounts;
    private readonly int[][] _orders;
    private readonly int[] _songsPerInstrument;
    private readonly int[] _songsByInstrumentCount;
    /// <summary>
    /// Every name upper-cased and UTF-8 encoded, one after another, each followed by a zero byte: a name filter is then
    /// one vectorised IndexOf over ~5 MB instead of a case-insensitive compare per song (measured here: 14 ms per
    /// query for 175k names that way, about 1 ms this way). Song i's name starts at byte _nameStarts[i]. UTF-8 keeps
    /// substring search exact: an encoded needle can only match at character boundaries.
    /// </summary>
    private readonly byte[] _foldedNames;
    private readonly int[] _nameStarts;

    /// <summary>
    /// Match bitmaps of the most recent filters (instruments + name), so paging and re-sorting one result, or many
    /// people asking for the same popular instruments, cost only the walk of the permutation. Bounded: cleared when
    /// full. A new data version builds a new catalogue, so nothing here is ever stale.
    /// </summary>
    private readonly ConcurrentDictionary<FilterKey, FilterMatches> _recentFilters = new();

    private const int RecentFilterCapacity = 64;
    private const byte NameSeparator = 0;

    private SongCatalog(string dataVersion, DateTimeOffset loadedAt, string[] ids, string[] names, InstrumentSet[] instruments, int[] similarCounts)
    {
        DataVersion = dataVersion;
        LoadedAt = loadedAt;
        _ids = ids;
        _names = names;
        _instruments = instruments;
        _similarCounts = similarCounts;
        _instrumentCounts = new byte[ids.Length];
        _songsPerInstrument = new int[GeneralMidi.InstrumentCount];
        _songsByInstrumentCount = new int[GeneralMidi.InstrumentCount + 1];
        for (var i = 0; i < ids.Length; i++)
        {
            var count = instruments[i].Count;
            _instrumentCounts[i] = (byte)count;
            _songsByInstrumentCount[count]++;
            foreach (var code in instruments[i].ToArray())
            {
                _songsPerInstrument[code]++;
            }
        }

        _orders = BuildOrders();
        (_foldedNames, _nameStarts) = FoldNames(names);
    }

    /// <summary>The store's data version this was loaded at (see <see cref="IScaleReader.GetDataVersionAsync"/>).</summary>
    public string DataVersion { get; }

    public DateTimeOffset LoadedAt { get; }

    public int Count => _ids.Length;

    /// <summary>Songs that use each instrument code 0-128 (index = code).</summary>
    public ReadOnlySpan<int> SongsPerInstrument => _songsPerInstrument;

    /// <summary>Songs by how many instruments they use (index = instrument count, 0-129).</summary>
    public ReadOnlySpan<int> SongsByInstrumentCount => _songsByInstrumentCount;

    public static SongCatalog Empty { get; } = new(string.Empty, DateTimeOffset.MinValue, [], [], [], []);

    public string IdAt(int index) => _ids[index];

    public string NameAt(int index) => _names[index];

    public InstrumentSet InstrumentsAt(int index) => _instruments[index];

    public int? SimilarCountAt(int index) => _similarCounts[index] < 0 ? null : _similarCounts[index];

    /// <summary>The index of song <paramref name="id"/>, or -1 (a binary search: the ids are in ordinal order).</summary>
    public int IndexOf(string id)
    {
        var index = Array.BinarySearch(_ids, id, StringComparer.Ordinal);
        return index >= 0 ? index : -1;
    }

    /// <summary>Reads the whole catalogue (one pass over the reader's id-ordered stream).</summary>
    public static async Task<SongCatalog> LoadAsync(IScaleReader reader, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(timeProvider);
        // The version is read first: a write between the two reads makes the next poll see a newer version and
        // load again, never the other way round.
        var version = await reader.GetDataVersionAsync(cancellationToken).ConfigureAwait(false);
        var ids = new List<string>();
        var names = new List<string>();
        var sets = new List<InstrumentSet>();
        var similar = new List<int>();
        await foreach (var song in reader.ReadCatalogAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(song.Id);
            names.Add(song.Name);
            sets.Add(song.Instruments);
            similar.Add(song.SimilarCount ?? -1);
        }

        return Create(version, timeProvider.GetUtcNow(), [.. ids], [.. names], [.. sets], [.. similar]);
    }

    /// <summary>Builds a catalogue from songs already in memory (in id order), e.g. for tests and benchmarks.</summary>
    public static SongCatalog FromSongs(IReadOnlyList<CatalogSong> songs, string dataVersion, DateTimeOffset loadedAt)
    {
        ArgumentNullException.ThrowIfNull(songs);
        return Create(
            dataVersion,
            loadedAt,
            [.. songs.Select(s => s.Id)],
            [.. songs.Select(s => s.Name)],
            [.. songs.Select(s => s.Instruments)],
            [.. songs.Select(s => s.SimilarCount ?? -1)]);
    }

    /// <summary>The catalogue relies on ordinal id order (binary search, "id order" pages); it restores it if a reader did not.</summary>
    private static SongCatalog Create(string version, DateTimeOffset loadedAt, string[] ids, string[] names, InstrumentSet[] sets, int[] similar)
    {
        for (var i = 1; i < ids.Length; i++)
        {
            if (string.CompareOrdinal(ids[i - 1], ids[i]) >= 0)
            {
                var order = Enumerable.Range(0, ids.Length).OrderBy(j => ids[j], StringComparer.Ordinal).ToArray();
                ids = [.. order.Select(j => ids[j])];
                names = [.. order.Select(j => names[j])];
                sets = [.. order.Select(j => sets[j])];
                similar = [.. order.Select(j => similar[j])];
                break;
            }
        }

        return new SongCatalog(version, loadedAt, ids, names, sets, similar);
    }

    /// <summary>
    /// The songs that contain every instrument of <paramref name="required"/> and whose name contains
    /// <paramref name="nameContains"/> (ordinal, case-insensitive; null or empty = any), in <paramref name="sort"/>
    /// order: how many there are, and the indexes of those at positions offset .. offset + limit - 1.
    /// </summary>
    public SongMatches Query(InstrumentSet required, string? nameContains, SongSort sort, int offset, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var order = _orders[(int)sort];
        var filterByName = !string.IsNullOrEmpty(nameContains);
        if (required.IsEmpty && !filterByName)
        {
            // Everything matches: the page is a slice of the permutation.
            var start = Math.Min(offset, order.Length);
            return new SongMatches(order.Length, order.AsSpan(start, Math.Min(limit, order.Length - start)).ToArray());
        }

        // Pass 1, in id order (sequential memory): which songs match, as a bitmap small enough for the L2 cache
        // (22 KB at Lakh scale), and how many. Pass 2 walks the permutation and stops once the page is full.
        var matches = MatchesOf(required, nameContains);
        var bits = matches.Bits;
        var wanted = (int)Math.Clamp((long)matches.Total - offset, 0, limit);
        var page = new int[wanted];
        var skipped = 0;
        var taken = 0;
        for (var i = 0; i < order.Length && taken < wanted; i++)
        {
            var index = order[i];
            if ((bits[index >> 6] & (1UL << (index & 63))) == 0)
            {
                continue;
            }

            if (skipped < offset)
            {
                skipped++;
                continue;
            }

            page[taken++] = index;
        }

        return new SongMatches(matches.Total, page);
    }

    /// <summary>The first <paramref name="limit"/> songs (in id order) that use <paramref name="code"/>.</summary>
    public IReadOnlyList<int> FirstWithInstrument(int code, int limit)
    {
        var found = new List<int>(limit);
        for (var i = 0; i < _instruments.Length && found.Count < limit; i++)
        {
            if (_instruments[i].Contains(code))
            {
                found.Add(i);
            }
        }

        return found;
    }

    /// <summary>Forgets the memoised filters (speed tests measure the uncached path with it).</summary>
    internal void ForgetRecentFilters() => _recentFilters.Clear();

    private FilterMatches MatchesOf(InstrumentSet required, string? nameContains)
    {
        var key = new FilterKey(required, string.IsNullOrEmpty(nameContains) ? null : nameContains.ToUpperInvariant());
        if (_recentFilters.TryGetValue(key, out var known))
        {
            return known;
        }

        var bits = new ulong[(_ids.Length + 63) >> 6];
        var total = key.FoldedName is null ? MatchInstruments(required, bits) : MatchNameThenInstruments(key.FoldedName, required, bits);
        var matches = new FilterMatches(bits, total);
        if (_recentFilters.Count >= RecentFilterCapacity)
        {
            _recentFilters.Clear();
        }

        _recentFilters[key] = matches;
        return matches;
    }

    /// <summary>Names first (one scan of the folded text), then the instruments of just the songs whose name matched.</summary>
    private int MatchNameThenInstruments(string foldedName, InstrumentSet required, ulong[] matches)
    {
        MatchNames(foldedName, matches);
        var total = 0;
        for (var word = 0; word < matches.Length; word++)
        {
            var bits = matches[word];
            var kept = bits;
            while (bits != 0)
            {
                var bit = bits & (ulong)-(long)bits;
                var index = (word << 6) + BitOperations.TrailingZeroCount(bits);
                if (!ContainsAll(_instruments[index], required))
                {
                    kept &= ~bit;
                }

                bits &= bits - 1;
            }

            matches[word] = kept;
            total += BitOperations.PopCount(kept);
        }

        return total;
    }

    private static bool ContainsAll(in InstrumentSet set, in InstrumentSet required) =>
        (set.Low & required.Low) == required.Low && (set.Middle & required.Middle) == required.Middle && (set.High & required.High) == required.High;

    /// <summary>
    /// Builds each 64-song word of the bitmap without a branch per song: half the songs matching (drums, piano)
    /// would otherwise mispredict every other time, which measured 4x slower.
    /// </summary>
    private int MatchInstruments(InstrumentSet required, ulong[] matches)
    {
        var (low, middle, high) = (required.Low, required.Middle, required.High);
        var sets = _instruments;
        var total = 0;
        for (var word = 0; word < matches.Length; word++)
        {
            var first = word << 6;
            var count = Math.Min(64, sets.Length - first);
            ulong bits = 0;
            for (var b = 0; b < count; b++)
            {
                ref readonly var set = ref sets[first + b];
                var missing = ((set.Low & low) ^ low) | ((set.Middle & middle) ^ middle) | ((set.High & high) ^ high);
                bits |= (missing == 0 ? 1UL : 0UL) << b;
            }

            matches[word] = bits;
            total += BitOperations.PopCount(bits);
        }

        return total;
    }

    /// <summary>Sets the bit of every song whose folded name contains <paramref name="foldedName"/>.</summary>
    private void MatchNames(string foldedName, ulong[] matches)
    {
        var needle = Encoding.UTF8.GetBytes(foldedName);
        if (needle.AsSpan().Contains(NameSeparator))
        {
            return; // No name holds the separator; letting it through would match across two names.
        }

        var text = _foldedNames.AsSpan();
        var starts = _nameStarts;
        var position = 0;
        var song = 0;
        while (position < text.Length)
        {
            var found = text[position..].IndexOf(needle);
            if (found < 0)
            {
                return;
            }

            // Hits come in text order, so the song holding this one is found by walking forward from the last.
            var at = position + found;
            while (starts[song + 1] <= at)
            {
                song++;
            }

            matches[song >> 6] |= 1UL << (song & 63);
            position = starts[song + 1]; // one hit per song is enough: go on with the next name
        }
    }

    private static (byte[] Text, int[] Starts) FoldNames(string[] names)
    {
        var folded = new byte[names.Length][];
        var starts = new int[names.Length + 1];
        var length = 0;
        for (var i = 0; i < names.Length; i++)
        {
            folded[i] = Encoding.UTF8.GetBytes(names[i].ToUpperInvariant());
            starts[i] = length;
            length += folded[i].Length + 1;
        }

        starts[names.Length] = length;
        var text = new byte[length];
        for (var i = 0; i < names.Length; i++)
        {
            folded[i].CopyTo(text, starts[i]);
            text[starts[i + 1] - 1] = NameSeparator;
        }

        return (text, starts);
    }

    private int[][] BuildOrders()
    {
        var n = _ids.Length;
        // Name order: case-insensitive, then exact, then id, so equal names still have one fixed order.
        var byName = new int[n];
        for (var i = 0; i < n; i++)
        {
            byName[i] = i;
        }

        Array.Sort(byName, (a, b) =>
        {
            var c = string.Compare(_names[a], _names[b], StringComparison.OrdinalIgnoreCase);
            if (c == 0)
            {
                c = string.CompareOrdinal(_names[a], _names[b]);
            }

            return c != 0 ? c : string.CompareOrdinal(_ids[a], _ids[b]);
        });

        var nameRank = new int[n];
        for (var rank = 0; rank < n; rank++)
        {
            nameRank[byName[rank]] = rank;
        }

        var byNameDescending = new int[n];
        for (var i = 0; i < n; i++)
        {
            byNameDescending[i] = byName[n - 1 - i];
        }

        // Numeric columns: ties are in name order both ways, so "-instruments" lists equal counts A to Z.
        var maxSimilar = n == 0 ? 0 : Math.Max(0, _similarCounts.Max());
        int[] ByKey(Func<int, long> column)
        {
            var keys = new long[n];
            var items = new int[n];
            for (var i = 0; i < n; i++)
            {
                keys[i] = (column(i) << 32) | (uint)nameRank[i];
                items[i] = i;
            }

            Array.Sort(keys, items);
            return items;
        }

        var orders = new int[Enum.GetValues<SongSort>().Length][];
        orders[(int)SongSort.NameAscending] = byName;
        orders[(int)SongSort.NameDescending] = byNameDescending;
        orders[(int)SongSort.InstrumentsAscending] = ByKey(i => _instrumentCounts[i]);
        orders[(int)SongSort.InstrumentsDescending] = ByKey(i => GeneralMidi.InstrumentCount - _instrumentCounts[i]);
        // -1 (no similar count) + 1 keeps the key non-negative; such songs come first ascending, last descending.
        orders[(int)SongSort.SimilarAscending] = ByKey(i => _similarCounts[i] + 1L);
        orders[(int)SongSort.SimilarDescending] = ByKey(i => (long)maxSimilar - _similarCounts[i]);
        return orders;
    }
}

/// <summary>A filter: required instruments and the upper-cased name filter (null = any name).</summary>
internal readonly record struct FilterKey(InstrumentSet Required, string? FoldedName);

/// <summary>Which songs pass a filter (bit i = song i) and how many.</summary>
internal sealed record FilterMatches(ulong[] Bits, int Total);

/// <summary>A page of a catalogue query: the number of matching songs and the catalogue indexes on this page.</summary>
public sealed record SongMatches(int Total, int[] Indexes);

