using System.Buffers.Binary;

namespace Scale.Midi;

/// <summary>
/// Finds the Standard MIDI File inside what was handed in: plain SMF, a RIFF RMID wrapper, a MacBinary header, or
/// an SMF after some leading junk. When there is none, says what the bytes look like instead.
/// </summary>
internal static class Container
{
    /// <summary>How far into a file we look for "MThd" after unknown leading bytes.</summary>
    private const int LeadingSearchWindow = 64 * 1024;

    private const int MacBinaryHeaderLength = 128;

    internal const uint MThd = 0x4D546864; // "MThd"
    internal const uint MTrk = 0x4D54726B; // "MTrk"
    private const uint Riff = 0x52494646; // "RIFF"
    private const uint Rmid = 0x524D4944; // "RMID"
    private const uint Data = 0x64617461; // "data"

    public static bool LocateSmf(ReadOnlySpan<byte> file, out ReadOnlySpan<byte> smf, out MidiWarnings warnings, out string notMidiReason)
    {
        warnings = MidiWarnings.None;
        notMidiReason = string.Empty;
        smf = default;
        var tag = file.Length >= 4 ? BinaryPrimitives.ReadUInt32BigEndian(file) : 0;

        if (tag == MThd)
        {
            smf = file;
            return true;
        }

        if (tag == Riff && file.Length >= 12 && BinaryPrimitives.ReadUInt32BigEndian(file[8..]) == Rmid)
        {
            if (TryFindRiffData(file, out smf))
            {
                warnings = MidiWarnings.RiffRmidWrapper;
                return true;
            }

            notMidiReason = "The file is a RIFF RMID container without a usable 'data' chunk holding a MIDI file.";
            return false;
        }

        if (file.Length >= MacBinaryHeaderLength + 4 && file[0] == 0 && file[1] is >= 1 and <= 63 &&
            BinaryPrimitives.ReadUInt32BigEndian(file[MacBinaryHeaderLength..]) == MThd)
        {
            smf = file[MacBinaryHeaderLength..];
            warnings = MidiWarnings.MacBinaryHeader;
            return true;
        }

        var window = file[..Math.Min(file.Length, LeadingSearchWindow)];
        var at = window.IndexOf("MThd"u8);
        if (at > 0)
        {
            smf = file[at..];
            warnings = MidiWarnings.LeadingBytes;
            return true;
        }

        notMidiReason = "The file is not a MIDI file: " + Describe(file) + ".";
        return false;
    }

    private static bool TryFindRiffData(ReadOnlySpan<byte> file, out ReadOnlySpan<byte> smf)
    {
        smf = default;
        var position = 12;
        while (position + 8 <= file.Length)
        {
            var id = BinaryPrimitives.ReadUInt32BigEndian(file[position..]);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(file[(position + 4)..]);
            var start = position + 8;
            if (id == Data)
            {
                var available = file.Length - start;
                var inner = file.Slice(start, (int)Math.Min(size, (uint)available));
                if (inner.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(inner) == MThd)
                {
                    smf = inner;
                    return true;
                }

                return false;
            }

            // RIFF chunks are padded to an even length.
            var next = start + (long)size + (size & 1);
            if (next > file.Length)
            {
                return false;
            }

            position = (int)next;
        }

        return false;
    }

    /// <summary>A short human description of what non-MIDI bytes are, from their magic numbers.</summary>
    internal static string Describe(ReadOnlySpan<byte> file)
    {
        var head = file[..Math.Min(file.Length, 512)];
        if (head.Length >= 3 && head[0] == 'I' && head[1] == 'D' && head[2] == '3')
        {
            return "MP3 audio with an ID3 tag";
        }

        if (head.Length >= 2 && head[0] == 0xFF && (head[1] & 0xE0) == 0xE0)
        {
            return "MPEG audio (MP3)";
        }

        if (head.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(head) == 0x3026B275)
        {
            return "ASF/WMA audio or video";
        }

        if (head.Length >= 8 && (head[4..8].SequenceEqual("ftyp"u8) || head[4..8].SequenceEqual("moov"u8) || head[4..8].SequenceEqual("mdat"u8)))
        {
            return "an MP4/QuickTime container";
        }

        if (head.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(head) == 0x00051607)
        {
            return "an AppleDouble resource fork";
        }

        if (head.Length >= 12 && BinaryPrimitives.ReadUInt32BigEndian(head) == Riff)
        {
            return "a RIFF '" + Ascii(head[8..12]) + "' file";
        }

        if (head.StartsWith("PK\u0003\u0004"u8))
        {
            return "a ZIP archive";
        }

        if (head.StartsWith("%PDF"u8))
        {
            return "a PDF document";
        }

        if (head.StartsWith("OggS"u8))
        {
            return "Ogg audio";
        }

        var trimmed = TrimLeadingWhitespace(head);
        if (trimmed.Length > 0 && trimmed[0] == '<')
        {
            return "an HTML or XML page";
        }

        if (IsMostlyText(head))
        {
            var line = trimmed[..Math.Min(trimmed.Length, 40)];
            var end = line.IndexOfAny((byte)'\r', (byte)'\n');
            if (end >= 0)
            {
                line = line[..end];
            }

            return "plain text (\"" + Ascii(line) + "\")";
        }

        return "unrecognised binary data starting " + Convert.ToHexString(head[..Math.Min(head.Length, 8)]);
    }

    private static ReadOnlySpan<byte> TrimLeadingWhitespace(ReadOnlySpan<byte> span)
    {
        // A UTF-8 byte order mark often precedes HTML.
        if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            span = span[3..];
        }

        var i = 0;
        while (i < span.Length && span[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            i++;
        }

        return span[i..];
    }

    private static bool IsMostlyText(ReadOnlySpan<byte> head)
    {
        if (head.IsEmpty)
        {
            return false;
        }

        var printable = 0;
        foreach (var b in head)
        {
            if (b is >= 0x20 and < 0x7F or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                printable++;
            }
        }

        return printable * 10 >= head.Length * 9;
    }

    private static string Ascii(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = bytes[i] is >= 0x20 and < 0x7F ? (char)bytes[i] : '?';
        }

        return new string(chars);
    }
}
