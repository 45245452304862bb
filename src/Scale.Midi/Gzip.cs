using System.Buffers;
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
        buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit + 1, Math.Max(4096L, file.Length * 4L)));
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
                        if (length > limit)
                        {
                            return Outcome.TooLarge;
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit + 1, buffer.Length * 2L));
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

        return length > limit ? Outcome.TooLarge : Outcome.Ok;
    }
}
