using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Scale.Midi;

/// <summary>gzip-compressed SMF files (seen in scraped corpora) are unpacked in memory, bounded by the size limit.</summary>
internal static class Gzip
{
    public enum Outcome
    {
        Ok,
        TooLarge,
        Corrupt,
    }

    public static bool IsGzip(ReadOnlySpan<byte> file) => file.Length >= 3 && file[0] == 0x1F && file[1] == 0x8B && file[2] == 0x08;

    /// <summary>Decompresses into a pooled buffer the caller returns; never more than <paramref name="limit"/> bytes.</summary>
    public static unsafe Outcome TryDecompress(ReadOnlySpan<byte> file, long limit, out byte[]? buffer, out int length, out string detail)
    {
        // One byte over the limit tells "too large" from "exactly the limit"; arrays cannot exceed Array.MaxLength.
        var cap = Math.Min(limit, Array.MaxLength - 1L) + 1;
        buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(cap, Math.Max(4096L, file.Length * 4L)));
        length = 0;
        detail = string.Empty;
        fixed (byte* pointer = file)
        {
            using var compressed = new UnmanagedMemoryStream(pointer, file.Length);
            try
            {
                using var gzip = new GZipStream(compressed, CompressionMode.Decompress);
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (length >= cap)
                        {
                            return Outcome.TooLarge;
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(cap, buffer.Length * 2L));
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    var read = gzip.Read(buffer, length, buffer.Length - length);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                }
            }
            catch (InvalidDataException ex)
            {
                detail = ex.Message;
                return Outcome.Corrupt;
            }
            catch (EndOfStreamException ex)
            {
                detail = ex.Message;
                return Outcome.Corrupt;
            }
        }

        if (length > limit)
        {
            return Outcome.TooLarge;
        }

        // GZipStream stops quietly when its input runs out, so a cut-off file would pass as a short one. The gzip
        // trailer's last 4 bytes hold the uncompressed length mod 2^32: a mismatch means truncated or damaged.
        if (file.Length < 18 || BinaryPrimitives.ReadUInt32LittleEndian(file[^4..]) != (uint)length)
        {
            detail = $"the data is cut short or damaged (decompressed {length:N0} bytes; the gzip trailer disagrees)";
            return Outcome.Corrupt;
        }

        return Outcome.Ok;
    }
}
