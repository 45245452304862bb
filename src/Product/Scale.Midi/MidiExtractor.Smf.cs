using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Scale.Midi;

public sealed partial class MidiExtractor
{


    // Scratch state, reused between files so the steady state allocates only the summary itself.
    private TrackRange[] _tracks = new TrackRange[32];
    private ProgramChange[] _changes = new ProgramChange[64];
    private TempoChange[] _tempos = new TempoChange[16];
    private NoteGroup[] _groups = new NoteGroup[64];
    private readonly int[] _noteCounts = new int[GeneralMidi.InstrumentCount];
    private readonly ChannelNotes[] _channelNotes = new ChannelNotes[16];
    private readonly int[] _channelPrograms = new int[16];
    private readonly int[] _channelChangeStart = new int[17];
    private readonly int[] _channelCursor = new int[16];
    private int _trackCount;
    private int _changeCount;
    private int _tempoCount;
    private int _groupCount;
    private long _notes;
    private MidiWarnings _warnings;
    private MidiErrorCode _errorCode;
    private string? _errorMessage;
    private int _titleOffset;
    private int _titleLength;
    private bool _titleFound;

    private enum ParseMode
    {
        /// <summary>Channel state is private to the track (format 2, or a file with one track): attribute notes at once.</summary>
        Independent,

        /// <summary>Formats 0/1, first pass: record program changes and per-channel note spans.</summary>
        SharedFirstPass,

        /// <summary>Formats 0/1, second pass over a track whose notes interleave with program changes.</summary>
        SharedSecondPass,
    }

    /// <summary>Type-level parse modes: the JIT compiles one copy of the hot loop per mode with the mode's
    /// branches folded away (a measured gain over a runtime mode argument).</summary>
    private interface IParseMode
    {
        static abstract ParseMode Mode { get; }
    }

    private readonly struct IndependentMode : IParseMode
    {
        public static ParseMode Mode => ParseMode.Independent;
    }

    private readonly struct FirstPassMode : IParseMode
    {
        public static ParseMode Mode => ParseMode.SharedFirstPass;
    }

    private readonly struct SecondPassMode : IParseMode
    {
        public static ParseMode Mode => ParseMode.SharedSecondPass;
    }

    private enum TrackEnd
    {
        EndOfTrack,
        NoEndOfTrack,
        Truncated,
        Failed,
    }

