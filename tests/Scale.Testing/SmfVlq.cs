namespace Scale.Testing;

/// <summary>MIDI variable-length quantities: 7 bits per byte, most significant first, top bit set on all but the last.</summary>
public static class SmfVlq
{
    /// <summary>Largest value a 4-byte quantity holds.</summary>
    public const int Max = 0x0FFF_FFFF;

    public static byte[] Encode(int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Max);
        Span<byte> buffer = stackalloc byte[4];
        var count = 0;
        do
        {
            buffer[count++] = (byte)(value & 0x7F);
            value >>= 7;
        }
        while (value > 0);

        var result = new byte[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = (byte)(buffer[count - 1 - i] | (i < count - 1 ? 0x80 : 0));
        }

        return result;
    }
}
