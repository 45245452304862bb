namespace Scale.Midi.Tests;

/// <summary>
/// One hand-built file per rule of docs/instrument-semantics.md. Channels in comments are MIDI's 1-16 with the
/// status byte's index in brackets; "PC" is a program change.
/// </summary>
public class InstrumentRuleTests
{
    [Fact]
    public void Extract_NoProgramChange_UsesProgramZero()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division: 96 ticks per quarter note
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x00, 0x91, 0x3C, 0x40, // tick 0: Note On channel 2 [1], key 60, velocity 64
            0x60, 0x81, 0x3C, 0x40, // tick 96: Note Off channel 2 [1]
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(MidiWarnings.None, summary.Warnings);
        Assert.Equal(0, summary.Format);
        Assert.Equal(1, summary.Tracks);
        Assert.Equal(96, summary.Division);
        Assert.Equal(InstrumentSet.Of([0]), summary.Instruments);
        Assert.Equal(1, summary.NoteCounts[0]);
        Assert.Equal(1, summary.Notes);
    }

    [Fact]
    public void Extract_NoteOnWithVelocityZero_IsNotANote()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x13, // track length 19
            0x00, 0xC0, 0x28,       // tick 0: PC channel 1 [0] -> 40 (Violin)
            0x00, 0x90, 0x3C, 0x00, // tick 0: Note On channel 1 [0], velocity 0 = a Note Off
            0x00, 0x91, 0x3E, 0x64, // tick 0: Note On channel 2 [1], key 62, velocity 100 (program 0)
            0x60, 0x81, 0x3E, 0x40, // tick 96: Note Off channel 2 [1]
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([0]), summary.Instruments);
        Assert.Equal(0, summary.NoteCounts[40]);
        Assert.Equal(1, summary.Notes);
    }

    [Fact]
    public void Extract_NoteOnChannel10_IsDrumKitNotProgramZero()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x00, 0x99, 0x24, 0x64, // tick 0: Note On channel 10 [9], key 36 (bass drum), velocity 100
            0x60, 0x89, 0x24, 0x40, // tick 96: Note Off channel 10 [9]
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([GeneralMidi.DrumKit]), summary.Instruments);
        Assert.Equal(1, summary.NoteCounts[128]);
        Assert.Equal(0, summary.NoteCounts[0]);
    }

    [Fact]
    public void Extract_ProgramChangeOnChannel10_StillDrumKitAndNoOtherChannelChanges()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x17, // track length 23
            0x00, 0xC9, 0x19,       // tick 0: PC channel 10 [9] -> 25 (a kit choice, not a guitar)
            0x00, 0x99, 0x24, 0x64, // tick 0: Note On channel 10 [9]
            0x00, 0x91, 0x3C, 0x64, // tick 0: Note On channel 2 [1]: still program 0
            0x60, 0x89, 0x24, 0x40, // tick 96: Note Off channel 10 [9]
            0x00, 0x81, 0x3C, 0x40, // tick 96: Note Off channel 2 [1]
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([0, GeneralMidi.DrumKit]), summary.Instruments);
        Assert.Equal(0, summary.NoteCounts[25]);
    }

    [Fact]
    public void Extract_Format1ProgramChangeOnChannel10InOtherTrack_StillDrumKit()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00, 0x02,             // 2 tracks
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x07, // track length 7
            0x00, 0xC9, 0x19,       // tick 0: PC channel 10 [9] -> 25
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x0A, 0x99, 0x24, 0x64, // tick 10: Note On channel 10 [9]
            0x60, 0x89, 0x24, 0x40, // tick 106: Note Off channel 10 [9]
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([GeneralMidi.DrumKit]), summary.Instruments);
    }

    [Fact]
    public void Extract_Format1ProgramChangeInTrack0_AppliesToNotesInTrack1()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,                   // MThd
            0x00, 0x00, 0x00, 0x06,                   // header length 6
            0x00, 0x01,                               // format 1
            0x00, 0x02,                               // 2 tracks
            0x00, 0x60,                               // division 96
            0x4D, 0x54, 0x72, 0x6B,                   // MTrk (track 0: conductor + setup)
            0x00, 0x00, 0x00, 0x0E,                   // track length 14
            0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, // tick 0: Set Tempo 500000
            0x00, 0xC0, 0x28,                         // tick 0: PC channel 1 [0] -> 40 (Violin)
            0x00, 0xFF, 0x2F, 0x00,                   // End of Track
            0x4D, 0x54, 0x72, 0x6B,                   // MTrk (track 1)
            0x00, 0x00, 0x00, 0x0C,                   // track length 12
            0x0A, 0x90, 0x3C, 0x64,                   // tick 10: Note On channel 1 [0]
            0x60, 0x80, 0x3C, 0x40,                   // tick 106: Note Off channel 1 [0]
            0x00, 0xFF, 0x2F, 0x00,                   // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(MidiWarnings.None, summary.Warnings);
        Assert.Equal(InstrumentSet.Of([40]), summary.Instruments);
        Assert.Equal(1, summary.NoteCounts[40]);
        Assert.Equal(0, summary.NoteCounts[0]);
    }

    [Fact]
    public void Extract_SameTickChangeInLaterTrack_NoteInEarlierTrackUsesOldProgram()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00, 0x02,             // 2 tracks
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x30, 0x90, 0x3C, 0x64, // tick 48: Note On channel 1 [0]: plays before track 1's tick-48 events
            0x60, 0x80, 0x3C, 0x40, // tick 144: Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x07, // track length 7
            0x30, 0xC0, 0x28,       // tick 48: PC channel 1 [0] -> 40
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([0]), summary.Instruments);
    }

    [Fact]
    public void Extract_SameTickChangeInEarlierTrack_NoteInLaterTrackUsesNewProgram()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00, 0x02,             // 2 tracks
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x07, // track length 7
            0x30, 0xC0, 0x28,       // tick 48: PC channel 1 [0] -> 40: plays before track 1's tick-48 events
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x30, 0x90, 0x3C, 0x64, // tick 48: Note On channel 1 [0]
            0x60, 0x80, 0x3C, 0x40, // tick 144: Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([40]), summary.Instruments);
    }

    [Fact]
    public void Extract_SameTickWithinOneTrackOfFormat1_FollowsPositionOrder()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00, 0x02,             // 2 tracks (so channels are shared)
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x04, // track length 4
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x17, // track length 23
            0x00, 0x90, 0x3C, 0x64, // tick 0: Note On channel 1 [0]: program 0
            0x00, 0xC0, 0x28,       // tick 0: PC channel 1 [0] -> 40
            0x00, 0x90, 0x3E, 0x64, // tick 0: Note On channel 1 [0]: program 40
            0x60, 0x80, 0x3C, 0x40, // tick 96: Note Off
            0x00, 0x80, 0x3E, 0x40, // tick 96: Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([0, 40]), summary.Instruments);
        Assert.Equal(1, summary.NoteCounts[0]);
        Assert.Equal(1, summary.NoteCounts[40]);
    }

    [Fact]
    public void Extract_SameTickWithinFormat0Track_FollowsPositionOrder()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x1A, // track length 26
            0x00, 0x90, 0x3C, 0x64, // tick 0: Note On channel 1 [0]: program 0
            0x00, 0xC0, 0x28,       // tick 0: PC channel 1 [0] -> 40
            0x00, 0x90, 0x3E, 0x64, // tick 0: Note On channel 1 [0]: program 40
            0x00, 0xC0, 0x49,       // tick 0: PC channel 1 [0] -> 73
            0x60, 0x80, 0x3C, 0x40, // tick 96: Note Off
            0x00, 0x80, 0x3E, 0x40, // tick 96: Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([0, 40]), summary.Instruments);
        Assert.Equal(0, summary.NoteCounts[73]);
    }

    [Fact]
    public void Extract_ChangeInLaterTrackAtEarlierTick_AppliesToLaterNoteInEarlierTrack()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00, 0x02,             // 2 tracks
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x60, 0x90, 0x3C, 0x64, // tick 96: Note On channel 1 [0]
            0x60, 0x80, 0x3C, 0x40, // tick 192: Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x07, // track length 7
            0x00, 0xC0, 0x28,       // tick 0: PC channel 1 [0] -> 40
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([40]), summary.Instruments);
    }

    [Fact]
    public void Extract_NotesAroundMidSongChangeInOtherTrack_CountsBothProgramsWithTheirNotes()
    {
        // Track 0's channel-1 notes straddle track 1's change at tick 96: the first pass cannot give them one
        // program, so they are attributed one by one. Channel 2 in the same track does not interleave.
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64,       // MThd
            0x00, 0x00, 0x00, 0x06,       // header length 6
            0x00, 0x01,                   // format 1
            0x00, 0x02,                   // 2 tracks
            0x00, 0x60,                   // division 96
            0x4D, 0x54, 0x72, 0x6B,       // MTrk (track 0)
            0x00, 0x00, 0x00, 0x35,       // track length 53
            0x00, 0x90, 0x3C, 0x64,       // tick 0: Note On channel 1 [0] -> program 0
            0x18, 0x80, 0x3C, 0x40,       // tick 24: Note Off
            0x18, 0x90, 0x3E, 0x64,       // tick 48: Note On channel 1 [0] -> program 0
            0x18, 0x80, 0x3E, 0x40,       // tick 72: Note Off
            0x81, 0x00, 0x90, 0x40, 0x64, // tick 200 (delta 128): Note On channel 1 [0] -> program 40
            0x18, 0x80, 0x40, 0x40,       // tick 224: Note Off
            0x00, 0x90, 0x41, 0x64,       // tick 224: Note On channel 1 [0] -> program 40
            0x18, 0x80, 0x41, 0x40,       // tick 248: Note Off
            0x00, 0x90, 0x43, 0x64,       // tick 248: Note On channel 1 [0] -> program 40
            0x18, 0x80, 0x43, 0x40,       // tick 272: Note Off
            0x00, 0x91, 0x48, 0x64,       // tick 272: Note On channel 2 [1] -> program 73
            0x18, 0x81, 0x48, 0x40,       // tick 296: Note Off
            0x00, 0xFF, 0x2F, 0x00,       // End of Track
            0x4D, 0x54, 0x72, 0x6B,       // MTrk (track 1)
            0x00, 0x00, 0x00, 0x0A,       // track length 10
            0x00, 0xC1, 0x49,             // tick 0: PC channel 2 [1] -> 73 (Flute)
            0x60, 0xC0, 0x28,             // tick 96: PC channel 1 [0] -> 40 (Violin)
            0x00, 0xFF, 0x2F, 0x00,       // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(MidiWarnings.None, summary.Warnings);
        Assert.Equal(InstrumentSet.Of([0, 40, 73]), summary.Instruments);
        Assert.Equal(2, summary.NoteCounts[0]);
        Assert.Equal(3, summary.NoteCounts[40]);
        Assert.Equal(1, summary.NoteCounts[73]);
        Assert.Equal(6, summary.Notes);
    }

    [Fact]
    public void Extract_TwoChangesBetweenNotesOfOtherTrack_EachNoteGetsProgramInForce()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x01,             // format 1
            0x00, 0x02,             // 2 tracks
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x10, // track length 16
            0x00, 0x90, 0x3C, 0x64, // tick 0: Note On channel 1 [0] -> 0
            0x0A, 0x90, 0x3E, 0x64, // tick 10: Note On -> 0 (the change at tick 10 is in a later track)
            0x0A, 0x90, 0x40, 0x64, // tick 20: Note On -> 40
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x0A, // track length 10
            0x0A, 0xC0, 0x28,       // tick 10: PC channel 1 [0] -> 40
            0x00, 0xC0, 0x49,       // tick 10: PC channel 1 [0] -> 73 (replaces 40 at once)
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([0, 73]), summary.Instruments);
        Assert.Equal(2, summary.NoteCounts[0]);
        Assert.Equal(1, summary.NoteCounts[73]);
        Assert.Equal(0, summary.NoteCounts[40]);
    }

    [Fact]
    public void Extract_Format2_ChannelStateIsPerTrack()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x02,             // format 2: independent sequences
            0x00, 0x02,             // 2 tracks
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x0F, // track length 15
            0x00, 0xC0, 0x28,       // tick 0: PC channel 1 [0] -> 40
            0x00, 0x90, 0x3C, 0x64, // tick 0: Note On channel 1 [0] -> 40
            0x60, 0x80, 0x3C, 0x40, // tick 96: Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x00, 0x90, 0x3C, 0x64, // tick 0: Note On channel 1 [0] -> 0: a new sequence starts at program 0
            0x60, 0x80, 0x3C, 0x40, // tick 96: Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(2, summary.Format);
        Assert.Equal(InstrumentSet.Of([0, 40]), summary.Instruments);
        Assert.Equal(1, summary.NoteCounts[0]);
        Assert.Equal(1, summary.NoteCounts[40]);
    }

    [Fact]
    public void Extract_Format2ChangeInEarlierTrack_DoesNotReachLaterTrack()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x02,             // format 2
            0x00, 0x03,             // 3 tracks
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 0)
            0x00, 0x00, 0x00, 0x07, // track length 7
            0x00, 0xC0, 0x28,       // tick 0: PC channel 1 [0] -> 40, and nothing plays
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 1)
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x0A, 0x90, 0x3C, 0x64, // tick 10: Note On channel 1 [0] -> 0
            0x60, 0x80, 0x3C, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
            0x4D, 0x54, 0x72, 0x6B, // MTrk (track 2)
            0x00, 0x00, 0x00, 0x0C, // track length 12
            0x0A, 0x99, 0x24, 0x64, // tick 10: Note On channel 10 [9] -> drum kit
            0x60, 0x89, 0x24, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(InstrumentSet.Of([0, GeneralMidi.DrumKit]), summary.Instruments);
        Assert.Equal(0, summary.NoteCounts[40]);
    }

    [Fact]
    public void Extract_SeveralNotesPerInstrument_CountsEachNoteOn()
    {
        byte[] file =
        [
            0x4D, 0x54, 0x68, 0x64, // MThd
            0x00, 0x00, 0x00, 0x06, // header length 6
            0x00, 0x00,             // format 0
            0x00, 0x01,             // 1 track
            0x00, 0x60,             // division 96
            0x4D, 0x54, 0x72, 0x6B, // MTrk
            0x00, 0x00, 0x00, 0x27, // track length 39
            0x00, 0xC0, 0x18,       // tick 0: PC channel 1 [0] -> 24 (Acoustic Guitar, nylon)
            0x00, 0x90, 0x3C, 0x64, // tick 0: Note On channel 1: guitar note 1
            0x00, 0x90, 0x40, 0x64, // tick 0: guitar note 2
            0x00, 0x90, 0x43, 0x64, // tick 0: guitar note 3
            0x00, 0x99, 0x24, 0x64, // tick 0: Note On channel 10: drum note 1
            0x30, 0x99, 0x26, 0x64, // tick 48: drum note 2
            0x30, 0x80, 0x3C, 0x40, // tick 96: Note Off channel 1
            0x00, 0x80, 0x40, 0x40, // Note Off
            0x00, 0x80, 0x43, 0x40, // Note Off
            0x00, 0xFF, 0x2F, 0x00, // End of Track
        ];

        var summary = MidiExtractor.ExtractOnce(file);

        Assert.Null(summary.Error);
        Assert.Equal(GeneralMidi.InstrumentCount, summary.NoteCounts.Count);
        var expected = new int[GeneralMidi.InstrumentCount];
        expected[24] = 3;
        expected[GeneralMidi.DrumKit] = 2;
        Assert.Equal(expected, summary.NoteCounts);
        Assert.Equal(5, summary.Notes);
    }
}
