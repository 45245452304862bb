using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Scale.Midi;

namespace Scale.Synth;

/// <summary>
/// Makes one synthetic file at a time: composes a song, damages it as its planned kind requires, serializes it
/// and computes the instruments the playback semantics give. Keeps its buffers between files, so use one
/// instance per thread. The bytes of file i depend only on (seed, i, damaged share, average size).
/// </summary>
internal sealed class FileFactory
{
    /// <summary>Spread of file sizes (sigma of the log-normal): a few KB to a few hundred KB around a 35 KB mean.</summary>
    private const double SizeSigma = 0.8;

    private readonly long _seed;
    private readonly double _damagedShare;
    private readonly int _averageBytes;
    private readonly SynthRandom _rng = new(0, 0);
    private readonly SynthRandom _nameRng = new(0, 0);
    private readonly SongModel _song = new();
    private readonly SongComposer _composer = new();
    private readonly PlaybackTruth _truth = new();
    private readonly ByteBuffer _output = new(256 * 1024);
    private readonly ByteBuffer _scratch = new(256 * 1024);
    private readonly List<int> _chunks = [];

    public FileFactory(long seed, double damagedShare, int averageBytes)
    {
        if (damagedShare is < 0 or > 1 || double.IsNaN(damagedShare))
        {
            throw new ArgumentOutOfRangeException(nameof(damagedShare), damagedShare, "The damaged share must be between 0 and 1.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(averageBytes, 1_000);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(averageBytes, 1_000_000);
        _seed = seed;
        _damagedShare = damagedShare;
        _averageBytes = averageBytes;
    }

    public FileFactory(SyntheticCorpusOptions options)
        : this(options.Seed, options.DamagedShare, options.AverageFileBytes)
    {
    }

    public FileKind Kind { get; private set; }

    /// <summary>The instruments a correct reader reports; empty for rejected kinds.</summary>
    public InstrumentSet Instruments { get; private set; }

    public SongIdentity Identity { get; private set; } = new(string.Empty, string.Empty, []);

    /// <summary>The file's bytes, valid until the next <see cref="Generate"/>.</summary>
    public ReadOnlySpan<byte> Bytes => _output.Span;

    public void Generate(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Kind = SyntheticCorpus.Plan(index, _damagedShare, out var ordinal);
        _nameRng.Reset(_seed, index, 1);
        Identity = SongNaming.Create(_nameRng, index);
        _rng.Reset(_seed, index);
        _output.Clear();
        Instruments = InstrumentSet.Empty;
        switch (Kind)
        {
            case FileKind.Valid:
                ComposeAndWrite();
                break;
            case FileKind.EmptyFile:
                break;
            case FileKind.NotMidiHtml:
                WriteHtml(index);
                break;
            case FileKind.NotMidiMp3:
                WriteMp3();
                break;
            case FileKind.NotMidiText:
                WriteText(index, ordinal);
                break;
            case FileKind.TruncatedHeader:
                // Unique within a corpus by construction (13 bytes leave little room for chance): the ordinal is
                // the track count. Format and division's high byte vary with the seed.
                WriteHeader(_rng.Next(2), 1 + (ordinal % 0xFFFF), _rng.Range(1, 0x80) << 8);
                _output.Truncate(13);
                break;
            case FileKind.BadHeaderLength:
                ComposeAndWrite();
                _output.SetUInt32BigEndian(4, (uint)_rng.Next(6));
                break;
            case FileKind.NoTracks:
                // Declares at least one track (a header declaring none is a valid empty song).
                WriteHeader(_rng.Next(2), 1 + (ordinal % 0xFFFF), _rng.Range(1, 0x8000));
                break;
            case FileKind.BadVariableLengthQuantity:
                Compose();
                FlagNoteOn(EventFlags.OverlongDelta);
                Write();
                break;
            case FileKind.RunningStatusWithoutStatus:
                Compose();
                _song[0].Insert(0, new MidiEvent { Status = 0x90, Data1 = 60, Data2 = 100, Flags = EventFlags.OmitStatus });
                Write();
                break;
            case FileKind.InvalidDataByte:
                Compose();
                FlagNoteOn(EventFlags.HighBitData);
                Write();
                break;
            case FileKind.TruncatedEvent:
                Compose(forceFormat1: true);
                CutTrack(_song.TrackCount >= 3 ? _rng.Range(1, _song.TrackCount - 1) : 0);
                Write();
                break;
            case FileKind.GzipCorrupt:
                ComposeAndWrite();
                Gzip();
                // Deflate block type 11 is reserved: the first block header makes any inflater fail at once.
                _output[10] |= 0x06;
                break;
            case FileKind.RiffRmidWrapper:
                ComposeAndWrite(truth: true);
                WrapRiff();
                break;
            case FileKind.MacBinaryHeader:
                ComposeAndWrite(truth: true);
                WrapMacBinary();
                break;
            case FileKind.GzipCompressed:
                ComposeAndWrite(truth: true);
                Gzip();
                break;
            case FileKind.LeadingBytes:
                ComposeAndWrite(truth: true);
                AddLeadingBytes(ordinal);
                break;
            case FileKind.UnknownChunk:
                ComposeAndWrite(truth: true);
                InsertUnknownChunk();
                break;
            case FileKind.TrailingBytes:
                ComposeAndWrite(truth: true);
                AddTrailingBytes(ordinal);
                break;
            case FileKind.TrackLengthPastEnd:
                ComposeAndWrite(truth: true);
                PatchLastTrackLength();
                break;
            case FileKind.MissingEndOfTrack:
                Compose();
                _song[_rng.Next(_song.TrackCount)].OmitEndOfTrack = true;
                WriteWithTruth();
                break;
            case FileKind.RunningStatusAfterMetaOrSysex:
                Compose();
                InsertRunningStatusAfterMeta(ordinal);
                WriteWithTruth();
                break;
            case FileKind.TrackCountMismatch:
                ComposeAndWrite(truth: true);
                _output.SetUInt16BigEndian(10, _song.TrackCount + _rng.Range(1, 4));
                break;
            case FileKind.UnknownFormat:
                ComposeAndWrite(truth: true);
                _output.SetUInt16BigEndian(8, _rng.Pick<int>([3, 4, 5, 7, 9, 0x00FF, 0x0100, 0x0101, 0x7FFF]));
                break;
            case FileKind.InvalidDivision:
                ComposeAndWrite(truth: true);
                _output.SetUInt16BigEndian(12, 0);
                break;
            case FileKind.SystemMessageInTrack:
                Compose();
                InsertSystemMessage();
                WriteWithTruth();
                break;
            case FileKind.TruncatedTrack:
                Compose();
                CutTrack(_song.TrackCount - 1);
                WriteWithTruth();
                PatchLastTrackLength();
                break;
            case FileKind.DataAfterEndOfTrack:
                Compose();
                Instruments = _truth.Evaluate(_song);
                AddDataAfterEndOfTrack(ordinal);
                Write();
                break;
            case FileKind.LongHeader:
                ComposeAndWrite(truth: true);
                AddHeaderBytes(ordinal);
                break;
            case FileKind.BadTempo:
                Compose();
                InsertBadTempo(ordinal);
                WriteWithTruth();
                break;
            case FileKind.NoNotes:
                Compose(silent: true);
                WriteWithTruth();
                break;
            default:
                throw new InvalidOperationException($"No generator for kind {Kind}.");
        }
    }

    private int TargetBytes()
    {
        // Log-normal with mean = the average: exp(sigma*z - sigma^2/2) has mean 1. Clamped to 1/20..30x average.
        var z = _rng.NextGaussian();
        var factor = SynthMath.Exp((SizeSigma * z) - (SizeSigma * SizeSigma / 2));
        return (int)Math.Clamp(_averageBytes * factor, _averageBytes / 20.0, _averageBytes * 30.0);
    }

    private void Compose(bool forceFormat1 = false, bool silent = false) =>
        _composer.Compose(_song, _rng, TargetBytes(), Identity, forceFormat1, silent);

    private void Write() => SmfWriter.Write(_song, _output, _composer.UseRunningStatus, _chunks);

    private void WriteWithTruth()
    {
        Instruments = _truth.Evaluate(_song);
        Write();
    }

    private void ComposeAndWrite(bool truth = false)
    {
        Compose();
        if (truth || Kind == FileKind.Valid)
        {
            Instruments = _truth.Evaluate(_song);
        }

        Write();
    }

    private void WriteHeader(int format, int tracks, int division)
    {
        _output.Add("MThd"u8);
        _output.AddUInt32BigEndian(6);
        _output.AddUInt16BigEndian(format);
        _output.AddUInt16BigEndian(tracks);
        _output.AddUInt16BigEndian(division);
    }

    /// <summary>Picks a Note On (velocity &gt; 0) somewhere after the start of a random track that has one.</summary>
    private bool FindNoteOn(out int track, out int index)
    {
        var firstTrack = _rng.Next(_song.TrackCount);
        for (var k = 0; k < _song.TrackCount; k++)
        {
            track = (firstTrack + k) % _song.TrackCount;
            var events = _song[track].Events;
            if (events.Length < 2)
            {
                continue;
            }

            var from = 1 + _rng.Next(events.Length - 1);
            for (var j = 0; j < events.Length - 1; j++)
            {
                index = 1 + ((from - 1 + j) % (events.Length - 1));
                if (events[index].IsNoteOn)
                {
                    return true;
                }
            }
        }

        track = 0;
        index = 0;
        return false;
    }

    private void FlagNoteOn(EventFlags flag)
    {
        if (!FindNoteOn(out var track, out var index))
        {
            throw new InvalidOperationException("A composed song has no Note On after its first event.");
        }

        _song[track][index].Flags |= flag;
    }

    /// <summary>
    /// Cuts a track in the middle: drops its events from a point on and ends the chunk with the first two bytes of
    /// a Note On (status and key, no velocity) and no End of Track.
    /// </summary>
    private void CutTrack(int trackIndex)
    {
        var track = _song[trackIndex];
        var count = track.Count;
        var cut = count < 5 ? count : _rng.Range(count / 5, (count * 9 / 10) + 1);
        var channel = 0;
        for (var i = cut - 1; i >= 0; i--)
        {
            if (track[i].IsChannel)
            {
                channel = track[i].Channel;
                break;
            }
        }

        track.TruncateAt(cut);
        track.OmitEndOfTrack = true;
        track.TailOffset = _song.AddPayload([0x00, (byte)(0x90 | channel), (byte)_rng.Range(36, 84)]);
        track.TailLength = 3;
    }

    /// <summary>Makes the last track chunk declare more bytes than the file has left.</summary>
    private void PatchLastTrackLength()
    {
        var at = _chunks[^1] + 4;
        _output.SetUInt32BigEndian(at, _output.GetUInt32BigEndian(at) + (uint)_rng.Range(1, 100_000));
    }

    private void InsertRunningStatusAfterMeta(int ordinal)
    {
        if (!FindNoteOn(out var trackIndex, out var index))
        {
            throw new InvalidOperationException("A composed song has no Note On after its first event.");
        }

        var track = _song[trackIndex];
        var note = track[index];
        var between = new MidiEvent { Tick = note.Tick };
        if (ordinal % 2 == 0)
        {
            between.Status = MidiEvent.Meta;
            between.Data1 = _rng.Pick<byte>([0x01, 0x05, 0x06]);
            var text = SongNaming.Word(_rng);
            between.PayloadOffset = _song.AddPayloadAscii(text);
            between.PayloadLength = text.Length;
        }
        else
        {
            between.Status = MidiEvent.Sysex;
            between.PayloadOffset = _song.AddPayload([0x41, 0x10, 0x42, 0x12, 0x40, 0x01, 0x30, 0x04, 0x0B, 0xF7]);
            between.PayloadLength = 10;
        }

        // The note's release, written with the status left out although the meta/sysex cancelled it. Velocity 0
        // releases the note just sounded, so the instruments do not depend on how a reader treats it.
        var release = new MidiEvent { Tick = note.Tick, Status = note.Status, Data1 = note.Data1, Data2 = 0, Flags = EventFlags.OmitStatus };
        track.Insert(index + 1, between);
        track.Insert(index + 2, release);
    }

    private void InsertSystemMessage()
    {
        if (!FindNoteOn(out var trackIndex, out var index))
        {
            throw new InvalidOperationException("A composed song has no Note On after its first event.");
        }

        var track = _song[trackIndex];
        var raw = new MidiEvent
        {
            Tick = track[index].Tick,
            Status = MidiEvent.Raw,
            PayloadOffset = _song.AddPayload([_rng.Pick<byte>([0xF8, 0xFA, 0xFB, 0xFC, 0xFE])]),
            PayloadLength = 1,
        };
        track.Insert(index, raw);
    }

    private void InsertBadTempo(int ordinal)
    {
        var track = _song[0];
        var at = _rng.Next(track.Count + 1);
        var tick = at < track.Count ? track[at].Tick : track.LastTick;
        ReadOnlySpan<byte> payload = ordinal % 2 == 0 ? [0x07, 0xA1] : [0x00, 0x00, 0x00];
        track.Insert(at, new MidiEvent
        {
            Tick = tick,
            Status = MidiEvent.Meta,
            Data1 = 0x51,
            PayloadOffset = _song.AddPayload(payload),
            PayloadLength = payload.Length,
        });
    }

    /// <summary>Zero padding, or stray events (a program change and a note) a reader must not play.</summary>
    private void AddDataAfterEndOfTrack(int ordinal)
    {
        var track = _song[_rng.Next(_song.TrackCount)];
        if (ordinal % 2 == 0)
        {
            track.TailOffset = _song.AddPayload(new byte[_rng.Range(1, 64)]);
            track.TailLength = _song.Payload.Length - track.TailOffset;
            return;
        }

        var program = 0;
        while (Instruments.Contains(program))
        {
            program++;
        }

        var channel = _rng.Next(9);
        track.TailOffset = _song.AddPayload(
        [
            0x00, (byte)(0xC0 | channel), (byte)program,
            0x00, (byte)(0x90 | channel), 60, 100,
            0x60, (byte)(0x80 | channel), 60, 0,
        ]);
        track.TailLength = 11;
    }

    private void Gzip()
    {
        // Rare (two kinds of thirty, in 2% of files): a fresh stream per call is cheaper than keeping one.
        using var compressed = new MemoryStream(_output.Length / 2);
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(_output.Span);
        }

        _output.Clear();
        _output.Add(compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
    }

    private void WrapRiff()
    {
        var smf = _output.Span;
        var pad = smf.Length & 1;
        _scratch.Clear();
        _scratch.Add("RIFF"u8);
        _scratch.AddUInt32LittleEndian((uint)(4 + 8 + smf.Length + pad));
        _scratch.Add("RMIDdata"u8);
        _scratch.AddUInt32LittleEndian((uint)smf.Length);
        _scratch.Add(smf);
        if (pad != 0)
        {
            _scratch.Add(0); // RIFF chunks are padded to even length; the pad is not part of the SMF
        }

        CopyScratchToOutput();
    }

    /// <summary>A MacBinary II header (as Mac FTP and BBS transfers left on files), CRC and all; no fork padding.</summary>
    private void WrapMacBinary()
    {
        Span<byte> header = stackalloc byte[128];
        header.Clear();
        var name = Identity.Title.Length > 0 ? Identity.Title : "Untitled";
        var nameLength = Math.Min(name.Length + 4, 63);
        header[1] = (byte)nameLength;
        Encoding.ASCII.GetBytes((name + ".mid").AsSpan(0, nameLength), header[2..]);
        "Midi"u8.CopyTo(header[65..]);
        "TVOD"u8.CopyTo(header[69..]);
        BinaryPrimitives.WriteUInt32BigEndian(header[83..], (uint)_output.Length);
        var date = (uint)(2_900_000_000 + _rng.Next(300_000_000)); // seconds since 1904: the 1990s-2000s
        BinaryPrimitives.WriteUInt32BigEndian(header[91..], date);
        BinaryPrimitives.WriteUInt32BigEndian(header[95..], date);
        header[122] = 129;
        header[123] = 129;
        BinaryPrimitives.WriteUInt16BigEndian(header[124..], Crc16Xmodem(header[..124]));
        _output.Insert(0, header);
    }

    private void AddLeadingBytes(int ordinal)
    {
        _scratch.Clear();
        switch (ordinal % 3)
        {
            case 0:
                _scratch.AddAscii("HTTP/1.1 200 OK\r\nContent-Type: audio/midi\r\nContent-Length: " +
                                  _output.Length.ToString(CultureInfo.InvariantCulture) + "\r\n\r\n");
                break;
            case 1:
                var junk = _scratch.AddSpan(_rng.Range(4, 100));
                _rng.NextBytes(junk);
                // Keep clear of the signatures readers test first: MacBinary (0), gzip (1F), RIFF ('R'), ID3 ('I').
                junk[0] = (byte)_rng.Range(0x80, 0x100);
                RemoveMThd(junk);
                break;
            default:
                _scratch.AddAscii(_rng.Pick<string>(["\r\n", "\n\n", "\r\n\r\n", " \r\n"]));
                break;
        }

        _output.Insert(0, _scratch.Span);
    }

    private void InsertUnknownChunk()
    {
        var before = _rng.Next(_song.TrackCount);
        var at = _chunks[before];
        var dataLength = _rng.Range(8, 200);
        _scratch.Clear();
        var id = _rng.Next(4);
        _scratch.Add(id switch { 0 => "XFIH"u8, 1 => "XFKM"u8, 2 => "CASM"u8, _ => "JUNK"u8 });
        _scratch.AddUInt32BigEndian((uint)dataLength);
        var data = _scratch.AddSpan(dataLength);
        _rng.NextBytes(data);
        if (id == 0)
        {
            "XFhd:"u8.CopyTo(data);
        }

        RemoveMThd(data);
        _output.Insert(at, _scratch.Span);
    }

    private void AddTrailingBytes(int ordinal)
    {
        switch (ordinal % 3)
        {
            case 0:
                _rng.NextBytes(_output.AddSpan(_rng.Range(1, 8)));
                break;
            case 1:
                // Zero padding to a 128-byte block, as XMODEM transfers and MacBinary forks leave it.
                _output.AddSpan(128 - (_output.Length % 128)).Clear();
                break;
            default:
                _output.AddSpan(_rng.Range(1, 128)).Fill(0x1A); // CP/M end-of-file padding
                break;
        }
    }

    private void AddHeaderBytes(int ordinal)
    {
        var extra = _rng.Range(2, 11);
        Span<byte> bytes = stackalloc byte[extra];
        bytes.Clear();
        if (ordinal % 2 == 1)
        {
            _rng.NextBytes(bytes);
        }

        _output.Insert(14, bytes);
        _output.SetUInt32BigEndian(4, (uint)(6 + extra));
    }

    private void WriteHtml(int index)
    {
        var site = SongNaming.Site(_rng);
        var path = (Identity.Artist + "/" + Identity.Title + "_" + index.ToString(CultureInfo.InvariantCulture) + ".mid").Replace(' ', '_');
        var line = _rng.Range(20, 400).ToString(CultureInfo.InvariantCulture);
        var html = _rng.Next(3) switch
        {
            0 => "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n" +
                 "</head><body>\n<h1>Not Found</h1>\n<p>The requested URL /midi/" + path +
                 " was not found on this server.</p>\n<hr>\n<address>Apache/2.2." + line + " (Unix) Server at www." + site +
                 ".com Port 80</address>\n</body></html>\n",
            1 => "<html>\n<head>\n<title>" + site + ".com</title>\n<meta http-equiv=\"refresh\" content=\"0; url=http://www." +
                 site + ".com/\">\n</head>\n<body>\n<p>Download <a href=\"/get.php?id=" + index.ToString(CultureInfo.InvariantCulture) +
                 "\">" + Identity.Title + "</a></p>\n</body>\n</html>\n",
            _ => "<br />\n<b>Warning</b>:  readfile(/home/" + site + "/midi/" + path +
                 ") [<a href='function.readfile'>function.readfile</a>]: failed to open stream: No such file or directory in <b>/home/" +
                 site + "/public_html/download.php</b> on line <b>" + line + "</b><br />\n",
        };
        _output.AddAscii(html);
    }

    private void WriteMp3()
    {
        _output.Add("ID3"u8);
        _output.Add([3, 0, 0]);
        var sizeAt = _output.Length;
        _output.AddUInt32BigEndian(0);
        var framesStart = _output.Length;
        AddId3Text("TIT2"u8, Identity.Title);
        AddId3Text("TPE1"u8, Identity.Artist);
        AddId3Text("TALB"u8, "www." + SongNaming.Site(_rng) + ".com");
        var size = _output.Length - framesStart;
        // ID3 sizes are "syncsafe": 7 bits per byte.
        _output.SetUInt32BigEndian(sizeAt, (uint)((size & 0x7F) | ((size >> 7 & 0x7F) << 8) | ((size >> 14 & 0x7F) << 16)));
        var frames = _rng.Range(10, 120);
        for (var f = 0; f < frames; f++)
        {
            // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417-byte frames.
            _output.Add([0xFF, 0xFB, 0x90, 0x64]);
            var body = _output.AddSpan(413);
            _rng.NextBytes(body);
            RemoveMThd(body);
        }
    }

    private void AddId3Text(ReadOnlySpan<byte> id, string text)
    {
        _output.Add(id);
        _output.AddUInt32BigEndian((uint)(text.Length + 1));
        _output.Add([0, 0, 0]); // flags, then text encoding ISO-8859-1
        _output.AddAscii(text);
    }

    private void WriteText(int index, int ordinal)
    {
        var id = index.ToString(CultureInfo.InvariantCulture);
        _output.AddAscii(ordinal == 0 ? "error with file" : _rng.Next(3) switch
        {
            0 => "error with file " + id,
            1 => "File not found: /midi/" + id + ".mid\r\n",
            _ => "Error 404: song " + id + " has been removed.\n",
        });
    }

    private void CopyScratchToOutput()
    {
        _output.Clear();
        _output.Add(_scratch.Span);
    }

    /// <summary>Random bytes must not contain "MThd", or a reader searching for it would find a song there.</summary>
    private static void RemoveMThd(Span<byte> bytes)
    {
        int at;
        while ((at = bytes.IndexOf("MThd"u8)) >= 0)
        {
            bytes[at] = (byte)'m';
        }
    }

    private static ushort Crc16Xmodem(ReadOnlySpan<byte> data)
    {
        var crc = 0;
        foreach (var b in data)
        {
            crc ^= b << 8;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
            }
        }

        return (ushort)crc;
    }
}

/// <summary>Arithmetic that gives the same bits on every platform (only +, -, *, / and exact scaling).</summary>
internal static class SynthMath
{
    /// <summary>e^x: exp(x) = 2^k * exp(r), |r| &lt;= ln 2 / 2, with exp(r) as a 20-term Taylor series.</summary>
    public static double Exp(double x)
    {
        const double Ln2 = 0.6931471805599453;
        var k = Math.Round(x / Ln2);
        var r = x - (k * Ln2);
        double term = 1, sum = 1;
        for (var n = 1; n < 20; n++)
        {
            term *= r / n;
            sum += term;
        }

        return Math.ScaleB(sum, (int)k);
    }
}
