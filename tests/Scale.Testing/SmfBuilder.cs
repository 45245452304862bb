using System.Buffers.Binary;

namespace Scale.Testing;

/// <summary>
/// Builds Standard MIDI File bytes for tests: a header (any format, track count, division, even a wrong header
/// length), track chunks made of events (delta time + raw bytes), other chunks, and raw bytes for damage.
/// Nothing is added behind the caller's back: a track has an End of Track only if the test writes one, and the
/// header's track count is the number of <see cref="Track"/> calls unless overridden.
/// </summary>
/// <example>
/// <code>
/// var bytes = new SmfBuilder(format: 1, division: 96)
///     .Track(t => t.ProgramChange(0, channel: 0, program: 40).EndOfTrack())
///     .Track(t => t.NoteOn(0, 0, 60, 100).NoteOff(96, 0, 60).EndOfTrack())
///     .Build();
/// </code>
/// </example>
public sealed class SmfBuilder(int format = 1, int division = 96)
{
    private readonly List<byte[]> _chunks = [];
    private int _tracks;
    private int _format = format;
    private int _division = division;
    private int? _declaredTracks;
    private uint? _declaredHeaderLength;
    private byte[] _headerExtra = [];
    private byte[] _prefix = [];
    private byte[] _suffix = [];

    public SmfBuilder Format(int value)
    {
        _format = value;
        return this;
    }

    /// <summary>The raw 16-bit division word (ticks per quarter, or SMPTE with the top bit set).</summary>
    public SmfBuilder Division(int value)
    {
        _division = value;
        return this;
    }

    /// <summary>Overrides the header's track count (otherwise the number of MTrk chunks added).</summary>
    public SmfBuilder DeclaredTracks(int value)
    {
        _declaredTracks = value;
        return this;
    }

    /// <summary>Overrides the MThd chunk length (otherwise 6 plus any <see cref="HeaderExtra"/> bytes).</summary>
    public SmfBuilder DeclaredHeaderLength(uint value)
    {
        _declaredHeaderLength = value;
        return this;
    }

    /// <summary>Bytes after the 6 standard header bytes, inside the MThd chunk.</summary>
    public SmfBuilder HeaderExtra(params byte[] bytes)
    {
        _headerExtra = bytes;
        return this;
    }

    /// <summary>Bytes before "MThd" (junk, a MacBinary header...).</summary>
    public SmfBuilder Prefix(params byte[] bytes)
    {
        _prefix = bytes;
        return this;
    }

    /// <summary>Bytes after the last chunk.</summary>
    public SmfBuilder Suffix(params byte[] bytes)
    {
        _suffix = bytes;
        return this;
    }

    /// <summary>Adds an MTrk chunk.</summary>
    public SmfBuilder Track(Action<SmfTrack> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        var track = new SmfTrack();
        build(track);
        _chunks.Add(track.ToChunk());
        _tracks++;
        return this;
    }

    /// <summary>Adds a chunk with any 4-character id (e.g. an unknown "XFIH" chunk).</summary>
    public SmfBuilder Chunk(string id, params byte[] data)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(data);
        if (id.Length != 4)
        {
            throw new ArgumentException("A chunk id has 4 characters.", nameof(id));
        }

        var chunk = new byte[8 + data.Length];
        for (var i = 0; i < 4; i++)
        {
            chunk[i] = (byte)id[i];
        }

        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4), (uint)data.Length);
        data.CopyTo(chunk, 8);
        _chunks.Add(chunk);
        return this;
    }

    /// <summary>Raw bytes between chunks, written as they are.</summary>
    public SmfBuilder Raw(params byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        _chunks.Add(bytes);
        return this;
    }

    public byte[] Build()
    {
        var output = new List<byte>(256);
        output.AddRange(_prefix);
        output.AddRange("MThd"u8.ToArray());
        AddUInt32(output, _declaredHeaderLength ?? (uint)(6 + _headerExtra.Length));
        AddUInt16(output, _format);
        AddUInt16(output, _declaredTracks ?? _tracks);
        AddUInt16(output, _division);
        output.AddRange(_headerExtra);
        foreach (var chunk in _chunks)
        {
            output.AddRange(chunk);
        }

        output.AddRange(_suffix);
        return [.. output];
    }

    private static void AddUInt32(List<byte> output, uint value)
    {
        output.Add((byte)(value >> 24));
        output.Add((byte)(value >> 16));
        output.Add((byte)(value >> 8));
        output.Add((byte)value);
    }

    private static void AddUInt16(List<byte> output, int value)
    {
        output.Add((byte)(value >> 8));
        output.Add((byte)value);
    }
}
