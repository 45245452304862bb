namespace Scale.Midi;

/// <summary>Turns ticks into seconds through the division and the tempo map.</summary>
internal static class Timing
{
    private const double DefaultTempo = 500_000; // microseconds per quarter note: 120 bpm, the SMF default

    /// <summary>
    /// Ticks per quarter note above zero, or SMPTE (top bit set: the high byte is minus the frame rate, one of 24,
    /// 25, 29 (drop frame) or 30, and the low byte ticks per frame, above zero).
    /// </summary>
    public static bool IsValidDivision(int division)
    {
        if ((division & 0x8000) == 0)
        {
            return division != 0;
        }

        return -(sbyte)(division >> 8) is 24 or 25 or 29 or 30 && (division & 0xFF) != 0;
    }

    public static double? Seconds(int division, int format, ReadOnlySpan<TrackRange> tracks, Span<TempoChange> tempos, long ticks)
    {
        if (!IsValidDivision(division))
        {
            return null;
        }

        if ((division & 0x8000) != 0)
        {
            // SMPTE: tempo does not apply; 29 means 29.97 frames per second (drop frame).
            var framesPerSecond = -(sbyte)(division >> 8);
            var fps = framesPerSecond == 29 ? 29.97 : framesPerSecond;
            return ticks / (fps * (division & 0xFF));
        }

        tempos.Sort(static (a, b) => a.Tick != b.Tick ? a.Tick.CompareTo(b.Tick) : a.Track != b.Track ? a.Track.CompareTo(b.Track) : a.At.CompareTo(b.At));
        if (format != 2)
        {
            return MicrosecondsUntil(ticks, tempos, track: -1) / (division * 1e6);
        }

        // Format 2: independent sequences played one after another, each with its own tempo map.
        double total = 0;
        for (var t = 0; t < tracks.Length; t++)
        {
            total += MicrosecondsUntil(tracks[t].Ticks, tempos, t);
        }

        return total / (division * 1e6);
    }

    /// <summary>Tick-microseconds from 0 to <paramref name="end"/> (divide by division for microseconds).</summary>
    private static double MicrosecondsUntil(long end, ReadOnlySpan<TempoChange> tempos, int track)
    {
        double sum = 0;
        long lastTick = 0;
        var tempo = DefaultTempo;
        foreach (var change in tempos)
        {
            if (track >= 0 && change.Track != track)
            {
                continue;
            }

            if (change.Tick >= end)
            {
                break;
            }

            sum += (change.Tick - lastTick) * tempo;
            lastTick = change.Tick;
            tempo = change.MicrosecondsPerQuarter;
        }

        return sum + ((end - lastTick) * tempo);
    }
}