    private MidiSummary ReadSmf(ReadOnlySpan<byte> smf, MidiWarnings warnings)
    {
        Reset(warnings);

        // MThd: "MThd" (4) + length (4, big-endian, normally 6) + format (2) + ntrks (2) + division (2).
        if (smf.Length < 8)
        {
            return Reject(MidiErrorCode.TruncatedHeader, $"The file ends inside the MThd header ({smf.Length} of 14 bytes).");
        }

        var headerLength = BinaryPrimitives.ReadUInt32BigEndian(smf[4..]);
        if (headerLength < 6)
        {
            return Reject(MidiErrorCode.BadHeaderLength, $"The MThd header declares {headerLength} bytes; at least 6 are required.");
        }

        if (smf.Length < 14)
        {
            return Reject(MidiErrorCode.TruncatedHeader, $"The file ends inside the MThd header ({smf.Length} of 14 bytes).");
        }

        var declaredFormat = BinaryPrimitives.ReadUInt16BigEndian(smf[8..]);
        var declaredTracks = BinaryPrimitives.ReadUInt16BigEndian(smf[10..]);
        var division = BinaryPrimitives.ReadUInt16BigEndian(smf[12..]);
        if (headerLength > 6)
        {
            _warnings |= MidiWarnings.LongHeader;
        }

        var format = (int)declaredFormat;
        if (format > 2)
        {
            _warnings |= MidiWarnings.UnknownFormat;
            format = 1;
        }

        if (!Timing.IsValidDivision(division))
        {
            _warnings |= MidiWarnings.InvalidDivision;
        }

        if (!FindTracks(smf, 8L + headerLength))
        {
            if (declaredTracks == 0)
            {
                // A header that promises no tracks and has none is a valid, silent file.
                return new MidiSummary
                {
                    Format = declaredFormat,
                    Division = division,
                    NoteCounts = new int[GeneralMidi.InstrumentCount],
                    Seconds = division == 0 ? null : 0,
                    Warnings = _warnings | MidiWarnings.NoNotes,
                };
            }

            return Reject(MidiErrorCode.NoTracks, $"The header declares {declaredTracks} track(s) but the file has no MTrk track chunk.");
        }

        if (_trackCount != declaredTracks)
        {
            _warnings |= MidiWarnings.TrackCountMismatch;
        }

        var independent = format == 2 || _trackCount == 1;
        long ticks = 0;
        for (var t = 0; t < _trackCount; t++)
        {
            var range = _tracks[t];
            var trackBytes = smf.Slice(range.Start, range.Length);
            var end = independent
                ? ParseTrack<IndependentMode>(trackBytes, t, range.Start, out var trackTicks)
                : ParseTrack<FirstPassMode>(trackBytes, t, range.Start, out trackTicks);
            if (!Accept(end, range, t))
            {
                return Reject(_errorCode, _errorMessage!);
            }

            _tracks[t].Ticks = trackTicks;
            ticks = format == 2 ? ticks + trackTicks : Math.Max(ticks, trackTicks);
        }

        if (!independent)
        {
            ResolveSharedChannels(smf);
        }

        if (_notes == 0)
        {
            _warnings |= MidiWarnings.NoNotes;
        }

        return new MidiSummary
        {
            Format = declaredFormat,
            Tracks = _trackCount,
            Division = division,
            Instruments = InstrumentSet.FromCounts(_noteCounts),
            NoteCounts = (int[])_noteCounts.Clone(),
            Notes = _notes,
            Ticks = ticks,
            Seconds = Timing.Seconds(division, format, _tracks.AsSpan(0, _trackCount), _tempos.AsSpan(0, _tempoCount), ticks),
            Title = _titleFound ? TitleText.Decode(smf.Slice(_titleOffset, _titleLength)) : null,
            Warnings = _warnings,
        };
    }

    private void Reset(MidiWarnings warnings)
    {
        _trackCount = 0;
        _changeCount = 0;
        _tempoCount = 0;
        _groupCount = 0;
        _notes = 0;
        _warnings = warnings;
        _errorMessage = null;
        _titleFound = false;
        Array.Clear(_noteCounts);
    }

    private MidiSummary Reject(MidiErrorCode code, string message) => MidiSummary.Rejected(code, message, _warnings);

