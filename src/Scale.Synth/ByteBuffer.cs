using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Scale.Synth;

/// <summary>
/// A growable byte array reused from file to file by one generator thread, so the steady state of writing a
/// corpus allocates nothing per event or per file.
/// </summary>
internal sealed class ByteBuffer(int capacity = 64 * 1024)
{
    private byte[] _data = new byte[Math.Max(16, capacity)];

    public int Length { get; private set; }

    public Span<byte> Span => _data.AsSpan(0, Length);

    public ReadOnlyMemory<byte> Memory => _data.AsMemory(0, Length);

    public byte this[int index]
    {
        get => _data[index];
        set => _data[index] = value;
    }

    public void Clear() => Length = 0;

    /// <summary>Cuts the content to <paramref name="length"/> bytes.</summary>
    public void Truncate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        Length = length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(byte value)
    {
        if (Length == _data.Length)
        {
            Grow(1);
        }

        _data[Length++] = value;
    }

    public void Add(ReadOnlySpan<byte> bytes)
    {
        if (Length + bytes.Length > _data.Length)
        {
            Grow(bytes.Length);
        }

        bytes.CopyTo(_data.AsSpan(Length));
        Length += bytes.Length;
    }

    /// <summary>Appends ASCII text (anything else becomes '?': every text in a synthetic file is ASCII).</summary>
    public void AddAscii(string text)
    {
        if (Length + text.Length > _data.Length)
        {
            Grow(text.Length);
        }

        foreach (var c in text)
        {
            _data[Length++] = c < 0x80 ? (byte)c : (byte)'?';
        }
    }

    /// <summary>Appends <paramref name="count"/> bytes and returns them for the caller to fill.</summary>
    public Span<byte> AddSpan(int count)
    {
        if (Length + count > _data.Length)
        {
            Grow(count);
        }

        var span = _data.AsSpan(Length, count);
        Length += count;
        return span;
    }

    /// <summary>Appends a MIDI variable-length quantity (7 bits per byte, high bit = more follows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddVlq(int value)
    {
        if ((uint)value < 0x80)
        {
            Add((byte)value);
            return;
        }

        AddVlqSlow(value);
    }

    public void AddUInt16BigEndian(int value)
    {
        Add((byte)(value >> 8));
        Add((byte)value);
    }

    public void AddUInt32BigEndian(uint value) => BinaryPrimitives.WriteUInt32BigEndian(AddSpan(4), value);

    public void AddUInt32LittleEndian(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(AddSpan(4), value);

    public void SetUInt16BigEndian(int offset, int value) =>
        BinaryPrimitives.WriteUInt16BigEndian(_data.AsSpan(offset, 2), (ushort)value);

    public void SetUInt32BigEndian(int offset, uint value) =>
        BinaryPrimitives.WriteUInt32BigEndian(_data.AsSpan(offset, 4), value);

    public uint GetUInt32BigEndian(int offset) => BinaryPrimitives.ReadUInt32BigEndian(_data.AsSpan(offset, 4));

    /// <summary>
    /// For tight writing loops: makes room for <paramref name="count"/> more bytes and returns the array to write
    /// into at <see cref="Length"/>; the caller then sets the new length with <see cref="Commit"/>.
    /// </summary>
    public byte[] Reserve(int count)
    {
        if (Length + count > _data.Length)
        {
            Grow(count);
        }

        return _data;
    }

    /// <summary>Sets the length after writing directly into the array from <see cref="Reserve"/>.</summary>
    public void Commit(int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _data.Length);
        Length = length;
    }

    /// <summary>Inserts bytes at <paramref name="offset"/>, moving the rest up (rare: damage only).</summary>
    public void Insert(int offset, ReadOnlySpan<byte> bytes)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, Length);
        if (Length + bytes.Length > _data.Length)
        {
            Grow(bytes.Length);
        }

        _data.AsSpan(offset, Length - offset).CopyTo(_data.AsSpan(offset + bytes.Length));
        bytes.CopyTo(_data.AsSpan(offset));
        Length += bytes.Length;
    }

    /// <summary>The number of bytes <see cref="AddVlq"/> writes for <paramref name="value"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int VlqLength(int value) => value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4;

    private void AddVlqSlow(int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 0x0FFFFFFF);
        var length = VlqLength(value);
        var span = AddSpan(length);
        for (var i = length - 1; i >= 0; i--)
        {
            span[i] = (byte)((value & 0x7F) | (i == length - 1 ? 0 : 0x80));
            value >>= 7;
        }
    }

    private void Grow(int needed)
    {
        var size = Math.Max(_data.Length * 2, Length + needed);
        Array.Resize(ref _data, size);
    }
}
