using System.Buffers.Binary;
using Scale.Midi;

namespace Scale.Synth.Tests;

/// <summary>What <see cref="SmfWalker"/> found in a file.</summary>
public sealed class WalkResult
{
    /// <summary>The first departure from a clean SMF (a short code), or null for a clean file.</summary>
    public string? Violation { get; set; }

    public int Format { get; set; } = -1;

    public int Tracks { get; set; }

    public int Division { get; set; }

    /// <summary>Instruments under the playback semantics, computed by sorting all events (not the generator's way).</summary>
    public InstrumentSet Instruments { get; set; }

    public int NoteOns { get; set; }

    public int RunningStatusEvents { get; set; }

    public int ZeroVelocityNoteOffs { get; set; }

    public int NoteOffs { get; set; }

    public int Controllers { get; set; }

    public int PitchBends { get; set; }

    public int SysexEvents { get; set; }

    public int TempoEvents { get; set; }

    public int TimeSignatures { get; set; }

    public int KeySignatures { get; set; }

    public int TrackNames { get; set; }

    public int CopyrightEvents { get; set; }

    public int TextEvents { get; set; }

    public int DrumChannelProgramChanges { get; set; }

    /// <summary>Program changes after the first note on their channel in the same track.</summary>
    public int MidTrackProgramChanges { get; set; }

    /// <summary>Format 1 channels that sound notes from more than one track.</summary>
    public int SharedChannels { get; set; }
}

/// <summary>
/// A deliberately small, strict, test-only SMF walker, independent of Scale.Midi's extractor (which it must not
/// be used to check): it stops at the first thing a clean file would not have and reports it as a short code,
/// and otherwise computes the instruments by sorting every event into playback order.
/// </summary>
public static class SmfWalker
{
    private readonly record struct Event(long Tick, int Track, int Position, int Status, int Data1, int Data2);

    public static WalkResult Walk(ReadOnlySpan<byte> file)
    {
        var result = new WalkResult();
        if (file.IsEmpty)
        {
            return Fail(result, "empty");
        }

        if (file.Length < 4 || !file[..4].SequenceEqual("MThd"u8))
        {
            return Fail(result, "not-mthd");
        }

        if (file.Length < 14)
        {
            return Fail(result, "truncated-header");
        }

        var headerLength = BinaryPrimitives.ReadUInt32BigEndian(file[4..]);
        if (headerLength < 6)
        {
            return Fail(result, "bad-header-length");
        }

        if (headerLength > 6)
        {
            return Fail(result, "long-header");
        }

        result.Format = BinaryPrimitives.ReadUInt16BigEndian(file[8..]);
        var declaredTracks = BinaryPrimitives.ReadUInt16BigEndian(file[10..]);
        result.Division = BinaryPrimitives.ReadUInt16BigEndian(file[12..]);
        if (result.Format > 2)
        {
            return Fail(result, "unknown-format");
        }

        if (result.Division == 0)
        {
            return Fail(result, "invalid-division");
        }

        var events = new List<Event>();
        var channelTracks = new int[16];
        var position = 14;
        while (position < file.Length)
        {
            if (file.Length - position < 8)
            {
                return Fail(result, "trailing-bytes");
            }

            var id = file.Slice(position, 4);
            var length = BinaryPrimitives.ReadUInt32BigEndian(file[(position + 4)..]);
            if (!id.SequenceEqual("MTrk"u8))
            {
                var printable = true;
                foreach (var c in id)
                {
                    printable &= c is >= 0x20 and < 0x7F;
                }

                return Fail(result, printable ? "unknown-chunk" : "trailing-bytes");
            }

            if (position + 8L + length > file.Length)
            {
                return Fail(result, "track-length-past-end");
            }

            var violation = WalkTrack(file.Slice(position + 8, (int)length), result.Tracks, result, events, channelTracks);
            if (violation is not null)
            {
                return Fail(result, violation);
            }

            result.Tracks++;
            position += 8 + (int)length;
        }

        if (result.Tracks == 0)
        {
            return Fail(result, "no-tracks");
        }

        if (result.Tracks != declaredTracks)
        {
            return Fail(result, "track-count-mismatch");
        }

        if (result.Format == 0 && result.Tracks != 1)
        {
            return Fail(result, "format-0-with-several-tracks");
        }

        foreach (var mask in channelTracks)
        {
            result.SharedChannels += System.Numerics.BitOperations.PopCount((uint)mask) > 1 ? 1 : 0;
        }

        result.Instruments = Instruments(events);
        return result.NoteOns == 0 ? Fail(result, "no-notes") : result;
    }

    /// <summary>Playback order is tick, then track, then position; a plain stable sort of every event gives it.</summary>
    private static InstrumentSet Instruments(List<Event> events)
    {
        events.Sort((a, b) => a.Tick != b.Tick ? a.Tick.CompareTo(b.Tick)
            : a.Track != b.Track ? a.Track.CompareTo(b.Track)
            : a.Position.CompareTo(b.Position));
        var programs = new int[16];
        var set = InstrumentSet.Empty;
        foreach (var e in events)
        {
            var channel = e.Status & 0x0F;
            switch (e.Status & 0xF0)
            {
                case 0xC0:
                    programs[channel] = e.Data1;
                    break;
                case 0x90 when e.Data2 > 0:
                    set = set.Add(channel == GeneralMidi.DrumChannel ? GeneralMidi.DrumKit : programs[channel]);
                    break;
            }
        }

        return set;
    }

