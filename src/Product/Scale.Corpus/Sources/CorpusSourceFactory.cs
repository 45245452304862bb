using System.IO.Compression;

namespace Scale.Corpus.Sources;

/// <summary>Turns what a user typed (a folder, a tarball, an s3:// address) into the matching source.</summary>
public static class CorpusSourceFactory
{
    private const string Accepted =
        "expected a folder of MIDI files, a .tar/.tar.gz/.tgz tarball, or s3://bucket/prefix";

    private const int TarBlock = 512;

    /// <summary>
    /// "s3://..." opens an <see cref="S3Source"/>; a file named .tar/.tar.gz/.tgz, or any file whose first bytes
    /// are a tar header (plain or gzip-compressed), a <see cref="TarSource"/>; a folder, a <see cref="FolderSource"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Anything else; the message names the spec and what is accepted.</exception>
    public static ICorpusSource Open(string spec, CorpusSourceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= CorpusSourceOptions.Default;
        if (string.IsNullOrWhiteSpace(spec))
        {
            throw new ArgumentException($"The corpus is empty; {Accepted}.", nameof(spec));
        }

        if (spec.StartsWith(S3Location.Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return new S3Source(spec, options);
        }

        if (spec.Contains("://", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Corpus '{spec}' is an address S3 cannot read; {Accepted}.", nameof(spec));
        }

        if (Directory.Exists(spec))
        {
            return new FolderSource(spec, options);
        }

        if (!File.Exists(spec))
        {
            throw new ArgumentException($"Corpus '{spec}' does not exist; {Accepted}.", nameof(spec));
        }

        if (HasTarballExtension(spec) || LooksLikeTarball(spec))
        {
            return new TarSource(spec, options);
        }

        throw new ArgumentException($"Corpus '{spec}' is a file but not a tarball; {Accepted}.", nameof(spec));
    }

    /// <summary>True for names ending .tar, .tar.gz or .tgz (any case).</summary>
    public static bool HasTarballExtension(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) ||
               path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) ||
               path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// True when the file starts with a tar header, directly or inside gzip. The header's checksum is checked, not
    /// only gzip's magic bytes: a lone gzip-compressed MIDI file is not a corpus.
    /// </summary>
    public static bool LooksLikeTarball(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            Span<byte> magic = stackalloc byte[2];
            var isGzip = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
            file.Seek(0, SeekOrigin.Begin);
            using var content = isGzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : (Stream)file;
            Span<byte> header = stackalloc byte[TarBlock];
            return content.ReadAtLeast(header, TarBlock, throwOnEndOfStream: false) == TarBlock && IsTarHeader(header);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return false;
        }
    }

    // A ustar/GNU/v7 header's checksum (octal at 148, 8 bytes) is the sum of its 512 bytes with the checksum
    // field counted as spaces.
    private static bool IsTarHeader(ReadOnlySpan<byte> header)
    {
        var field = header.Slice(148, 8);
        long stored = 0;
        var digits = 0;
        foreach (var b in field)
        {
            if (b is >= (byte)'0' and <= (byte)'7')
            {
                stored = (stored * 8) + (b - '0');
                digits++;
            }
            else if (b is 0 or (byte)' ')
            {
                if (digits > 0)
                {
                    break;
                }
            }
            else
            {
                return false;
            }
        }

        if (digits == 0)
        {
            return false;
        }

        long sum = 0;
        for (var i = 0; i < header.Length; i++)
        {
            sum += i is >= 148 and < 156 ? (byte)' ' : header[i];
        }

        return sum == stored;
    }
}
