using System.Text;
using Scale.Testing;

namespace Scale.Midi.Tests;

/// <summary>
/// A random, well-formed song built with <see cref="SmfBuilder"/>, and what it must yield, worked out by a naive
/// model of the rules: every event of every track in a list, sorted into playback order (tick, track, position),
/// played through 16 channel programs. Uses shared channels across tracks, same-tick ties, running status,
/// velocity-0 notes, drums, tempo changes, meta and sysex events.
/// </summary>
internal sealed class RandomSong
{
    private enum Kind
    {
        Note,
        Program,
        Tempo,
    }

    private readonly record struct Played(long Tick, int Track, int Position, Kind Kind, int Channel, int Value);

    public required byte[] Bytes { get; init; }

    public required int Format { get; init; }

    public required int Tracks { get; init; }

    public required int Division { get; init; }

    public required int[] NoteCounts { get; init; }

    public required long Ticks { get; init; }

    public required double Seconds { get; init; }

    public long Notes => NoteCounts.Sum();

    public static RandomSong Create(Random random, int maxTracks = 5, int maxEvents = 40)
    {
        var format = random.Next(3);
        var tracks = format == 0 ? 1 : random.Next(1, maxTracks + 1);
        int[] divisions = [1, 24, 96, 120, 480, 960, 0x7FFF];
        var division = divisions[random.Next(divisions.Length)];
        var builder = new SmfBuilder(format, division);
        var played = new List<Played>();
        var trackEnds = new long[tracks];
        for (var track = 0; track < tracks; track++)
        {
            var index = track;
            builder.Track(t => trackEnds[index] = WriteTrack(t, random, index, random.Next(maxEvents + 1), played));
        }

        var counts = new int[GeneralMidi.InstrumentCount];
        double seconds = 0;
        if (format == 2)
        {
            for (var track = 0; track < tracks; track++)
            {
                var own = played.Where(p => p.Track == track).ToList();
                Play(own, counts);
                seconds += SecondsUntil(own, trackEnds[track], division);
            }
        }
        else
        {
            Play(played, counts);
            seconds = SecondsUntil(played, trackEnds.Max(), division);
        }

        return new RandomSong
        {
            Bytes = builder.Build(),
            Format = format,
            Tracks = tracks,
            Division = division,
            NoteCounts = counts,
            Ticks = format == 2 ? trackEnds.Sum() : trackEnds.Max(),
            Seconds = seconds,
        };
    }

    /// <summary>Writes one track's events and returns its end tick.</summary>
    private static long WriteTrack(SmfTrack t, Random random, int track, int events, List<Played> played)
    {
        long tick = 0;
        var running = -1;
        for (var position = 0; position < events; position++)
        {
            var delta = random.Next(10) switch
            {
                < 4 => 0,
                < 8 => random.Next(1, 11),
                _ => random.Next(0, 400),
            };
            tick += delta;
            var channel = random.Next(4) switch
            {
                0 => 0,
                1 => 9,
                2 => 1,
                _ => random.Next(16),
            };
            var roll = random.Next(100);
            if (roll < 35)
            {
                var velocity = random.Next(100) < 15 ? 0 : random.Next(1, 128);
                Channel(t, delta, 0x90 | channel, [(byte)random.Next(128), (byte)velocity], random, ref running);
                if (velocity > 0)
                {
                    played.Add(new Played(tick, track, position, Kind.Note, channel, 0));
                }
            }
            else if (roll < 50)
            {
                Channel(t, delta, 0x80 | channel, [(byte)random.Next(128), (byte)random.Next(128)], random, ref running);
            }
            else if (roll < 65)
            {
                var program = random.Next(128);
                Channel(t, delta, 0xC0 | channel, [(byte)program], random, ref running);
                played.Add(new Played(tick, track, position, Kind.Program, channel, program));
            }
            else if (roll < 72)
            {
                Channel(t, delta, 0xB0 | channel, [(byte)random.Next(120), (byte)random.Next(128)], random, ref running);
            }
            else if (roll < 76)
            {
                Channel(t, delta, 0xE0 | channel, [(byte)random.Next(128), (byte)random.Next(128)], random, ref running);
            }
            else if (roll < 79)
            {
                Channel(t, delta, 0xD0 | channel, [(byte)random.Next(128)], random, ref running);
            }
            else if (roll < 81)
            {
                Channel(t, delta, 0xA0 | channel, [(byte)random.Next(128), (byte)random.Next(128)], random, ref running);
            }
            else if (roll < 86)
            {
                var tempo = random.Next(1, 0x100_0000);
                t.Tempo(delta, tempo);
                played.Add(new Played(tick, track, position, Kind.Tempo, 0, tempo));
                running = -1;
            }
            else if (roll < 91)
            {
                t.Text(delta, RandomText(random));
                running = -1;
            }
            else if (roll < 94)
            {
                var data = new byte[random.Next(0, 20)];
                random.NextBytes(data);
                for (var i = 0; i < data.Length; i++)
                {
                    data[i] &= 0x7F;
                }

                t.SystemExclusive(delta, [.. data, 0xF7]);
                running = -1;
            }
            else
            {
                t.Meta(delta, 0x58, 0x04, 0x02, 0x18, 0x08); // time signature 4/4
                running = -1;
            }
        }

        var last = random.Next(0, 50);
        t.EndOfTrack(last);
        return tick + last;
    }

    /// <summary>A channel message, sometimes in running status (the status byte left out when it repeats).</summary>
    private static void Channel(SmfTrack t, int delta, int status, byte[] data, Random random, ref int running)
    {
        if (status == running && random.Next(2) == 0)
        {
            t.Event(delta, data);
        }
        else
        {
            t.Event(delta, [(byte)status, .. data]);
        }

        running = status;
    }

    private static string RandomText(Random random)
    {
        var text = new StringBuilder();
        var length = random.Next(0, 12);
        for (var i = 0; i < length; i++)
        {
            text.Append((char)random.Next(0x20, 0x7F));
        }

        return text.ToString();
    }

    private static void Play(List<Played> events, int[] counts)
    {
        var programs = new int[16];
        foreach (var e in events.OrderBy(e => e.Tick).ThenBy(e => e.Track).ThenBy(e => e.Position))
        {
            if (e.Kind == Kind.Program)
            {
                programs[e.Channel] = e.Value;
            }
            else if (e.Kind == Kind.Note)
            {
                counts[e.Channel == 9 ? GeneralMidi.DrumKit : programs[e.Channel]]++;
            }
        }
    }

    /// <summary>Seconds from tick 0 to <paramref name="end"/>: each stretch between tempo changes at its tempo.</summary>
    private static double SecondsUntil(List<Played> events, long end, int division)
    {
        var changes = events.Where(e => e.Kind == Kind.Tempo && e.Tick < end)
            .OrderBy(e => e.Tick).ThenBy(e => e.Track).ThenBy(e => e.Position).ToList();
        double microseconds = 0;
        var from = 0L;
        var tempo = 500_000.0;
        foreach (var change in changes)
        {
            microseconds += (change.Tick - from) * tempo / division;
            from = change.Tick;
            tempo = change.Value;
        }

        microseconds += (end - from) * tempo / division;
        return microseconds / 1e6;
    }
}