    private static string? WalkTrack(ReadOnlySpan<byte> d, int track, WalkResult result, List<Event> events, int[] channelTracks)
    {
        long tick = 0;
        var status = 0;
        var afterMeta = false;
        var p = 0;
        var sounding = new Dictionary<int, int>();
        var noteSeen = new bool[16];
        while (p < d.Length)
        {
            // Delta time: at most 4 bytes.
            var delta = 0L;
            var bytes = 0;
            while (true)
            {
                if (p >= d.Length)
                {
                    return "truncated-event";
                }

                var v = d[p++];
                delta = (delta << 7) | (v & 0x7FL);
                if (++bytes > 4)
                {
                    return "bad-vlq";
                }

                if (v < 0x80)
                {
                    break;
                }
            }

            tick += delta;
            if (p >= d.Length)
            {
                return "truncated-event";
            }

            var b = d[p];
            if (b < 0x80)
            {
                if (status == 0)
                {
                    return afterMeta ? "running-status-after-meta" : "running-status-without-status";
                }

                result.RunningStatusEvents++;
            }
            else if (b < 0xF0)
            {
                status = b;
                afterMeta = false;
                p++;
            }
            else if (b == 0xFF)
            {
                if (p + 2 > d.Length)
                {
                    return "truncated-event";
                }

                var type = d[p + 1];
                p += 2;
                var length = ReadLength(d, ref p);
                if (length < 0 || p + length > d.Length)
                {
                    return "truncated-event";
                }

                var payload = d.Slice(p, length);
                p += length;
                status = 0;
                afterMeta = true;
                switch (type)
                {
                    case 0x2F:
                        if (length != 0)
                        {
                            return "bad-end-of-track";
                        }

                        if (p != d.Length)
                        {
                            return "data-after-end-of-track";
                        }

                        return sounding.Values.Any(n => n != 0) ? "hanging-note" : null;
                    case 0x51:
                        if (length != 3 || (payload[0] | payload[1] | payload[2]) == 0)
                        {
                            return "bad-tempo";
                        }

                        result.TempoEvents++;
                        break;
                    case 0x58:
                        if (length != 4)
                        {
                            return "bad-time-signature";
                        }

                        result.TimeSignatures++;
                        break;
                    case 0x59:
                        if (length != 2 || (sbyte)payload[0] is < -7 or > 7 || payload[1] > 1)
                        {
                            return "bad-key-signature";
                        }

                        result.KeySignatures++;
                        break;
                    case 0x01:
                        result.TextEvents++;
                        break;
                    case 0x02:
                        result.CopyrightEvents++;
                        break;
                    case 0x03:
                        result.TrackNames++;
                        break;
                }

                continue;
            }
            else if (b == 0xF0)
            {
                p++;
                var length = ReadLength(d, ref p);
                if (length < 1 || p + length > d.Length)
                {
                    return "truncated-event";
                }

                if (d[p + length - 1] != 0xF7)
                {
                    return "unterminated-sysex";
                }

                p += length;
                status = 0;
                afterMeta = true;
                result.SysexEvents++;
                continue;
            }
            else
            {
                return "system-message";
            }

            var kind = status & 0xF0;
            var channel = status & 0x0F;
            var dataBytes = kind is 0xC0 or 0xD0 ? 1 : 2;
            if (p + dataBytes > d.Length)
            {
                return "truncated-event";
            }

            var data1 = d[p];
            var data2 = dataBytes == 2 ? d[p + 1] : 0;
            if (data1 >= 0x80 || data2 >= 0x80)
            {
                return "invalid-data-byte";
            }

            var position = p;
            p += dataBytes;
            switch (kind)
            {
                case 0x90 when data2 > 0:
                    result.NoteOns++;
                    noteSeen[channel] = true;
                    channelTracks[channel] |= 1 << Math.Min(track, 30);
                    sounding[(channel << 7) | data1] = sounding.GetValueOrDefault((channel << 7) | data1) + 1;
                    break;
                case 0x90:
                case 0x80:
                    if (kind == 0x90)
                    {
                        result.ZeroVelocityNoteOffs++;
                    }
                    else
                    {
                        result.NoteOffs++;
                    }

                    var key = (channel << 7) | data1;
                    if (sounding.GetValueOrDefault(key) > 0)
                    {
                        sounding[key]--;
                    }

                    break;
                case 0xB0:
                    result.Controllers++;
                    break;
                case 0xE0:
                    result.PitchBends++;
                    break;
                case 0xC0:
                    if (channel == GeneralMidi.DrumChannel)
                    {
                        result.DrumChannelProgramChanges++;
                    }
                    else if (noteSeen[channel])
                    {
                        result.MidTrackProgramChanges++;
                    }

                    break;
            }

            events.Add(new Event(tick, track, position, status, data1, data2));
        }

        return "missing-end-of-track";
    }

    private static int ReadLength(ReadOnlySpan<byte> d, ref int p)
    {
        var value = 0;
        for (var i = 0; i < 4; i++)
        {
            if (p >= d.Length)
            {
                return -1;
            }

            var b = d[p++];
            value = (value << 7) | (b & 0x7F);
            if (b < 0x80)
            {
                return value;
            }
        }

        return -1;
    }

    private static WalkResult Fail(WalkResult result, string violation)
    {
        result.Violation = violation;
        return result;
    }
}
