namespace Scale.Synth;

/// <summary>
/// Appends events to one track in tick order and keeps the exact number of bytes the track will take when
/// serialized on its own (format 1), so generation can stop when a part has spent its byte budget.
/// </summary>
internal sealed class TrackWriter
{
    private SongModel _song = null!;
    private TrackModel _track = null!;
    private int _running;
    private bool _useRunningStatus;

    /// <summary>Serialized size so far, chunk header included.</summary>
    public int Bytes { get; private set; }

    public int LastTick { get; private set; }

    public TrackModel Track => _track;

    public void Begin(SongModel song, TrackModel track, bool useRunningStatus)
    {
        _song = song;
        _track = track;
        _running = 0;
        _useRunningStatus = useRunningStatus;
        LastTick = 0;
        Bytes = 8;
    }

    public void Channel(int tick, int status, int data1, int data2 = 0)
    {
        var delta = Advance(tick);
        Bytes += ByteBuffer.VlqLength(delta) + (_useRunningStatus && status == _running ? 0 : 1) +
                 (MidiEvent.HasTwoDataBytes(status) ? 2 : 1);
        _running = status;
        ref var e = ref _track.Add();
        e.Tick = tick;
        e.Status = (byte)status;
        e.Data1 = (byte)data1;
        e.Data2 = (byte)data2;
    }

    public void Meta(int tick, byte type, ReadOnlySpan<byte> data) =>
        AddNonChannel(tick, MidiEvent.Meta, type, _song.AddPayload(data), data.Length, 2);

    public void MetaText(int tick, byte type, string text) =>
        AddNonChannel(tick, MidiEvent.Meta, type, _song.AddPayloadAscii(text), text.Length, 2);

    /// <summary>A sysex event; <paramref name="data"/> is everything after F0, closing F7 included.</summary>
    public void Sysex(int tick, ReadOnlySpan<byte> data) =>
        AddNonChannel(tick, MidiEvent.Sysex, 0, _song.AddPayload(data), data.Length, 1);

    /// <summary>Places End of Track at <paramref name="tick"/> (or the last event, if later).</summary>
    public void End(int tick)
    {
        var end = Math.Max(tick, LastTick);
        Bytes += ByteBuffer.VlqLength(end - LastTick) + 3;
        _track.EndTick = end;
    }

    private void AddNonChannel(int tick, byte status, byte type, int offset, int length, int prefix)
    {
        var delta = Advance(tick);
        Bytes += ByteBuffer.VlqLength(delta) + prefix + ByteBuffer.VlqLength(length) + length;
        _running = 0;
        ref var e = ref _track.Add();
        e.Tick = tick;
        e.Status = status;
        e.Data1 = type;
        e.PayloadOffset = offset;
        e.PayloadLength = length;
    }

    private int Advance(int tick)
    {
        // A generator bug, not bad input: events must come in tick order or the delta times would be negative.
        if (tick < LastTick)
        {
            throw new InvalidOperationException($"Event at tick {tick} after one at tick {LastTick}.");
        }

        var delta = tick - LastTick;
        LastTick = tick;
        return delta;
    }
}
