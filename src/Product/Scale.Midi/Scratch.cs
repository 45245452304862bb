using System.Runtime.InteropServices;

namespace Scale.Midi;

/// <summary>Where a track chunk's events lie in the SMF span, and what the passes learned about it.</summary>
internal struct TrackRange
{
    public int Start;
    public int Length;

    /// <summary>The chunk reaches the end of the file, so a cut-off last event means a truncated file, not a bad chunk.</summary>
    public bool ClampedAtEndOfFile;

    public long Ticks;

    /// <summary>Bit per channel whose notes must be attributed one by one in a second pass.</summary>
    public int SecondPassChannels;
}

/// <summary>A program change in playback-order coordinates.</summary>
/// <remarks>Packed to 18 bytes (from 24): a file of nothing but program changes makes this array its largest
/// allocation, and the unaligned tick costs nothing measurable on x64.</remarks>
[StructLayout(LayoutKind.Sequential, Pack = 2)]
internal readonly record struct ProgramChange(long Tick, int Track, int At, byte Channel, byte Program)
{
    /// <summary>Orders by playback position: tick, then track index, then position in the track.</summary>
    public int CompareKey(long tick, int track, int at) =>
        Tick != tick ? Tick.CompareTo(tick) : Track != track ? Track.CompareTo(track) : At.CompareTo(at);
}

internal readonly record struct TempoChange(long Tick, int Track, int At, int MicrosecondsPerQuarter);

/// <summary>Notes one track sounded on one channel: how many, and the playback positions of the first and last.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct ChannelNotes
{
    public int Count;
    public long FirstTick;
    public int FirstAt;
    public long LastTick;
    public int LastAt;
}

[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal readonly record struct NoteGroup(int Track, int Channel, ChannelNotes Notes);
