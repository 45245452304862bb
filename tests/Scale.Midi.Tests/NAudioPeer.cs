using NAudio.Midi;

namespace Scale.Midi.Tests;

/// <summary>What a peer parser made of a file: its instrument set, or why it refused the file.</summary>
internal sealed record PeerResult(InstrumentSet Instruments, string? Error)
{
    public bool Ok => Error is null;
}

/// <summary>
/// Scale's instrument semantics (docs/instrument-semantics.md) implemented independently on NAudio.Midi's parser:
/// NAudio reads the events, this class decides what sounds. NAudio numbers channels 1-16 (drums = 10), keeps a
/// Note On with velocity 0 as a NoteOnEvent (so velocity is checked here), and gives each event's delta time.
/// </summary>
internal static class NAudioPeer
{
    private const int DrumChannel = 10;

    public static PeerResult Instruments(byte[] bytes)
    {
        MidiFile file;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            file = new MidiFile(stream, strictChecking: false);
        }
        catch (Exception ex) // any failure of the peer (NAudio even throws NullReferenceException) means it could not parse
        {
            return new PeerResult(InstrumentSet.Empty, ex.GetType().Name + ": " + ex.Message);
        }

        var found = InstrumentSet.Empty;
        if (file.FileFormat == 2)
        {
            for (var track = 0; track < file.Tracks; track++)
            {
                found = found.Union(Play(Timeline(file, [track])));
            }
        }
        else
        {
            found = Play(Timeline(file, [.. Enumerable.Range(0, file.Tracks)]));
        }

        return new PeerResult(found, null);
    }

    /// <summary>Events of the given tracks in playback order: absolute tick, then track index, then position.</summary>
    private static IEnumerable<MidiEvent> Timeline(MidiFile file, int[] tracks)
    {
        var timed = new List<(long Tick, int Track, int Index, MidiEvent Event)>();
        foreach (var track in tracks)
        {
            // Ticks from the delta times (NAudio's AbsoluteTime runs on across tracks of a format 0 file).
            long tick = 0;
            var events = file.Events[track];
            for (var i = 0; i < events.Count; i++)
            {
                tick += events[i].DeltaTime;
                timed.Add((tick, track, i, events[i]));
            }
        }

        return timed.OrderBy(e => e.Tick).ThenBy(e => e.Track).ThenBy(e => e.Index).Select(e => e.Event);
    }

    private static InstrumentSet Play(IEnumerable<MidiEvent> events)
    {
        var programs = new int[17];
        var found = InstrumentSet.Empty;
        foreach (var e in events)
        {
            switch (e)
            {
                case PatchChangeEvent change:
                    programs[change.Channel] = change.Patch;
                    break;
                case NoteOnEvent note when note.CommandCode == MidiCommandCode.NoteOn && note.Velocity > 0:
                    found = found.Add(note.Channel == DrumChannel ? GeneralMidi.DrumKit : programs[note.Channel]);
                    break;
            }
        }

        return found;
    }
}
