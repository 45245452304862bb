namespace Scale.Synth;

/// <summary>
/// xoshiro256** seeded through SplitMix64. Written out here rather than using <see cref="Random"/> because a
/// synthetic corpus must come out byte-identical from the same seed on any machine and any .NET version, and
/// System.Random's seeded sequence is an implementation detail. Every file gets its own instance derived from
/// (seed, index, stream), so files can be generated in any order on any thread.
/// </summary>
internal sealed class SynthRandom
{
    private const ulong Golden = 0x9E3779B97F4A7C15;

    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    public SynthRandom(long seed, long index, int stream = 0) => Reset(seed, index, stream);

    /// <summary>
    /// Restarts the sequence for (seed, index, stream). The seed is mixed on its own before the index is added,
    /// so (seed 1, index 2) and (seed 2, index 1), or seed^index collisions, do not give the same file.
    /// </summary>
    public void Reset(long seed, long index, int stream = 0)
    {
        var state = Mix(Mix((ulong)seed) + ((ulong)index * Golden) + ((ulong)(uint)stream * 0xD1B54A32D192ED03));
        _s0 = SplitMix(ref state);
        _s1 = SplitMix(ref state);
        _s2 = SplitMix(ref state);
        _s3 = SplitMix(ref state);
    }

    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, n) by multiply-high (Lemire); the bias for n far below 2^64 is immaterial here.</summary>
    public int Next(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        return (int)Math.BigMul(NextUInt64(), (ulong)n, out _);
    }

    /// <summary>Uniform in [min, maxExclusive).</summary>
    public int Range(int min, int maxExclusive) => min + Next(maxExclusive - min);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public bool Chance(double probability) => NextDouble() < probability;

    /// <summary>
    /// Approximately standard normal (Irwin-Hall sum of 12 uniforms, range ±6). Chosen over Box-Muller because it
    /// needs no log/sqrt/cos, whose last bits may differ between platforms and would break cross-machine identity.
    /// </summary>
    public double NextGaussian()
    {
        var sum = 0.0;
        for (var i = 0; i < 12; i++)
        {
            sum += NextDouble();
        }

        return sum - 6.0;
    }

    public T Pick<T>(ReadOnlySpan<T> items) => items[Next(items.Length)];

    public void NextBytes(Span<byte> bytes)
    {
        var i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes[i..], NextUInt64());
        }

        if (i < bytes.Length)
        {
            var last = NextUInt64();
            for (; i < bytes.Length; i++)
            {
                bytes[i] = (byte)last;
                last >>= 8;
            }
        }
    }

    /// <summary>Index into <paramref name="weights"/> with probability proportional to its weight.</summary>
    public int PickWeighted(ReadOnlySpan<double> weights)
    {
        var total = 0.0;
        foreach (var w in weights)
        {
            total += w;
        }

        var x = NextDouble() * total;
        for (var i = 0; i < weights.Length; i++)
        {
            x -= weights[i];
            if (x < 0)
            {
                return i;
            }
        }

        // Rounding left x at or just above zero: the last positive weight.
        for (var i = weights.Length - 1; i >= 0; i--)
        {
            if (weights[i] > 0)
            {
                return i;
            }
        }

        throw new ArgumentException("All weights are zero.", nameof(weights));
    }

    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    private static ulong SplitMix(ref ulong state)
    {
        state += Golden;
        return Mix(state);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
