namespace Scale.Midi;

public sealed partial class MidiExtractor
{
    /// <summary>
    /// Formats 0 and 1 share the 16 channels across tracks, so a note's program is the last program change on its
    /// channel before it in playback order (tick, then track index, then position in the track). The first pass
    /// kept, per track and channel, how many notes sounded and the positions of the first and last; when no
    /// program change on that channel falls between them, all those notes share one program and need no second
    /// look. Only channels where changes and notes interleave are read again, note by note.
    /// </summary>
    private void ResolveSharedChannels(ReadOnlySpan<byte> smf)
    {
        var changes = _changes.AsSpan(0, _changeCount);
        changes.Sort(static (a, b) => a.Channel != b.Channel ? a.Channel.CompareTo(b.Channel) : a.CompareKey(b.Tick, b.Track, b.At));

        Array.Clear(_channelChangeStart);
        foreach (var change in changes)
        {
            _channelChangeStart[change.Channel + 1]++;
        }

        for (var c = 1; c <= 16; c++)
        {
            _channelChangeStart[c] += _channelChangeStart[c - 1];
        }

        var needsSecondPass = false;
        foreach (ref readonly var group in _groups.AsSpan(0, _groupCount))
        {
            var start = _channelChangeStart[group.Channel];
            var end = _channelChangeStart[group.Channel + 1];
            var firstAfter = FirstChangeNotBefore(changes, start, end, group.Notes.FirstTick, group.Track, group.Notes.FirstAt);
            if (firstAfter < end && changes[firstAfter].CompareKey(group.Notes.LastTick, group.Track, group.Notes.LastAt) < 0)
            {
                _tracks[group.Track].SecondPassChannels |= 1 << group.Channel;
                needsSecondPass = true;
            }
            else
            {
                _noteCounts[firstAfter > start ? changes[firstAfter - 1].Program : 0] += group.Notes.Count;
            }
        }

        if (!needsSecondPass)
        {
            return;
        }

        for (var t = 0; t < _trackCount; t++)
        {
            var range = _tracks[t];
            if (range.SecondPassChannels != 0)
            {
                // The first pass already accepted this track, so the second cannot fail.
                ParseTrack<SecondPassMode>(smf.Slice(range.Start, range.Length), t, range.Start, out _);
            }
        }
    }

    /// <summary>Index of the first change in [start, end) at or after the given playback position (binary search).</summary>
    private static int FirstChangeNotBefore(ReadOnlySpan<ProgramChange> changes, int start, int end, long tick, int track, int at)
    {
        var low = start;
        var high = end;
        while (low < high)
        {
            var mid = (int)((uint)(low + high) >> 1);
            if (changes[mid].CompareKey(tick, track, at) < 0)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    /// <summary>The program in force on a channel for a note in the second pass; notes arrive in playback order.</summary>
    private int ProgramAt(int channel, long tick, int track, int at)
    {
        var cursor = _channelCursor[channel];
        var end = _channelChangeStart[channel + 1];
        while (cursor < end && _changes[cursor].CompareKey(tick, track, at) < 0)
        {
            cursor++;
        }

        _channelCursor[channel] = cursor;
        return cursor > _channelChangeStart[channel] ? _changes[cursor - 1].Program : 0;
    }
}
