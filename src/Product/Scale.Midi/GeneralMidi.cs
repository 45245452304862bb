namespace Scale.Midi;

/// <summary>
/// The General MIDI 1 sound set: 128 melodic programs in 16 families of 8, plus Scale's code 128 for the drum kit
/// (any note on MIDI channel 10).
/// </summary>
public static class GeneralMidi
{
    /// <summary>Instrument codes run from 0 to <see cref="DrumKit"/> inclusive.</summary>
    public const int InstrumentCount = 129;

    /// <summary>Scale's code for "a note sounded on MIDI channel 10", whatever program that channel has.</summary>
    public const int DrumKit = 128;

    /// <summary>Zero-based index of MIDI channel 10, the General MIDI percussion channel.</summary>
    public const int DrumChannel = 9;

    /// <summary>Family code of the drum kit; families 0-15 are the GM 1 program families.</summary>
    public const int DrumKitFamily = 16;

    private static readonly string[] Names =
    [
        // Piano
        "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
        "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet",
        // Chromatic Percussion
        "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
        // Organ
        "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
        "Tango Accordion",
        // Guitar
        "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)", "Electric Guitar (clean)",
        "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics",
        // Bass
        "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
        "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
        // Strings
        "Violin", "Viola", "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani",
        // Ensemble
        "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
        "Synth Voice", "Orchestra Hit",
        // Brass
        "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2",
        // Reed
        "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet",
        // Pipe
        "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
        // Synth Lead
        "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)",
        "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
        // Synth Pad
        "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)", "Pad 6 (metallic)",
        "Pad 7 (halo)", "Pad 8 (sweep)",
        // Synth Effects
        "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)",
        "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
        // Ethnic
        "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bag pipe", "Fiddle", "Shanai",
        // Percussive
        "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
        // Sound Effects
        "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
        "Gunshot",
        // Code 128
        "Drum Kit",
    ];

    private static readonly string[] FamilyNames =
    [
        "Piano", "Chromatic Percussion", "Organ", "Guitar", "Bass", "Strings", "Ensemble", "Brass", "Reed", "Pipe",
        "Synth Lead", "Synth Pad", "Synth Effects", "Ethnic", "Percussive", "Sound Effects", "Drums",
    ];

    /// <summary>Number of families including the drum kit's own family.</summary>
    public static int FamilyCount => FamilyNames.Length;

    /// <summary>The GM 1 name of an instrument code (0-127), or "Drum Kit" for 128.</summary>
    public static string InstrumentName(int code) => Names[CheckCode(code)];

    /// <summary>The family (0-15 GM, 16 drums) an instrument code belongs to.</summary>
    public static int FamilyOf(int code) => CheckCode(code) == DrumKit ? DrumKitFamily : code >> 3;

    /// <summary>The name of a family code.</summary>
    public static string FamilyName(int family)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(family);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(family, FamilyNames.Length);
        return FamilyNames[family];
    }

    private static int CheckCode(int code)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(code);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(code, InstrumentCount);
        return code;
    }
}
