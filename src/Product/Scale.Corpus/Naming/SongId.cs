using System.Buffers;
using System.Security.Cryptography;

namespace Scale.Corpus.Naming;

/// <summary>
/// A song's id: the MD5 of its file's bytes in lowercase hex, which is how Lakh names its files
/// (lmd_full/0/0a1b...ef.mid) and keys md5_to_paths.json, so ids match the dataset's own.
/// </summary>
public static class SongId
{
    /// <summary>Length of an id: 32 hex digits.</summary>
    public const int Length = MD5.HashSizeInBytes * 2;

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdef");

    public static string FromBytes(ReadOnlySpan<byte> file)
    {
        Span<byte> hash = stackalloc byte[MD5.HashSizeInBytes];
#pragma warning disable CA5351 // MD5 is not used for security: it is the dataset's file identity.
        MD5.HashData(file, hash);
#pragma warning restore CA5351
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>True for 32 lowercase hex digits.</summary>
    public static bool IsValid(string? id) =>
        id is { Length: Length } && !id.AsSpan().ContainsAnyExcept(HexDigits);
}
