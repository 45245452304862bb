using System.Numerics;

namespace Scale.Midi;

/// <summary>
/// A set of instrument codes 0-128 as a 192-bit value: copying, union, intersection and counting are a few
/// instructions, which is what similarity search at Lakh scale needs.
/// </summary>
public readonly record struct InstrumentSet(ulong Low, ulong Middle, ulong High)
{
    public static InstrumentSet Empty => default;

    public bool IsEmpty => (Low | Middle | High) == 0;

    public int Count => BitOperations.PopCount(Low) + BitOperations.PopCount(Middle) + BitOperations.PopCount(High);

    public bool Contains(int code) => (uint)code < GeneralMidi.InstrumentCount && (Word(code) & (1UL << (code & 63))) != 0;

    public InstrumentSet Add(int code)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(code);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(code, GeneralMidi.InstrumentCount);
        var bit = 1UL << (code & 63);
        return (code >> 6) switch
        {
            0 => this with { Low = Low | bit },
            1 => this with { Middle = Middle | bit },
            _ => this with { High = High | bit },
        };
    }

    public InstrumentSet Union(InstrumentSet other) => new(Low | other.Low, Middle | other.Middle, High | other.High);

    public InstrumentSet Intersect(InstrumentSet other) =>
        new(Low & other.Low, Middle & other.Middle, High & other.High);

    public int IntersectCount(InstrumentSet other) =>
        BitOperations.PopCount(Low & other.Low) + BitOperations.PopCount(Middle & other.Middle) +
        BitOperations.PopCount(High & other.High);

    /// <summary>The codes in ascending order.</summary>
    public int[] ToArray()
    {
        var codes = new int[Count];
        var i = 0;
        for (var word = 0; word < 3; word++)
        {
            var bits = word switch { 0 => Low, 1 => Middle, _ => High };
            while (bits != 0)
            {
                codes[i++] = (word << 6) + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
            }
        }

        return codes;
    }

    /// <summary>The codes whose count is above zero, from per-code counts (index = code).</summary>
    public static InstrumentSet FromCounts(ReadOnlySpan<int> counts)
    {
        ulong low = 0, middle = 0, high = 0;
        var length = Math.Min(counts.Length, GeneralMidi.InstrumentCount);
        for (var code = 0; code < length; code++)
        {
            if (counts[code] == 0)
            {
                continue;
            }

            var bit = 1UL << (code & 63);
            switch (code >> 6)
            {
                case 0: low |= bit; break;
                case 1: middle |= bit; break;
                default: high |= bit; break;
            }
        }

        return new InstrumentSet(low, middle, high);
    }

    public static InstrumentSet Of(IEnumerable<int> codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        var set = Empty;
        foreach (var code in codes)
        {
            set = set.Add(code);
        }

        return set;
    }

    public override string ToString() => "{" + string.Join(",", ToArray()) + "}";

    private ulong Word(int code) => (code >> 6) switch { 0 => Low, 1 => Middle, _ => High };
}
