using System.Buffers;

namespace Scale.Corpus.Sources;

/// <summary>Builds items whose bytes live in <see cref="ArrayPool{T}.Shared"/> buffers, returned by Dispose.</summary>
internal static class PooledItems
{
    public static byte[] Rent(long length) => ArrayPool<byte>.Shared.Rent(checked((int)length));

    public static void Return(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);

    /// <summary>Hands ownership of <paramref name="buffer"/> to the item.</summary>
    public static CorpusItem Create(string key, byte[] buffer, int length) =>
        new(key, length, buffer.AsMemory(0, length), () => Return(buffer));

    public static CorpusItem Empty(string key) => new(key, 0, ReadOnlyMemory<byte>.Empty);

    public static CorpusItem Oversized(string key, long size) =>
        new(key, size, ReadOnlyMemory<byte>.Empty) { Oversized = true };

    public static CorpusItem Failed(string key, long size, string error) =>
        new(key, size, ReadOnlyMemory<byte>.Empty) { ReadError = error };
}
