namespace Scale.Synth;

/// <summary>How the serializer deviates from a clean encoding of an event (the event-level damage kinds).</summary>
[Flags]
internal enum EventFlags : byte
{
    None = 0,

    /// <summary>Never write the status byte, even where a clean file must (running status where none is allowed).</summary>
    OmitStatus = 1,

    /// <summary>Write the delta time as a 5-byte variable-length quantity.</summary>
    OverlongDelta = 2,

    /// <summary>Write the second data byte with its high bit set.</summary>
    HighBitData = 4,
}

/// <summary>
/// One event of a track at an absolute tick. Channel events keep status and data inline; meta, sysex and raw
/// events point into the song's payload buffer. 16 bytes, stored in plain arrays, so a 100k-event song costs no
/// allocations once a generator has warmed up.
/// </summary>
internal struct MidiEvent
{
    /// <summary>Status of a raw event: its payload is written verbatim after the delta time.</summary>
    public const byte Raw = 0x00;

    public const byte Meta = 0xFF;

    public const byte Sysex = 0xF0;

    public int Tick;

    /// <summary>0x80-0xEF for channel events, <see cref="Meta"/>, <see cref="Sysex"/> or <see cref="Raw"/>.</summary>
    public byte Status;

    /// <summary>First data byte, or the meta type.</summary>
    public byte Data1;

    public byte Data2;

    public EventFlags Flags;

    public int PayloadOffset;

    public int PayloadLength;

    public readonly bool IsChannel => Status is >= 0x80 and < 0xF0;

    public readonly bool IsNoteOn => (Status & 0xF0) == 0x90 && Data2 != 0;

    public readonly bool IsProgramChange => (Status & 0xF0) == 0xC0;

    public readonly int Channel => Status & 0x0F;

    /// <summary>Program change and channel pressure carry one data byte; the other channel messages two.</summary>
    public static bool HasTwoDataBytes(int status) => (status & 0xE0) != 0xC0;
}

/// <summary>A track: events in tick order, then End of Track (unless damaged away) and optional raw tail bytes.</summary>
internal sealed class TrackModel
{
    private MidiEvent[] _events = new MidiEvent[256];

    public int Count { get; private set; }

    /// <summary>Tick of the End of Track event; never before the last event.</summary>
    public int EndTick { get; set; }

    public bool OmitEndOfTrack { get; set; }

    /// <summary>Raw bytes written inside the chunk after the events (and after End of Track when there is one).</summary>
    public int TailOffset { get; set; }

    public int TailLength { get; set; }

    public Span<MidiEvent> Events => _events.AsSpan(0, Count);

    public ref MidiEvent this[int index] => ref _events[index];

    public int LastTick => Count == 0 ? 0 : _events[Count - 1].Tick;

    public void Reset()
    {
        Count = 0;
        EndTick = 0;
        OmitEndOfTrack = false;
        TailOffset = 0;
        TailLength = 0;
    }

    public ref MidiEvent Add()
    {
        if (Count == _events.Length)
        {
            Array.Resize(ref _events, _events.Length * 2);
        }

        ref var e = ref _events[Count++];
        e = default;
        return ref e;
    }

    public void Insert(int index, in MidiEvent e)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, Count);
        if (Count == _events.Length)
        {
            Array.Resize(ref _events, _events.Length * 2);
        }

        Array.Copy(_events, index, _events, index + 1, Count - index);
        _events[index] = e;
        Count++;
    }

    /// <summary>Drops every event from <paramref name="index"/> on.</summary>
    public void TruncateAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, Count);
        Count = index;
    }
}

/// <summary>A whole song before serialization: header fields, tracks and the payload bytes of meta/sysex events.</summary>
internal sealed class SongModel
{
    private readonly List<TrackModel> _tracks = [];

    public int Format { get; set; } = 1;

    public int Division { get; set; } = 480;

    public int TrackCount { get; private set; }

    public ByteBuffer Payload { get; } = new(16 * 1024);

    public TrackModel this[int index] => index < TrackCount ? _tracks[index] : throw new ArgumentOutOfRangeException(nameof(index));

    public void Reset()
    {
        TrackCount = 0;
        Format = 1;
        Division = 480;
        Payload.Clear();
    }

    public TrackModel AddTrack()
    {
        if (TrackCount == _tracks.Count)
        {
            _tracks.Add(new TrackModel());
        }

        var track = _tracks[TrackCount++];
        track.Reset();
        return track;
    }

    /// <summary>Removes the tracks from <paramref name="count"/> on (their storage is kept for reuse).</summary>
    public void TruncateTracks(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, TrackCount);
        TrackCount = count;
    }

    /// <summary>Swaps two tracks (their storage too), used to reorder parts and to merge into format 0.</summary>
    public void SwapTracks(int a, int b) => (_tracks[a], _tracks[b]) = (_tracks[b], _tracks[a]);

    /// <summary>Stores bytes for a meta, sysex or raw event (or a tail) and returns their offset.</summary>
    public int AddPayload(ReadOnlySpan<byte> bytes)
    {
        var offset = Payload.Length;
        Payload.Add(bytes);
        return offset;
    }

    public int AddPayloadAscii(string text)
    {
        var offset = Payload.Length;
        Payload.AddAscii(text);
        return offset;
    }

    public ReadOnlySpan<byte> PayloadOf(in MidiEvent e) => Payload.Span.Slice(e.PayloadOffset, e.PayloadLength);
}