    /// <summary>Walks the chunks after the header, recording MTrk ranges and noting damage.</summary>
    private bool FindTracks(ReadOnlySpan<byte> smf, long position)
    {
        while (position + 8 <= smf.Length)
        {
            var at = (int)position;
            var id = BinaryPrimitives.ReadUInt32BigEndian(smf[at..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(smf[(at + 4)..]);
            var start = position + 8;
            var end = start + length;
            if (id == Container.MTrk)
            {
                var clamped = end > smf.Length;
                if (clamped)
                {
                    _warnings |= MidiWarnings.TrackLengthPastEnd;
                    end = smf.Length;
                }

                AddTrack(new TrackRange { Start = (int)start, Length = (int)(end - start), ClampedAtEndOfFile = clamped || end == smf.Length });
            }
            else if (IsChunkId(id))
            {
                _warnings |= MidiWarnings.UnknownChunk;
                end = Math.Min(end, smf.Length);
            }
            else
            {
                _warnings |= MidiWarnings.TrailingBytes;
                return _trackCount > 0;
            }

            position = end;
        }

        if (position < smf.Length)
        {
            _warnings |= MidiWarnings.TrailingBytes;
        }

        return _trackCount > 0;
    }

    private static bool IsChunkId(uint id)
    {
        for (var shift = 0; shift < 32; shift += 8)
        {
            var c = (id >> shift) & 0xFF;
            if (c is < 0x20 or > 0x7E)
            {
                return false;
            }
        }

        return true;
    }

    private void AddTrack(TrackRange range)
    {
        if (_trackCount == _tracks.Length)
        {
            Array.Resize(ref _tracks, _tracks.Length * 2);
        }

        _tracks[_trackCount++] = range;
    }

    /// <summary>Turns how a track ended into warnings, or false with the error recorded.</summary>
    private bool Accept(TrackEnd end, in TrackRange range, int track)
    {
        switch (end)
        {
            case TrackEnd.EndOfTrack:
                return true;
            case TrackEnd.NoEndOfTrack:
                _warnings |= MidiWarnings.MissingEndOfTrack;
                return true;
            case TrackEnd.Truncated when range.ClampedAtEndOfFile:
                // The file was cut short: keep every complete event before the cut.
                _warnings |= MidiWarnings.TruncatedTrack | MidiWarnings.MissingEndOfTrack;
                return true;
            case TrackEnd.Truncated:
                _errorCode = MidiErrorCode.TruncatedEvent;
                _errorMessage = $"Track {track}: the track chunk ({range.Length:N0} bytes) ends in the middle of an event.";
                return false;
            default:
                return false;
        }
    }

    private TrackEnd Fail(MidiErrorCode code, int track, int offset, string what)
    {
        _errorCode = code;
        _errorMessage = $"Track {track}, byte {offset:N0} of the file: {what}.";
        return TrackEnd.Failed;
    }

    /// <summary>
    /// One pass over a track's events. The hot loop: reads a delta time, a status (or reuses the running one) and
    /// the data bytes, and does a few stores per note. Nothing here allocates except on the error path.
    /// </summary>
    private TrackEnd ParseTrack<TMode>(ReadOnlySpan<byte> d, int track, int fileOffset, out long tick)
        where TMode : struct, IParseMode
    {
        var mode = TMode.Mode;
        ref var start = ref MemoryMarshal.GetReference(d);
        tick = 0;
        var status = 0;
        var p = 0;
        var afterMetaOrSysex = false;
        var secondPassChannels = mode == ParseMode.SharedSecondPass ? _tracks[track].SecondPassChannels : 0;
        if (mode == ParseMode.Independent)
        {
            Array.Clear(_channelPrograms);
        }
        else if (mode == ParseMode.SharedFirstPass)
        {
            Array.Clear(_channelNotes);
        }
        else if (mode == ParseMode.SharedSecondPass)
        {
            _channelChangeStart.AsSpan(0, 16).CopyTo(_channelCursor);
        }

        while (true)
        {
            if (p >= d.Length)
            {
                FlushChannelNotes(mode, track);
                return TrackEnd.NoEndOfTrack;
            }

            // Delta time: a variable-length quantity of at most 4 bytes; one byte in most events, so that path is first.
            int b = At(ref start, p++);
            if (b >= 0x80)
            {
                var delta = (uint)(b & 0x7F);
                var vlqBytes = 1;
                do
                {
                    if (p >= d.Length)
                    {
                        FlushChannelNotes(mode, track);
                        return TrackEnd.Truncated;
                    }

                    b = At(ref start, p++);
                    delta = (delta << 7) | (uint)(b & 0x7F);
                    if (++vlqBytes == 4 && b >= 0x80)
                    {
                        return Fail(MidiErrorCode.BadVariableLengthQuantity, track, fileOffset + p - 4, "a delta time is longer than 4 bytes");
                    }
                }
                while (b >= 0x80);

                tick += delta;
            }
            else
            {
                tick += b;
            }

            if (p >= d.Length)
            {
                FlushChannelNotes(mode, track);
                return TrackEnd.Truncated;
            }

            var eventAt = p;
            b = At(ref start, p);
            if (b < 0x80)
            {
                if (status == 0)
                {
                    return Fail(MidiErrorCode.RunningStatusWithoutStatus, track, fileOffset + p, $"data byte 0x{b:X2} where an event must start, and no earlier status to repeat");
                }

                if (afterMetaOrSysex)
                {
                    _warnings |= MidiWarnings.RunningStatusAfterMetaOrSysex;
                }
            }
            else if (b < 0xF0)
            {
                status = b;
                p++;
            }
            else
            {
                var end = ParseNonChannelEvent(d, ref p, track, fileOffset, tick, mode);
                if (end != TrackEnd.NoEndOfTrack)
                {
                    if (end == TrackEnd.EndOfTrack && p < d.Length)
                    {
                        _warnings |= MidiWarnings.DataAfterEndOfTrack;
                    }

                    if (end != TrackEnd.Failed)
                    {
                        FlushChannelNotes(mode, track);
                    }

                    return end;
                }

                afterMetaOrSysex = b is 0xFF or 0xF0 or 0xF7;
                continue;
            }

            afterMetaOrSysex = false;
            var kind = status >> 4;
            var channel = status & 0x0F;
            if (p >= d.Length)
            {
                FlushChannelNotes(mode, track);
                return TrackEnd.Truncated;
            }

            var data1 = At(ref start, p++);
            if (data1 >= 0x80)
            {
                return Fail(MidiErrorCode.InvalidDataByte, track, fileOffset + p - 1, $"byte 0x{data1:X2} inside a channel message where a data byte (below 0x80) must be");
            }

            if (kind == 0xC)
            {
                OnProgramChange(mode, track, channel, data1, tick, eventAt);
                continue;
            }

            if (kind == 0xD)
            {
                continue;
            }

            if (p >= d.Length)
            {
                FlushChannelNotes(mode, track);
                return TrackEnd.Truncated;
            }

            var data2 = At(ref start, p++);
            if (data2 >= 0x80)
            {
                return Fail(MidiErrorCode.InvalidDataByte, track, fileOffset + p - 1, $"byte 0x{data2:X2} inside a channel message where a data byte (below 0x80) must be");
            }

            if (kind == 0x9 && data2 != 0)
            {
                OnNote(mode, track, channel, tick, eventAt, secondPassChannels);
            }
        }
    }

    /// <summary>
    /// An unchecked read for the hot loop: every call site tests <c>p &lt; d.Length</c> just before, which the JIT
    /// cannot see through, so the span indexer would check a second time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte At(ref byte start, int p) => Unsafe.Add(ref start, p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void OnNote(ParseMode mode, int track, int channel, long tick, int eventAt, int secondPassChannels)
    {
        switch (mode)
        {
            case ParseMode.Independent:
                _notes++;
                _noteCounts[channel == GeneralMidi.DrumChannel ? GeneralMidi.DrumKit : _channelPrograms[channel]]++;
                break;
            case ParseMode.SharedFirstPass:
                _notes++;
                if (channel == GeneralMidi.DrumChannel)
                {
                    _noteCounts[GeneralMidi.DrumKit]++;
                }
                else
                {
                    ref var span = ref _channelNotes[channel];
                    if (span.Count++ == 0)
                    {
                        span.FirstTick = tick;
                        span.FirstAt = eventAt;
                    }

                    span.LastTick = tick;
                    span.LastAt = eventAt;
                }

                break;
            default:
                if ((secondPassChannels & (1 << channel)) != 0)
                {
                    _noteCounts[ProgramAt(channel, tick, track, eventAt)]++;
                }

                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void OnProgramChange(ParseMode mode, int track, int channel, int program, long tick, int eventAt)
    {
        if (mode == ParseMode.Independent)
        {
            _channelPrograms[channel] = program;
        }
        else if (mode == ParseMode.SharedFirstPass && channel != GeneralMidi.DrumChannel)
        {
            if (_changeCount == _changes.Length)
            {
                Array.Resize(ref _changes, _changes.Length * 2);
            }

            _changes[_changeCount++] = new ProgramChange(tick, track, eventAt, (byte)channel, (byte)program);
        }
    }

    /// <summary>Meta, sysex and stray system messages. Returns NoEndOfTrack to mean "carry on".</summary>
    private TrackEnd ParseNonChannelEvent(ReadOnlySpan<byte> d, ref int p, int track, int fileOffset, long tick, ParseMode mode)
    {
        var b = d[p];
        if (b == 0xFF)
        {
            if (p + 1 >= d.Length)
            {
                return TrackEnd.Truncated;
            }

            var type = d[p + 1];
            p += 2;
            var lengthAt = p;
            var read = TryReadLength(d, ref p, out var length);
            if (read == LengthRead.TooLong)
            {
                return Fail(MidiErrorCode.BadVariableLengthQuantity, track, fileOffset + lengthAt, "a meta event length is longer than 4 bytes");
            }

            if (read == LengthRead.Truncated || length > d.Length - p)
            {
                return TrackEnd.Truncated;
            }

            var payloadAt = p;
            p += length;
            switch (type)
            {
                case 0x2F:
                    return TrackEnd.EndOfTrack;
                case 0x51 when mode != ParseMode.SharedSecondPass:
                    OnTempo(d.Slice(payloadAt, length), tick, track, payloadAt);
                    break;
                case 0x01 or 0x03 when track == 0 && !_titleFound && mode != ParseMode.SharedSecondPass:
                    if (TitleText.IsMeaningful(d.Slice(payloadAt, length)))
                    {
                        _titleFound = true;
                        _titleOffset = fileOffset + payloadAt;
                        _titleLength = length;
                    }

                    break;
            }

            return TrackEnd.NoEndOfTrack;
        }

        if (b is 0xF0 or 0xF7)
        {
            p++;
            var lengthAt = p;
            var read = TryReadLength(d, ref p, out var length);
            if (read == LengthRead.TooLong)
            {
                return Fail(MidiErrorCode.BadVariableLengthQuantity, track, fileOffset + lengthAt, "a sysex length is longer than 4 bytes");
            }

            if (read == LengthRead.Truncated || length > d.Length - p)
            {
                return TrackEnd.Truncated;
            }

            p += length;
            return TrackEnd.NoEndOfTrack;
        }

        // 0xF1-0xF6, 0xF8-0xFE do not belong in a file; skip them with their data bytes.
        _warnings |= MidiWarnings.SystemMessageInTrack;
        p++;
        var dataBytes = b switch { 0xF1 or 0xF3 => 1, 0xF2 => 2, _ => 0 };
        if (p + dataBytes > d.Length)
        {
            return TrackEnd.Truncated;
        }

        p += dataBytes;
        return TrackEnd.NoEndOfTrack;
    }

    private enum LengthRead
    {
        Ok,
        Truncated,
        TooLong,
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static LengthRead TryReadLength(ReadOnlySpan<byte> d, ref int p, out int length)
    {
        uint value = 0;
        for (var i = 0; i < 4; i++)
        {
            if (p >= d.Length)
            {
                length = 0;
                return LengthRead.Truncated;
            }

            var b = d[p++];
            value = (value << 7) | (uint)(b & 0x7F);
            if (b < 0x80)
            {
                length = (int)value; // at most 0x0FFFFFFF: fits
                return LengthRead.Ok;
            }
        }

        length = 0;
        return LengthRead.TooLong;
    }

    private void OnTempo(ReadOnlySpan<byte> payload, long tick, int track, int at)
    {
        var tempo = payload.Length == 3 ? (payload[0] << 16) | (payload[1] << 8) | payload[2] : 0;
        if (tempo == 0)
        {
            _warnings |= MidiWarnings.BadTempo;
            return;
        }

        if (_tempoCount == _tempos.Length)
        {
            Array.Resize(ref _tempos, _tempos.Length * 2);
        }

        _tempos[_tempoCount++] = new TempoChange(tick, track, at, tempo);
    }

    /// <summary>At the end of a first-pass track, keeps one compact record per channel that sounded notes.</summary>
    private void FlushChannelNotes(ParseMode mode, int track)
    {
        if (mode != ParseMode.SharedFirstPass)
        {
            return;
        }

        for (var channel = 0; channel < 16; channel++)
        {
            ref var span = ref _channelNotes[channel];
            if (span.Count == 0)
            {
                continue;
            }

            if (_groupCount == _groups.Length)
            {
                Array.Resize(ref _groups, _groups.Length * 2);
            }

            _groups[_groupCount++] = new NoteGroup(track, channel, span);
        }
    }
}
