using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Scale.Synth;

/// <summary>
/// A Lakh-shaped synthetic MIDI corpus for scale tests: &lt;dir&gt;/&lt;hex&gt;/&lt;md5&gt;.mid (hex = the md5's first
/// digit) plus md5_to_paths.json, or one lmd_full.tar.gz; a configurable share of the files is damaged, every
/// kind of damage a reader knows in turn. File i depends only on (seed, i, damaged share, average size), so a
/// corpus is byte-identical however many threads write it, and any file can be regenerated on its own. The
/// generator uses its own random numbers and no platform-dependent arithmetic, so files are the same on every
/// machine too, except the two gzip kinds, whose compressed bytes come from the runtime's zlib.
/// </summary>
public static class SyntheticCorpus
{
    public const string PathsFileName = "md5_to_paths.json";

    public const string ManifestFileName = "synth-manifest.tsv";

    public const string TarFileName = "lmd_full.tar.gz";

    /// <summary>The folder tar entries live under, as in the published lmd_full.tar.gz.</summary>
    public const string TarRoot = "lmd_full";

    /// <summary>Damaged kinds in rotation order. Empty files are left out: all have one md5, so a corpus gets one.</summary>
    private static readonly FileKind[] Rotation = [.. FileKinds.Damaged.Where(k => k != FileKind.EmptyFile)];

    /// <summary>
    /// The kind of file <paramref name="index"/>. Damaged files are spread evenly: file i is damaged when
    /// floor((i + 1) * share) &gt; floor(i * share), so the first N files hold floor(N * share) damaged ones. The
    /// first damaged file is the empty file; the rest rotate through the other damaged kinds, so every kind
    /// appears once N * share exceeds the number of kinds (30).
    /// </summary>
    public static FileKind Plan(int index, double damagedShare = SyntheticCorpusOptions.DefaultDamagedShare) =>
        Plan(index, damagedShare, out _);

    /// <summary>The number of damaged files among the first <paramref name="files"/>.</summary>
    public static int DamagedCount(int files, double damagedShare) => (int)Math.Floor(files * damagedShare);

    /// <summary>As <see cref="Plan(int, double)"/>; <paramref name="ordinal"/> counts the earlier files of the same kind.</summary>
    internal static FileKind Plan(int index, double damagedShare, out int ordinal)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ordinal = 0;
        var before = DamagedCount(index, damagedShare);
        if (DamagedCount(index + 1, damagedShare) == before)
        {
            return FileKind.Valid;
        }

        if (before == 0)
        {
            return FileKind.EmptyFile;
        }

        ordinal = (before - 1) / Rotation.Length;
        return Rotation[(before - 1) % Rotation.Length];
    }

    /// <summary>File <paramref name="index"/> of the corpus with this seed and default settings.</summary>
    public static SyntheticFile GenerateFile(long seed, int index) =>
        GenerateFile(new SyntheticCorpusOptions { Seed = seed }, index);

    /// <summary>File <paramref name="index"/> of the corpus <paramref name="options"/> describe (output settings unused).</summary>
    public static SyntheticFile GenerateFile(SyntheticCorpusOptions options, int index)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Snapshot(new FileFactory(options), index);
    }

    /// <summary>Files start .. start + count - 1, generated one after another with shared buffers.</summary>
    public static IEnumerable<SyntheticFile> GenerateFiles(SyntheticCorpusOptions options, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return Iterate(new FileFactory(options), start, count);

        static IEnumerable<SyntheticFile> Iterate(FileFactory factory, int start, int count)
        {
            for (var i = start; i < start + count; i++)
            {
                yield return Snapshot(factory, i);
            }
        }
    }

    /// <summary>"&lt;hex&gt;/&lt;md5&gt;.mid", the file's place in a corpus folder.</summary>
    public static string RelativePath(string md5)
    {
        ArgumentException.ThrowIfNullOrEmpty(md5);
        return string.Concat(md5.AsSpan(0, 1), "/", md5, ".mid");
    }

    /// <summary>
    /// Writes the corpus <paramref name="options"/> describe. Generation runs in parallel; a folder corpus is
    /// written file by file as generated, a tarball in index order (so it too is identical for a seed).
    /// </summary>
    /// <exception cref="IOException">The output folder already holds a corpus.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; what was written so far stays on disk.</exception>
    public static SynthResult Write(SyntheticCorpusOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new CorpusWriter(options).Run(cancellationToken);
    }

    /// <inheritdoc cref="Write"/>
    public static Task<SynthResult> WriteAsync(SyntheticCorpusOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return Task.Run(() => new CorpusWriter(options).Run(cancellationToken), cancellationToken);
    }

    /// <summary>The md5 Lakh names files by, as a number (cheap to keep 176k of) and as lowercase hex.</summary>
    [SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Algorithms",
        Justification = "Lakh names each file by the md5 of its bytes; this is identity, not security.")]
    internal static UInt128 Md5(ReadOnlySpan<byte> bytes)
    {
        Span<byte> hash = stackalloc byte[16];
        MD5.HashData(bytes, hash);
        return BinaryPrimitives.ReadUInt128BigEndian(hash);
    }

    internal static string Hex(UInt128 md5)
    {
        Span<byte> hash = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(hash, md5);
        return Convert.ToHexStringLower(hash);
    }

    private static SyntheticFile Snapshot(FileFactory factory, int index)
    {
        factory.Generate(index);
        var bytes = factory.Bytes.ToArray();
        return new SyntheticFile
        {
            Index = index,
            Bytes = bytes,
            Md5 = Hex(Md5(bytes)),
            Kind = factory.Kind,
            Instruments = factory.Instruments,
            Paths = factory.Identity.Paths,
        };
    }
}
