using System.Text;

namespace Scale.Testing;

/// <summary>
/// The events of one MTrk chunk for <see cref="SmfBuilder"/>. Every event method takes the delta time first;
/// channels are 0-15 (index 9 is MIDI channel 10). <see cref="Raw"/> writes bytes with no delta, for damage.
/// </summary>
public sealed class SmfTrack
{
    private readonly List<byte> _bytes = [];
    private uint? _declaredLength;

    /// <summary>The event bytes written so far (without the chunk header).</summary>
    public IReadOnlyList<byte> Bytes => _bytes;

    /// <summary>An event: the delta time as a variable-length quantity, then the bytes as given.</summary>
    public SmfTrack Event(int delta, params byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        _bytes.AddRange(SmfVlq.Encode(delta));
        _bytes.AddRange(bytes);
        return this;
    }

    public SmfTrack NoteOn(int delta, int channel, int key, int velocity) =>
        Event(delta, Status(0x90, channel), Data(key), Data(velocity));

    /// <summary>A Note Off (0x8n) with release velocity 64.</summary>
    public SmfTrack NoteOff(int delta, int channel, int key) =>
        Event(delta, Status(0x80, channel), Data(key), 64);

    /// <summary>A note: Note On now, Note Off <paramref name="duration"/> ticks later.</summary>
    public SmfTrack Note(int delta, int channel, int key, int velocity, int duration) =>
        NoteOn(delta, channel, key, velocity).NoteOff(duration, channel, key);

    public SmfTrack ProgramChange(int delta, int channel, int program) =>
        Event(delta, Status(0xC0, channel), Data(program));

    public SmfTrack ControlChange(int delta, int channel, int controller, int value) =>
        Event(delta, Status(0xB0, channel), Data(controller), Data(value));

    /// <summary>Set Tempo: FF 51 03 tt tt tt (microseconds per quarter note).</summary>
    public SmfTrack Tempo(int delta, int microsecondsPerQuarter) =>
        Meta(delta, 0x51, (byte)(microsecondsPerQuarter >> 16), (byte)(microsecondsPerQuarter >> 8), (byte)microsecondsPerQuarter);

    /// <summary>Sequence/Track Name: FF 03, text in Latin-1.</summary>
    public SmfTrack TrackName(int delta, string text) => Meta(delta, 0x03, Latin1(text));

    /// <summary>Text event: FF 01, text in Latin-1.</summary>
    public SmfTrack Text(int delta, string text) => Meta(delta, 0x01, Latin1(text));

    /// <summary>A meta event FF type length data.</summary>
    public SmfTrack Meta(int delta, byte type, params byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        _bytes.AddRange(SmfVlq.Encode(delta));
        _bytes.Add(0xFF);
        _bytes.Add(type);
        _bytes.AddRange(SmfVlq.Encode(data.Length));
        _bytes.AddRange(data);
        return this;
    }

    /// <summary>A system-exclusive event F0 length data (data normally ends with F7).</summary>
    public SmfTrack SystemExclusive(int delta, params byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        _bytes.AddRange(SmfVlq.Encode(delta));
        _bytes.Add(0xF0);
        _bytes.AddRange(SmfVlq.Encode(data.Length));
        _bytes.AddRange(data);
        return this;
    }

    /// <summary>End of Track: FF 2F 00.</summary>
    public SmfTrack EndOfTrack(int delta = 0) => Meta(delta, 0x2F);

    /// <summary>Bytes written as they are, without a delta time.</summary>
    public SmfTrack Raw(params byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        _bytes.AddRange(bytes);
        return this;
    }

    /// <summary>Overrides the chunk's length field (otherwise the number of event bytes).</summary>
    public SmfTrack DeclaredLength(uint length)
    {
        _declaredLength = length;
        return this;
    }

    internal byte[] ToChunk()
    {
        var length = _declaredLength ?? (uint)_bytes.Count;
        var chunk = new byte[8 + _bytes.Count];
        "MTrk"u8.CopyTo(chunk);
        chunk[4] = (byte)(length >> 24);
        chunk[5] = (byte)(length >> 16);
        chunk[6] = (byte)(length >> 8);
        chunk[7] = (byte)length;
        _bytes.CopyTo(chunk, 8);
        return chunk;
    }

    private static byte Status(int kind, int channel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channel, 15);
        return (byte)(kind | channel);
    }

    private static byte Data(int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 127);
        return (byte)value;
    }

    private static byte[] Latin1(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encoding.Latin1.GetBytes(text);
    }
}
