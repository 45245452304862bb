using Scale.Midi;

namespace Scale.Synth;

/// <summary>
/// How often songs use each instrument, and how many they use. Shapes follow what pop MIDI (Lakh) looks like
/// rather than measured counts: a drum kit in about 80% of songs; piano, bass, guitars and strings common; sound
/// effects and exotic programs such as Bag pipe rare.
/// </summary>
internal static class InstrumentTable
{
    /// <summary>Probability that a song has a drum part (channel 10).</summary>
    public const double DrumShare = 0.8;

    /// <summary>
    /// Every GM program exactly once, most popular first. A program's weight is Zipf-like with a steeper tail,
    /// 1 / ((rank + 1) * (1 + rank / 64)): the first (Acoustic Grand Piano) is drawn about 380 times as often as
    /// the last (Bag pipe). With about five melodic draws per song that puts piano in roughly two songs of three
    /// and Bag pipe in about one in three hundred. (Rational, not a power law, so no platform-dependent Math.Pow.)
    /// </summary>
    public static ReadOnlySpan<byte> ProgramsByPopularity =>
    [
        0, 33, 48, 25, 27, 29, 30, 24, 26, 4, 52, 49, 34, 35, 61, 32,
        50, 16, 65, 73, 28, 53, 56, 5, 89, 1, 18, 11, 38, 81, 80, 66,
        62, 17, 57, 60, 71, 54, 19, 2, 45, 40, 88, 87, 39, 119, 46, 47,
        42, 21, 22, 68, 75, 44, 51, 3, 7, 90, 36, 31, 55, 63, 12, 9,
        14, 67, 64, 59, 58, 70, 72, 41, 43, 6, 8, 10, 13, 37, 82, 84,
        85, 91, 92, 94, 95, 99, 100, 20, 23, 69, 74, 77, 78, 79, 83, 86,
        93, 96, 98, 101, 102, 103, 97, 76, 15, 104, 105, 110, 114, 115, 116, 117,
        118, 113, 112, 108, 120, 121, 122, 123, 106, 107, 111, 124, 125, 126, 127, 109,
    ];

    /// <summary>
    /// Weight of "k distinct instruments" for k = 1..20 (drum kit included): median 6, about 10% of songs with one
    /// or two instruments, about 1.5% with 15 or more.
    /// </summary>
    public static ReadOnlySpan<double> InstrumentCountWeights =>
    [
        4, 6, 9, 12, 14, 13, 11, 9, 7, 5,
        3.5, 2.5, 1.5, 1, 0.6, 0.4, 0.3, 0.2, 0.1, 0.1,
    ];

    /// <summary>Program change values real files send on channel 10 to choose a drum kit (GS kit numbers).</summary>
    public static ReadOnlySpan<byte> DrumKits => [0, 8, 16, 24, 25, 32, 40, 48];

    private static readonly double[] ProgramWeights = BuildWeights();

    /// <summary>Weights indexed by program number (0-127).</summary>
    public static ReadOnlySpan<double> Weights => ProgramWeights;

    private static double[] BuildWeights()
    {
        var weights = new double[128];
        var ranks = ProgramsByPopularity;
        for (var rank = 0; rank < ranks.Length; rank++)
        {
            weights[ranks[rank]] = 1.0 / ((rank + 1) * (1 + (rank / 64.0)));
        }

        return weights;
    }

    /// <summary>Draws <paramref name="count"/> distinct programs by weight into <paramref name="into"/>.</summary>
    public static void DrawPrograms(SynthRandom rng, int count, Span<byte> into, Span<double> scratch)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 128);
        Weights.CopyTo(scratch);
        for (var i = 0; i < count; i++)
        {
            var program = rng.PickWeighted(scratch[..128]);
            into[i] = (byte)program;
            scratch[program] = 0;
        }
    }

    /// <summary>A short track name of the kind sequencers and arrangers write for a program.</summary>
    public static string TrackName(SynthRandom rng, int program)
    {
        if (program == GeneralMidi.DrumKit)
        {
            return rng.Pick<string>(["Drums", "Drum Kit", "DRUMS", "drums", "Percussion", "Kit", "Drums 1", "Batterie"]);
        }

        if (rng.Chance(0.25))
        {
            return GeneralMidi.InstrumentName(program);
        }

        return (program >> 3) switch
        {
            0 => rng.Pick<string>(["Piano", "PIANO", "Acoustic Piano", "Piano RH", "Piano LH", "Keys", "Grand Piano"]),
            1 => rng.Pick<string>(["Vibes", "Bells", "Marimba", "Glock", "Mallets"]),
            2 => rng.Pick<string>(["Organ", "B3 Organ", "Accordion", "Harmonica", "Hammond"]),
            3 => rng.Pick<string>(["Guitar", "Gtr 1", "Gtr 2", "Rhythm Guitar", "Lead Guitar", "Acoustic Gtr", "GUITAR"]),
            4 => rng.Pick<string>(["Bass", "BASS", "Bass Guitar", "Fretless", "Synth Bass", "bass"]),
            5 => rng.Pick<string>(["Strings", "Violin", "Cello", "Harp", "Timpani", "Str"]),
            6 => rng.Pick<string>(["Strings", "Choir", "Backing Vocals", "Ensemble", "Aahs", "Orch Hit"]),
            7 => rng.Pick<string>(["Brass", "Trumpet", "Horns", "Trombone", "Brass Section"]),
            8 => rng.Pick<string>(["Sax", "Alto Sax", "Tenor Sax", "Clarinet", "Oboe", "Melody"]),
            9 => rng.Pick<string>(["Flute", "Pan Flute", "Whistle", "Melody", "Recorder"]),
            10 => rng.Pick<string>(["Lead", "Synth Lead", "Melody", "Vocal", "Lead Vocal", "Voice"]),
            11 => rng.Pick<string>(["Pad", "Synth Pad", "Warm Pad", "Strings Pad"]),
            _ => rng.Pick<string>(["FX", "Effects", "Sound FX", "Untitled", "Track", "Percussion 2"]),
        };
    }
}
