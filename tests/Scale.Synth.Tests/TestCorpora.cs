using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Scale.Synth.Tests;

/// <summary>Shared small settings so corpus tests run in seconds.</summary>
internal static class TestCorpora
{
    /// <summary>Small files: corpus-writing tests check layout, not size.</summary>
    public const int SmallAverage = 4_000;

    public static SyntheticCorpusOptions Small(string output, int files = 300, long seed = 11, double damagedShare = 0.05) => new()
    {
        Files = files,
        Seed = seed,
        DamagedShare = damagedShare,
        OutputDirectory = output,
        AverageFileBytes = SmallAverage,
    };

    /// <summary>Lowercase hex md5, computed here independently of the generator.</summary>
    [SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Algorithms", Justification = "Lakh names files by md5.")]
    public static string Md5Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));

    /// <summary>Every file under a corpus folder's hex subfolders, by relative key.</summary>
    public static Dictionary<string, byte[]> ReadFolder(string root)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(root, "*.mid", SearchOption.AllDirectories))
        {
            files[Path.GetRelativePath(root, path).Replace('\\', '/')] = File.ReadAllBytes(path);
        }

        return files;
    }
}
