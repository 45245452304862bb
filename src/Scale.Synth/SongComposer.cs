using Scale.Midi;

namespace Scale.Synth;

/// <summary>What a part plays like: register, chords, rests, note lengths.</summary>
internal enum PartRole : byte
{
    Keys,
    Guitar,
    Bass,
    Sustained,
    Melody,
    Sparse,
    Drums,
}

/// <summary>Which drum sounds a drum track plays; a kit split over two tracks (both on channel 10) divides them.</summary>
[Flags]
internal enum DrumVoices : byte
{
    None = 0,
    KickSnare = 1,
    Cymbals = 2,
    Percussion = 4,
    All = KickSnare | Cymbals | Percussion,
}

/// <summary>
/// Composes a plausible pop-style song into a <see cref="SongModel"/>: a conductor track (names, copyright, text,
/// time and key signature, tempo map, markers, sometimes a GS/GM/XG reset) and one track per part with program
/// changes, controllers, pitch bend and notes. Running status is used wherever it may be. Layout quirks real
/// files have are reproduced on purpose: program changes in mid-track, two tracks sharing a channel, tracks
/// without a program change, a program change on a track with no notes, drum kits chosen by a program change
/// on channel 10 and kits split over two tracks. Each part stops when it has spent its byte budget, which is
/// how the average file size is held to the target.
/// </summary>
internal sealed class SongComposer
{
    /// <summary>Serialized bytes of one note (on + off) with a one-byte delta and running status, about.</summary>
    private const double BytesPerNote = 6.6;

    /// <summary>Far below the 2^28 a delta may reach and the 2^31 of the model's ticks.</summary>
    private const int MaxTick = 1 << 26;

