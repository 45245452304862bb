using Scale.Midi;

namespace Scale.Synth;

/// <summary>
/// The instruments a song plays under Scale's playback semantics (the rules MidiExtractor implements), computed from the
/// generator's own model (never by parsing bytes): a Note On with velocity &gt; 0 on channel 10 is the drum kit;
/// elsewhere it is the program of the last Program Change on its channel before it in playback order (tick, then
/// track index, then position in the track); channels start at program 0. Formats 0 and 1 only (the generator
/// never writes format 2).
/// </summary>
internal sealed class PlaybackTruth
{
    private readonly ulong[][] _keys = new ulong[16][];
    private readonly byte[][] _programs = new byte[16][];
    private readonly int[] _counts = new int[16];
    private readonly int[] _cursors = new int[16];

    public PlaybackTruth()
    {
        for (var c = 0; c < 16; c++)
        {
            _keys[c] = new ulong[16];
            _programs[c] = new byte[16];
        }
    }

    public InstrumentSet Evaluate(SongModel song)
    {
        Array.Clear(_counts);
        for (var t = 0; t < song.TrackCount; t++)
        {
            var events = song[t].Events;
            for (var i = 0; i < events.Length; i++)
            {
                ref readonly var e = ref events[i];
                if (e.IsProgramChange && e.Channel != 9)
                {
                    AddChange(e.Channel, Key(e.Tick, t, i), e.Data1);
                }
            }
        }

        for (var c = 0; c < 16; c++)
        {
            if (_counts[c] > 1)
            {
                Array.Sort(_keys[c], _programs[c], 0, _counts[c]);
            }
        }

        var instruments = InstrumentSet.Empty;
        for (var t = 0; t < song.TrackCount; t++)
        {
            Array.Clear(_cursors);
            var events = song[t].Events;
            for (var i = 0; i < events.Length; i++)
            {
                ref readonly var e = ref events[i];
                if (!e.IsNoteOn)
                {
                    continue;
                }

                var channel = e.Channel;
                int code;
                if (channel == GeneralMidi.DrumChannel)
                {
                    code = GeneralMidi.DrumKit;
                }
                else
                {
                    // Within one track keys only grow, so each channel's cursor only moves forward.
                    var key = Key(e.Tick, t, i);
                    var keys = _keys[channel];
                    var cursor = _cursors[channel];
                    while (cursor < _counts[channel] && keys[cursor] < key)
                    {
                        cursor++;
                    }

                    _cursors[channel] = cursor;
                    code = cursor > 0 ? _programs[channel][cursor - 1] : 0;
                }

                instruments = instruments.Add(code);
            }
        }

        return instruments;
    }

    /// <summary>Playback order as one number: tick (31 bits), track (8 bits), position in the track (24 bits).</summary>
    private static ulong Key(int tick, int track, int position) =>
        ((ulong)(uint)tick << 32) | ((ulong)(uint)track << 24) | (uint)position;

    private void AddChange(int channel, ulong key, byte program)
    {
        var n = _counts[channel];
        if (n == _keys[channel].Length)
        {
            Array.Resize(ref _keys[channel], n * 2);
            Array.Resize(ref _programs[channel], n * 2);
        }

        _keys[channel][n] = key;
        _programs[channel][n] = program;
        _counts[channel] = n + 1;
    }
}
