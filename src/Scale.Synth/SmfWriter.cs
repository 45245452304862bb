namespace Scale.Synth;

/// <summary>Serializes a <see cref="SongModel"/> to Standard MIDI File bytes, applying per-event damage flags.</summary>
internal static class SmfWriter
{
    /// <summary>
    /// Writes the header and every track. <paramref name="chunkOffsets"/> receives the offset of each MTrk chunk
    /// (its "MTrk" tag), so chunk-level damage can patch lengths or insert bytes afterwards.
    /// </summary>
    public static void Write(SongModel song, ByteBuffer output, bool useRunningStatus, List<int> chunkOffsets)
    {
        chunkOffsets.Clear();
        output.Add("MThd"u8);
        output.AddUInt32BigEndian(6);
        output.AddUInt16BigEndian(song.Format);
        output.AddUInt16BigEndian(song.TrackCount);
        output.AddUInt16BigEndian(song.Division);
        for (var t = 0; t < song.TrackCount; t++)
        {
            chunkOffsets.Add(output.Length);
            output.Add("MTrk"u8);
            output.AddUInt32BigEndian(0);
            var start = output.Length;
            WriteTrack(song, song[t], output, useRunningStatus);
            output.SetUInt32BigEndian(start - 4, (uint)(output.Length - start));
        }
    }

    /// <summary>
    /// The hot loop of corpus writing (billions of events at Lakh scale): writes into the raw array with a local
    /// position, reserving room per event (at most 5 + 3 bytes for a channel event, or the payload's size plus 7).
    /// </summary>
    private static void WriteTrack(SongModel song, TrackModel track, ByteBuffer o, bool useRunningStatus)
    {
        var last = 0;
        var running = 0;
        var payload = song.Payload.Span;
        var position = o.Length;
        var data = o.Reserve(track.Count * 8);
        foreach (ref readonly var e in track.Events)
        {
            var room = e.IsChannel ? 8 : e.PayloadLength + 12;
            if (position + room > data.Length)
            {
                o.Commit(position);
                data = o.Reserve(room + ((track.Count + 1) * 4));
            }

            var delta = e.Tick - last;
            last = e.Tick;
            if ((e.Flags & EventFlags.OverlongDelta) != 0)
            {
                // Five bytes: four continuation bytes then the last, one more than any reader accepts.
                for (var shift = 28; shift > 0; shift -= 7)
                {
                    data[position++] = (byte)(0x80 | ((delta >> shift) & 0x7F));
                }

                data[position++] = (byte)(delta & 0x7F);
            }
            else
            {
                position = WriteVlq(data, position, delta);
            }

            if (e.IsChannel)
            {
                if ((e.Flags & EventFlags.OmitStatus) == 0 && !(useRunningStatus && e.Status == running))
                {
                    data[position++] = e.Status;
                }

                running = e.Status;
                data[position++] = e.Data1;
                if (MidiEvent.HasTwoDataBytes(e.Status))
                {
                    data[position++] = (e.Flags & EventFlags.HighBitData) != 0 ? (byte)(e.Data2 | 0x80) : e.Data2;
                }

                continue;
            }

            // Meta and sysex events cancel running status (SMF 1.0); so do the raw bytes damage inserts.
            running = 0;
            switch (e.Status)
            {
                case MidiEvent.Meta:
                    data[position++] = 0xFF;
                    data[position++] = e.Data1;
                    position = WriteVlq(data, position, e.PayloadLength);
                    break;
                case MidiEvent.Sysex:
                    data[position++] = 0xF0;
                    position = WriteVlq(data, position, e.PayloadLength);
                    break;
            }

            payload.Slice(e.PayloadOffset, e.PayloadLength).CopyTo(data.AsSpan(position));
            position += e.PayloadLength;
        }

        o.Commit(position);
        if (!track.OmitEndOfTrack)
        {
            o.AddVlq(Math.Max(0, track.EndTick - last));
            o.Add(0xFF);
            o.Add(0x2F);
            o.Add(0x00);
        }

        if (track.TailLength > 0)
        {
            o.Add(payload.Slice(track.TailOffset, track.TailLength));
        }
    }

    private static int WriteVlq(byte[] data, int position, int value)
    {
        if ((uint)value < 0x80)
        {
            data[position] = (byte)value;
            return position + 1;
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)value, 0x0FFFFFFFu, nameof(value));
        var length = ByteBuffer.VlqLength(value);
        for (var i = length - 1; i >= 0; i--)
        {
            data[position + i] = (byte)((value & 0x7F) | (i == length - 1 ? 0 : 0x80));
            value >>= 7;
        }

        return position + length;
    }
}