    private static readonly int[] MelodicChannels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15];

    private readonly TrackWriter _w = new();
    private readonly Part[] _parts = new Part[24];
    private readonly byte[] _programs = new byte[128];
    private readonly double[] _weights = new double[128];
    private readonly int[] _channels = new int[15];
    private readonly int[] _mergeCursor = new int[32];
    private readonly int[] _offTick = new int[64];
    private readonly byte[] _offKey = new byte[64];
    private readonly PhraseNote[] _phrase = new PhraseNote[32];
    private readonly DrumHit[] _groove = new DrumHit[128];
    private int _offCount;
    private int _offChannel;
    private bool _offAsZeroVelocity;
    private byte _offVelocity;

    /// <summary>Whether the serializer should use running status for this song (most sequencers do).</summary>
    public bool UseRunningStatus { get; private set; }

    private struct Part
    {
        public PartRole Role;
        public int Channel;
        public int ProgramCount;
        public byte Program0;
        public byte Program1;
        public byte Program2;
        public bool OmitProgramChange;
        public bool ProgramOnly;
        public bool Lyrics;
        public bool Ride;
        public DrumVoices Voices;
        public int DrumKit;
        public double Weight;

        public readonly byte ProgramAt(int segment) => segment switch { 0 => Program0, 1 => Program1, _ => Program2 };
    }

    /// <summary>
    /// Composes a song of about <paramref name="targetBytes"/> serialized bytes. Damage kinds that need several
    /// tracks set <paramref name="forceFormat1"/>; <paramref name="silent"/> makes a song with no notes at all.
    /// </summary>
    public void Compose(SongModel song, SynthRandom rng, int targetBytes, SongIdentity identity, bool forceFormat1, bool silent)
    {
        song.Reset();
        UseRunningStatus = rng.Chance(0.9);
        var format0 = !forceFormat1 && rng.Chance(0.1);
        song.Division = rng.Pick<int>([96, 120, 120, 192, 192, 384, 384, 480, 480, 480]);
        var division = song.Division;
        var bpm = 70 + rng.Next(50) + rng.Next(50);
        var (numerator, denominatorPower) = rng.Next(100) switch
        {
            < 80 => (4, 2),
            < 90 => (3, 2),
            < 95 => (6, 3),
            < 98 => (2, 2),
            < 99 => (12, 3),
            _ => (5, 2),
        };
        var barTicks = numerator * division * 4 >> denominatorPower;
        var seconds = 100 + rng.Next(200);
        var bars = Math.Max(4, (int)((long)seconds * bpm * division / 60 / barTicks));
        var length = bars * barTicks;

        var conductor = song.AddTrack();
        Conductor(song, conductor, rng, identity, bpm, numerator, denominatorPower, barTicks, bars);
        var conductorBytes = _w.Bytes;

        var partCount = silent ? 1 + rng.Next(4) : PlanParts(rng);
        var totalWeight = 0.0;
        for (var i = 0; i < partCount; i++)
        {
            totalWeight += _parts[i].Weight;
        }

        // The header, the conductor, and per part a chunk header plus about 45 bytes of setup events (53 in all)
        // come out of the budget first.
        var partsBudget = Math.Max(targetBytes - 14 - conductorBytes - (partCount * 53), 60 * partCount);
        for (var i = 0; i < partCount; i++)
        {
            var track = song.AddTrack();
            if (silent)
            {
                SilentPart(song, track, rng, i, Math.Max(200, partsBudget / partCount), length, division);
                continue;
            }

            ref var part = ref _parts[i];
            var budget = part.Weight <= 0 ? 0 : (int)(partsBudget * part.Weight / totalWeight) + 53;
            if (part.Role == PartRole.Drums)
            {
                DrumPart(song, track, rng, part, budget, length, division, barTicks, numerator);
            }
            else
            {
                MelodicPart(song, track, rng, part, budget, length, division, barTicks);
            }
        }

        var end = conductor.LastTick;
        for (var t = 1; t < song.TrackCount; t++)
        {
            end = Math.Max(end, song[t].EndTick);
        }

        conductor.EndTick = end;
        if (format0)
        {
            MergeToFormat0(song);
        }
        else
        {
            song.Format = 1;
        }
    }

    private void Conductor(SongModel song, TrackModel track, SynthRandom rng, SongIdentity identity, int bpm,
        int numerator, int denominatorPower, int barTicks, int bars)
    {
        _w.Begin(song, track, UseRunningStatus);
        if (rng.Chance(0.9))
        {
            _w.MetaText(0, 0x03, identity.Title);
        }

        if (rng.Chance(0.5))
        {
            _w.MetaText(0, 0x02, SongNaming.Copyright(rng, identity.Artist));
        }

        if (rng.Chance(0.35))
        {
            _w.MetaText(0, 0x01, SongNaming.Credit(rng));
        }

        if (rng.Chance(0.08))
        {
            // SMPTE offset 00:00:00:00.00 at 30 fps (rate bits 11 in the hour byte).
            _w.Meta(0, 0x54, [0x60, 0, 0, 0, 0]);
        }

        _w.Meta(0, 0x58, [(byte)numerator, (byte)denominatorPower, 24, 8]);
        if (rng.Chance(0.75))
        {
            _w.Meta(0, 0x59, [(byte)(sbyte)rng.Range(-7, 8), (byte)rng.Next(2)]);
        }

        Tempo(0, bpm);
        var reset = rng.NextDouble();
        if (reset < 0.18)
        {
            _w.Sysex(0, [0x41, 0x10, 0x42, 0x12, 0x40, 0x00, 0x7F, 0x00, 0x41, 0xF7]); // GS reset
        }
        else if (reset < 0.30)
        {
            _w.Sysex(0, [0x7E, 0x7F, 0x09, 0x01, 0xF7]); // GM system on
        }
        else if (reset < 0.34)
        {
            _w.Sysex(0, [0x43, 0x10, 0x4C, 0x00, 0x00, 0x7E, 0x00, 0xF7]); // XG system on
        }

        var markerEvery = rng.Chance(0.3) ? 8 : 0;
        var changes = rng.Chance(0.55) ? 0 : 1 + rng.Next(12);
        var changeChance = (double)changes / bars;
        for (var bar = 1; bar < bars; bar++)
        {
            var tick = bar * barTicks;
            if (markerEvery > 0 && bar % markerEvery == 0)
            {
                _w.MetaText(tick, 0x06, SongNaming.Marker(rng));
            }

            if (changes > 0 && rng.Chance(changeChance))
            {
                Tempo(tick, Math.Clamp(bpm + rng.Range(-8, 9), 40, 240));
            }
        }
    }

    private void Tempo(int tick, int bpm)
    {
        var microseconds = 60_000_000 / bpm;
        _w.Meta(tick, 0x51, [(byte)(microseconds >> 16), (byte)(microseconds >> 8), (byte)microseconds]);
    }

    /// <summary>Chooses instruments, tracks and channels; returns the number of parts in <see cref="_parts"/>.</summary>
    private int PlanParts(SynthRandom rng)
    {
        var instruments = 1 + rng.PickWeighted(InstrumentTable.InstrumentCountWeights);
        var hasDrums = rng.Chance(InstrumentTable.DrumShare);
        var melodic = instruments - (hasDrums ? 1 : 0);
        InstrumentTable.DrawPrograms(rng, melodic, _programs, _weights);

        var drumTracks = hasDrums ? (rng.Chance(0.15) ? 2 : 1) : 0;
        var programOnly = rng.Chance(0.05);
        var maxMelodicTracks = Math.Min(MelodicChannels.Length, 19 - drumTracks - (programOnly ? 1 : 0));
        var melodicTracks = Math.Min(melodic, maxMelodicTracks);
        if (melodicTracks >= 3 && melodicTracks == melodic && rng.Chance(0.1))
        {
            melodicTracks--; // one track changes program in mid-song
        }

        MelodicChannels.CopyTo(_channels, 0);
        if (rng.Chance(0.25))
        {
            for (var i = _channels.Length - 1; i > 0; i--)
            {
                var j = rng.Next(i + 1);
                (_channels[i], _channels[j]) = (_channels[j], _channels[i]);
            }
        }

        var count = 0;
        for (var i = 0; i < melodicTracks; i++)
        {
            _parts[count++] = new Part
            {
                Role = RoleOf(_programs[i]),
                Channel = _channels[i],
                ProgramCount = 1,
                Program0 = _programs[i],
                OmitProgramChange = rng.Chance(0.03),
                Weight = RoleWeight(RoleOf(_programs[i])) * (0.6 + (0.8 * rng.NextDouble())),
            };
        }

        // Programs left over go to tracks that switch program in mid-song.
        for (var p = melodicTracks; p < melodic; p++)
        {
            var target = rng.Next(melodicTracks);
            while (_parts[target].ProgramCount == 3)
            {
                target = (target + 1) % melodicTracks;
            }

            ref var part = ref _parts[target];
            if (part.ProgramCount == 1)
            {
                part.Program1 = _programs[p];
            }
            else
            {
                part.Program2 = _programs[p];
            }

            part.ProgramCount++;
            part.Weight *= 1.3;
        }

        if (melodicTracks >= 3 && rng.Chance(0.08))
        {
            // Two tracks on one channel: whichever program change comes last in playback order wins for both.
            var b = 1 + rng.Next(melodicTracks - 1);
            _parts[b].Channel = _parts[rng.Next(b)].Channel;
        }

        if (melodicTracks > 0 && rng.Chance(0.08))
        {
            _parts[rng.Next(melodicTracks)].Lyrics = true;
        }

        if (programOnly && melodicTracks < MelodicChannels.Length)
        {
            // A program change on a channel that never sounds: must not count as an instrument.
            var program = (byte)rng.Next(128);
            _parts[count++] = new Part
            {
                Role = RoleOf(program),
                Channel = _channels[melodicTracks],
                ProgramCount = 1,
                Program0 = program,
                ProgramOnly = true,
            };
        }

        var kit = rng.Chance(0.3) ? rng.Pick(InstrumentTable.DrumKits) : -1;
        var rideSong = rng.Chance(0.3);
        for (var d = 0; d < drumTracks; d++)
        {
            var voices = drumTracks == 1 ? DrumVoices.All : d == 0 ? DrumVoices.KickSnare : DrumVoices.Cymbals | DrumVoices.Percussion;
            var drums = new Part
            {
                Role = PartRole.Drums,
                Channel = GeneralMidi.DrumChannel,
                Voices = voices,
                DrumKit = d == 0 ? kit : -1,
                Ride = rideSong,
                Weight = RoleWeight(PartRole.Drums) / drumTracks * (0.7 + (0.6 * rng.NextDouble())),
            };

            // Drum tracks go first, last, or somewhere in between, as arrangers leave them.
            var at = rng.Next(3) switch { 0 => 0, 1 => count, _ => rng.Next(count + 1) };
            Array.Copy(_parts, at, _parts, at + 1, count - at);
            _parts[at] = drums;
            count++;
        }

        return count;
    }

    private static PartRole RoleOf(int program) => (program >> 3) switch
    {
        0 or 1 or 2 => PartRole.Keys,
        3 => PartRole.Guitar,
        4 => PartRole.Bass,
        5 or 6 or 11 => PartRole.Sustained,
        7 or 8 or 9 or 10 => PartRole.Melody,
        _ => PartRole.Sparse,
    };

    private static double RoleWeight(PartRole role) => role switch
    {
        PartRole.Drums => 1.4,
        PartRole.Keys => 1.2,
        PartRole.Guitar => 1.0,
        PartRole.Bass => 0.9,
        PartRole.Sustained => 0.7,
        PartRole.Melody => 0.8,
        _ => 0.3,
    };

    private void MelodicPart(SongModel song, TrackModel track, SynthRandom rng, in Part part, int budget, int length,
        int division, int barTicks)
    {
        _w.Begin(song, track, UseRunningStatus);
        var channel = part.Channel;
        if (rng.Chance(0.9))
        {
            _w.MetaText(0, 0x03, InstrumentTable.TrackName(rng, part.Program0));
        }

        if (rng.Chance(0.12))
        {
            _w.MetaText(0, 0x04, GeneralMidi.InstrumentName(part.Program0));
        }

        if (rng.Chance(0.1))
        {
            _w.Meta(0, 0x21, [0]); // MIDI port
        }

        if (rng.Chance(0.3))
        {
            _w.Channel(0, 0xB0 | channel, 0, 0); // bank select MSB
            if (rng.Chance(0.5))
            {
                _w.Channel(0, 0xB0 | channel, 32, 0);
            }
        }

        if (!part.OmitProgramChange)
        {
            _w.Channel(0, 0xC0 | channel, part.Program0);
        }

        if (rng.Chance(0.9))
        {
            _w.Channel(0, 0xB0 | channel, 7, 64 + rng.Next(64));
        }

        if (rng.Chance(0.7))
        {
            _w.Channel(0, 0xB0 | channel, 10, rng.Next(128));
        }

        if (rng.Chance(0.5))
        {
            _w.Channel(0, 0xB0 | channel, 91, rng.Next(80));
        }

        if (rng.Chance(0.3))
        {
            _w.Channel(0, 0xB0 | channel, 93, rng.Next(60));
        }

        if (rng.Chance(0.03))
        {
            // GS reverb macro "Hall 2": a harmless sysex inside an instrument track.
            _w.Sysex(0, [0x41, 0x10, 0x42, 0x12, 0x40, 0x01, 0x30, 0x04, 0x0B, 0xF7]);
        }

        if (part.ProgramOnly)
        {
            _w.End(rng.Next(division));
            return;
        }

        var (low, high, chordMin, chordMax, rest, durationMin, durationMax, velocityMin, bends) = part.Role switch
        {
            PartRole.Keys => (48, 84, 1, 4, 0.10, 50, 100, 55, false),
            PartRole.Guitar => (40, 76, 1, 3, 0.15, 40, 100, 60, true),
            PartRole.Bass => (28, 52, 1, 1, 0.10, 50, 95, 70, true),
            PartRole.Sustained => (48, 79, 2, 4, 0.10, 100, 200, 40, false),
            PartRole.Melody => (60, 88, 1, 1, 0.25, 60, 100, 60, true),
            _ => (48, 84, 1, 2, 0.50, 30, 100, 50, false),
        };
        var start = rng.Chance(0.35) ? barTicks * rng.Range(1, 9) : 0;
        if (start > length / 3)
        {
            start = 0;
        }

        var noteBudget = Math.Max(budget - _w.Bytes, 20);
        var bytesPerOnset = ((chordMin + chordMax) / 2.0 * BytesPerNote) + 0.3;
        var step = SnapStep(Math.Max(length - start, barTicks) * bytesPerOnset * (1 - rest) / noteBudget, division);
        BeginOffs(channel, rng);
        var shape = rng.Next(4);
        var pedal = part.Role == PartRole.Keys && rng.Chance(0.5);
        var pedalDown = false;
        var home = Math.Clamp(((low + high) / 2) + rng.Range(-6, 7), low, high - 12);

        // Songs repeat themselves: a part plays a phrase of a few onsets over and over, moved to other chords,
        // with a note changed here and there and now and then a new phrase. Besides sounding like a song, this
        // makes the files compress like real ones (random notes would not) and costs fewer random draws.
        var phraseLength = rng.Pick<int>([4, 8, 8, 16, 16, 32]);
        var phrase = _phrase.AsSpan(0, phraseLength);
        NewPhrase(rng, phrase, rest, chordMin, chordMax, durationMin, durationMax, velocityMin, low - home, high - 12 - home);
        var transpose = 0;
        var segment = 0;
        var segmentBudget = noteBudget / part.ProgramCount;
        var nextSegmentAt = _w.Bytes + segmentBudget;
        var t = start;
        for (var onset = 0; _w.Bytes < budget && t < MaxTick; onset++, t += step)
        {
            var slot = onset % phraseLength;
            if (slot == 0 && onset > 0)
            {
                if (rng.Chance(0.2))
                {
                    NewPhrase(rng, phrase, rest, chordMin, chordMax, durationMin, durationMax, velocityMin, low - home, high - 12 - home);
                }

                transpose = rng.Pick<int>([0, 0, 0, 5, -5, 7, -2, 3]);
            }

            if (segment + 1 < part.ProgramCount && _w.Bytes >= nextSegmentAt)
            {
                FlushOffs(t);
                segment++;
                nextSegmentAt += segmentBudget;
                _w.Channel(t, 0xC0 | channel, part.ProgramAt(segment));
            }

            // One draw decides this onset's rare extras: a changed note, or a controller, pressure or bend.
            var roll = rng.NextDouble();
            if (roll < 0.08)
            {
                NewPhrase(rng, phrase.Slice(slot, 1), rest, chordMin, chordMax, durationMin, durationMax, velocityMin, low - home, high - 12 - home);
            }

            ref readonly var note = ref phrase[slot];
            if (note.Notes == 0)
            {
                continue;
            }

            FlushOffs(t);
            if (pedal && t % barTicks == 0)
            {
                if (pedalDown)
                {
                    _w.Channel(t, 0xB0 | channel, 64, 0);
                }

                _w.Channel(t, 0xB0 | channel, 64, 127);
                pedalDown = true;
            }

            if (roll is >= 0.08 and < 0.095)
            {
                _w.Channel(t, 0xB0 | channel, 11, 60 + rng.Next(68));
            }
            else if (roll is >= 0.095 and < 0.1)
            {
                _w.Channel(t, 0xB0 | channel, 1, rng.Next(128));
            }
            else if (roll is >= 0.1 and < 0.102)
            {
                _w.Channel(t, 0xD0 | channel, rng.Next(128)); // channel pressure
            }

            if (part.Lyrics)
            {
                // Lyrics between notes: meta events cancel running status, so the next note repeats its status.
                _w.MetaText(t, 0x05, SongNaming.Syllable(rng));
            }

            var key = Math.Clamp(home + note.Key + transpose, low, high - 12);
            var duration = Math.Max(1, step * note.Length / 100);
            for (var n = 0; n < note.Notes; n++)
            {
                NoteOn(t, key + ChordInterval(shape, n), Math.Max(1, note.Velocity - (5 * n)), t + duration);
            }

            if (bends && roll is >= 0.102 and < 0.132)
            {
                // A bend inside the note, returning to centre before the next onset.
                var until = t + Math.Min(duration, step);
                var count = rng.Range(4, 12);
                var depth = rng.Range(-4096, 4096);
                for (var b = 1; b <= count; b++)
                {
                    var at = t + ((until - t) * b / (count + 1));
                    FlushOffs(at);
                    var value = 0x2000 + (depth * b / count);
                    _w.Channel(at, 0xE0 | channel, value & 0x7F, (value >> 7) & 0x7F);
                }

                FlushOffs(until);
                _w.Channel(until, 0xE0 | channel, 0x00, 0x40);
            }

            if (roll > 0.92)
            {
                t += step; // a held beat now and then
            }
        }

        FlushOffs(int.MaxValue);
        if (pedalDown)
        {
            _w.Channel(_w.LastTick, 0xB0 | channel, 64, 0);
        }

        _w.End(_w.LastTick + rng.Next(division));
    }

    /// <summary>One onset of a phrase: notes (0 = rest), key offset from the part's home key, length in % of a step.</summary>
    private struct PhraseNote
    {
        public int Notes;
        public int Key;
        public int Length;
        public int Velocity;
    }

    private static void NewPhrase(SynthRandom rng, Span<PhraseNote> phrase, double rest, int chordMin, int chordMax,
        int lengthMin, int lengthMax, int velocityMin, int keyMin, int keyMax)
    {
        var key = 0;
        for (var i = 0; i < phrase.Length; i++)
        {
            key = Math.Clamp(key + rng.Range(-4, 5), keyMin, keyMax);
            phrase[i] = new PhraseNote
            {
                Notes = rng.Chance(rest) ? 0 : rng.Range(chordMin, chordMax + 1),
                Key = key,
                Length = rng.Range(lengthMin, lengthMax + 1),
                Velocity = rng.Range(velocityMin, 128),
            };
        }
    }

    private static int ChordInterval(int shape, int n) => shape switch
    {
        0 => n switch { 0 => 0, 1 => 4, 2 => 7, _ => 12 },
        1 => n switch { 0 => 0, 1 => 3, 2 => 7, _ => 10 },
        2 => n switch { 0 => 0, 1 => 5, 2 => 7, _ => 12 },
        _ => n switch { 0 => 0, 1 => 7, 2 => 12, _ => 16 },
    };

    private void DrumPart(SongModel song, TrackModel track, SynthRandom rng, in Part part, int budget, int length,
        int division, int barTicks, int beatsPerBar)
    {
        _w.Begin(song, track, UseRunningStatus);
        const int channel = GeneralMidi.DrumChannel;
        if (rng.Chance(0.9))
        {
            _w.MetaText(0, 0x03, InstrumentTable.TrackName(rng, GeneralMidi.DrumKit));
        }

        if (part.DrumKit >= 0)
        {
            // Selects a kit; a program change on channel 10 never makes a melodic instrument.
            _w.Channel(0, 0xC0 | channel, part.DrumKit);
        }

        if (rng.Chance(0.9))
        {
            _w.Channel(0, 0xB0 | channel, 7, 80 + rng.Next(48));
        }

        var hitsPerStep = (part.Voices & DrumVoices.KickSnare) != 0 ? 0.8 : 0;
        hitsPerStep += (part.Voices & DrumVoices.Cymbals) != 0 ? 1.1 : 0;
        hitsPerStep += (part.Voices & DrumVoices.Percussion) != 0 ? 0.1 : 0;
        var start = rng.Chance(0.2) ? barTicks * rng.Range(1, 5) : 0;
        if (start > length / 3)
        {
            start = 0;
        }

        var noteBudget = Math.Max(budget - _w.Bytes, 20);
        var step = SnapStep(Math.Max(length - start, barTicks) * hitsPerStep * BytesPerNote / noteBudget, division, drums: true);
        var stepsPerBeat = Math.Max(1, division / step);
        var stepsPerBar = Math.Min(stepsPerBeat * beatsPerBar, _groove.Length);
        var groove = _groove.AsSpan(0, stepsPerBar);
        var percussion = rng.Chance(0.4);
        NewGroove(rng, groove, part.Voices, part.Ride, percussion, stepsPerBeat, beatsPerBar, step);
        BeginOffs(channel, rng);
        var t = start;
        for (var n = 0; _w.Bytes < budget && t < MaxTick; n++, t += step)
        {
            // A one-bar groove repeats; every eighth bar ends in a tom fill and may bring a new groove.
            var slot = n % stepsPerBar;
            var bar = n / stepsPerBar;
            if (slot == 0 && bar > 0 && bar % 8 == 0 && rng.Chance(0.3))
            {
                NewGroove(rng, groove, part.Voices, part.Ride, percussion, stepsPerBeat, beatsPerBar, step);
            }

            FlushOffs(t);
            ref readonly var hit = ref groove[slot];
            var fill = bar % 8 == 7 && slot >= stepsPerBar - stepsPerBeat;
            if (hit.Cymbal != 0)
            {
                NoteOn(t, slot == 0 && bar % 4 == 0 ? 49 : hit.Cymbal, hit.CymbalVelocity, t + hit.Length);
            }

            if (fill && (part.Voices & DrumVoices.KickSnare) != 0)
            {
                NoteOn(t, rng.Pick<int>([41, 43, 45, 47, 48, 50]), rng.Range(80, 128), t + hit.Length);
            }
            else if (hit.Drum != 0)
            {
                NoteOn(t, hit.Drum, hit.DrumVelocity, t + hit.Length);
            }

            if (hit.Percussion != 0)
            {
                NoteOn(t, hit.Percussion, hit.PercussionVelocity, t + hit.Length);
            }
        }

        FlushOffs(int.MaxValue);
        _w.End(_w.LastTick + rng.Next(division));
    }

    /// <summary>One step of a drum groove: up to three sounds (0 = none) and how long they are held.</summary>
    private struct DrumHit
    {
        public int Cymbal;
        public int CymbalVelocity;
        public int Drum;
        public int DrumVelocity;
        public int Percussion;
        public int PercussionVelocity;
        public int Length;
    }

    private static void NewGroove(SynthRandom rng, Span<DrumHit> groove, DrumVoices voices, bool ride, bool percussion,
        int stepsPerBeat, int beatsPerBar, int step)
    {
        for (var n = 0; n < groove.Length; n++)
        {
            var onBeat = n % stepsPerBeat == 0;
            var beatInBar = n / stepsPerBeat % beatsPerBar;
            var hit = new DrumHit { Length = Math.Max(1, rng.Range(1, Math.Max(2, (step / 2) + 1))) };
            if ((voices & DrumVoices.Cymbals) != 0)
            {
                hit.Cymbal = ride ? 51 : rng.Chance(0.1) ? 46 : 42;
                hit.CymbalVelocity = onBeat ? rng.Range(90, 128) : rng.Range(50, 100);
            }

            if ((voices & DrumVoices.KickSnare) != 0)
            {
                hit.Drum = onBeat ? (beatInBar % 2 == 0 ? 36 : 38)
                    : rng.Chance(0.12) ? 36
                    : rng.Chance(0.04) ? 38
                    : 0;
                hit.DrumVelocity = hit.Drum == 38 && !onBeat ? rng.Range(30, 60) : rng.Range(80, 128);
            }

            if ((voices & DrumVoices.Percussion) != 0 && percussion && rng.Chance(0.1))
            {
                hit.Percussion = rng.Pick<int>([39, 54, 56, 69, 70, 75]);
                hit.PercussionVelocity = rng.Range(50, 110);
            }

            groove[n] = hit;
        }
    }

    /// <summary>A track that sets up a channel and moves controllers, but never sounds a note.</summary>
    private void SilentPart(SongModel song, TrackModel track, SynthRandom rng, int index, int budget, int length, int division)
    {
        _w.Begin(song, track, UseRunningStatus);
        var channel = index < 9 ? index : index + 1;
        _w.MetaText(0, 0x03, InstrumentTable.TrackName(rng, rng.Next(128)));
        _w.Channel(0, 0xC0 | channel, rng.Next(128));
        _w.Channel(0, 0xB0 | channel, 7, 100);
        var step = Math.Max(1, division / 2);
        var t = 0;
        while (_w.Bytes < budget && t < length)
        {
            switch (rng.Next(4))
            {
                case 0:
                    _w.Channel(t, 0xB0 | channel, 11, rng.Next(128));
                    break;
                case 1:
                    _w.Channel(t, 0xE0 | channel, rng.Next(128), rng.Next(128));
                    break;
                case 2:
                    // Velocity 0 is a note off: still no note sounds.
                    _w.Channel(t, 0x90 | channel, 40 + rng.Next(40), 0);
                    break;
                default:
                    _w.Channel(t, 0xB0 | channel, 10, rng.Next(128));
                    break;
            }

            t += step * rng.Range(1, 8);
        }

        _w.End(t);
    }

    /// <summary>
    /// The musical grid value (from 1/16 beat to 4 beats) nearest the wanted step. Compared by ratio, not by
    /// logarithm, so no transcendental function can make two machines choose differently.
    /// </summary>
    private static int SnapStep(double wanted, int division, bool drums = false)
    {
        ReadOnlySpan<int> sixteenths = drums ? [2, 4, 8, 16] : [1, 2, 4, 8, 12, 16, 24, 32, 64];
        var best = Math.Max(1, division * sixteenths[0] / 16);
        var bestRatio = double.MaxValue;
        foreach (var s in sixteenths)
        {
            var step = Math.Max(1, division * s / 16);
            var ratio = step > wanted ? step / Math.Max(wanted, 1e-9) : wanted / step;
            if (ratio < bestRatio)
            {
                bestRatio = ratio;
                best = step;
            }
        }

        return best;
    }

    private void BeginOffs(int channel, SynthRandom rng)
    {
        _offCount = 0;
        _offChannel = channel;
        _offAsZeroVelocity = rng.Chance(0.65);
        _offVelocity = rng.Chance(0.5) ? (byte)0 : (byte)64;
    }

    /// <summary>Sounds a note now and schedules its release; a key still sounding is released first.</summary>
    private void NoteOn(int tick, int key, int velocity, int offTick)
    {
        if (key > 127)
        {
            return;
        }

        for (var i = 0; i < _offCount; i++)
        {
            if (_offKey[i] == key)
            {
                NoteOff(tick, key);
                RemoveOff(i);
                break;
            }
        }

        if (_offCount == _offTick.Length)
        {
            // Too many overlapping notes: release the earliest due early, at this tick, to keep events in order.
            var oldest = 0;
            for (var i = 1; i < _offCount; i++)
            {
                if (_offTick[i] < _offTick[oldest])
                {
                    oldest = i;
                }
            }

            NoteOff(tick, _offKey[oldest]);
            RemoveOff(oldest);
        }

        _w.Channel(tick, 0x90 | _offChannel, key, velocity);
        _offTick[_offCount] = offTick;
        _offKey[_offCount] = (byte)key;
        _offCount++;
    }

    /// <summary>Writes every scheduled release due at or before <paramref name="tick"/>, earliest first.</summary>
    private void FlushOffs(int tick)
    {
        while (_offCount > 0)
        {
            var first = 0;
            for (var i = 1; i < _offCount; i++)
            {
                if (_offTick[i] < _offTick[first])
                {
                    first = i;
                }
            }

            if (_offTick[first] > tick)
            {
                return;
            }

            NoteOff(Math.Max(_offTick[first], _w.LastTick), _offKey[first]);
            RemoveOff(first);
        }
    }

    private void NoteOff(int tick, int key)
    {
        if (_offAsZeroVelocity)
        {
            _w.Channel(tick, 0x90 | _offChannel, key, 0);
        }
        else
        {
            _w.Channel(tick, 0x80 | _offChannel, key, _offVelocity);
        }
    }

    /// <summary>Removes a scheduled release; order does not matter (releases are picked by tick), so the last moves in.</summary>
    private void RemoveOff(int index)
    {
        _offCount--;
        _offTick[index] = _offTick[_offCount];
        _offKey[index] = _offKey[_offCount];
    }

    /// <summary>
    /// Merges all tracks into one (format 0) in playback order: tick, then track index, then position. That is
    /// the order the playback semantics use, so the merged song plays the same instruments.
    /// </summary>
    private void MergeToFormat0(SongModel song)
    {
        var tracks = song.TrackCount;
        var merged = song.AddTrack();
        Array.Clear(_mergeCursor);
        var end = 0;
        while (true)
        {
            var best = -1;
            var bestTick = int.MaxValue;
            for (var t = 0; t < tracks; t++)
            {
                var track = song[t];
                if (_mergeCursor[t] < track.Count && track[_mergeCursor[t]].Tick < bestTick)
                {
                    best = t;
                    bestTick = track[_mergeCursor[t]].Tick;
                }
            }

            if (best < 0)
            {
                break;
            }

            merged.Add() = song[best][_mergeCursor[best]++];
        }

        for (var t = 0; t < tracks; t++)
        {
            end = Math.Max(end, song[t].EndTick);
        }

        merged.EndTick = end;
        song.SwapTracks(0, tracks);
        song.TruncateTracks(1);
        song.Format = 0;
    }
}
