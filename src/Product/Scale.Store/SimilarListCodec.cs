using System.Buffers.Binary;

namespace Scale.Store;

/// <summary>
/// The stored form of a song's similar-song list: per entry the similar song's key (int32), the shared instrument
/// count (uint8) and the similarity (float64), little endian, 13 bytes, best first. Every store uses the same bytes.
/// </summary>
public static class SimilarListCodec
{
    public const int EntryBytes = 13;

    public static byte[] Encode(ReadOnlySpan<SimilarRow> rows)
    {
        var bytes = new byte[rows.Length * EntryBytes];
        for (var i = 0; i < rows.Length; i++)
        {
            var row = rows[i];
            if (row.SimilarKey is < 0 or > int.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(rows), row.SimilarKey, "A song key must fit in 31 bits.");
            }

            if (row.Shared is < 0 or > byte.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(rows), row.Shared, "A shared count must be between 0 and 255.");
            }

            var entry = bytes.AsSpan(i * EntryBytes, EntryBytes);
            BinaryPrimitives.WriteInt32LittleEndian(entry, (int)row.SimilarKey);
            entry[4] = (byte)row.Shared;
            BinaryPrimitives.WriteDoubleLittleEndian(entry[5..], row.Similarity);
        }

        return bytes;
    }

    /// <summary>Entries [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="count"/>) of a list, clipped to its length.</summary>
    /// <exception cref="InvalidDataException">When the bytes are not a whole number of entries.</exception>
    public static SimilarRow[] Decode(ReadOnlySpan<byte> bytes, int offset, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (bytes.Length % EntryBytes != 0)
        {
            throw new InvalidDataException($"A similar-song list of {bytes.Length} bytes is not a whole number of {EntryBytes}-byte entries.");
        }

        var length = bytes.Length / EntryBytes;
        var start = Math.Min(offset, length);
        var end = (int)Math.Min((long)start + count, length);
        var rows = new SimilarRow[end - start];
        for (var i = start; i < end; i++)
        {
            var entry = bytes.Slice(i * EntryBytes, EntryBytes);
            rows[i - start] = new SimilarRow(BinaryPrimitives.ReadInt32LittleEndian(entry), BinaryPrimitives.ReadDoubleLittleEndian(entry[5..]), entry[4]);
        }

        return rows;
    }
}
