using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace Scale.Corpus.Sources;

/// <summary>
/// A tarball as the dataset publishes it (.tar.gz, .tgz or .tar), read front to back as a stream: nothing is
/// unpacked to disk. Gzip is recognised by its magic bytes, whatever the file is called.
/// </summary>
/// <remarks>
/// Damage (a truncated download, corrupt gzip data, a bad header) cannot be skipped in a stream, so the source
/// yields everything before it, then an item with <see cref="CorpusItem.ReadError"/> for a MIDI entry cut short,
/// and then throws <see cref="CorpusDamagedException"/>. Throwing rather than ending quietly makes a damaged
/// download impossible to mistake for a complete corpus; the items already yielded are the pipeline's to keep.
/// </remarks>
public sealed class TarSource : ICorpusSource
{
    private const int FileBufferSize = 1 << 16;

    private readonly long _maxFileBytes;

    /// <exception cref="FileNotFoundException">The tarball does not exist.</exception>
    public TarSource(string path, CorpusSourceOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= CorpusSourceOptions.Default;
        options.Validate();
        _maxFileBytes = options.MaxFileBytes;
        Path = System.IO.Path.GetFullPath(path);
        if (!File.Exists(Path))
        {
            throw new FileNotFoundException($"Corpus tarball '{Path}' does not exist.", Path);
        }
    }

    /// <summary>The tarball's full path.</summary>
    public string Path { get; }

    public string Identity => "tar:" + Path;

    public async IAsyncEnumerable<CorpusItem> ReadAsync(
        Func<string, bool>? include, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, FileBufferSize,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        var compressed = await IsGzipAsync(file, cancellationToken).ConfigureAwait(false);
        await using var gzip = compressed ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : null;
        await using var reader = new TarReader((Stream?)gzip ?? file, leaveOpen: true);

        long goodEntries = 0;
        while (true)
        {
            TarEntry? entry;
            Exception? damage = null;
            try
            {
                // copyData false: data of entries we skip is passed over in the stream, never copied.
                entry = await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsDamage(ex))
            {
                entry = null;
                damage = ex;
            }

            if (damage is not null)
            {
                throw new CorpusDamagedException(Identity, goodEntries, null, damage);
            }

            if (entry is null)
            {
                yield break;
            }

            var key = CorpusKeys.FromTarEntryName(entry.Name);
            if (!IsRegularFile(entry.EntryType) || key.Length == 0 || !CorpusKeys.IsMidiFileName(key) ||
                (include is not null && !include(key)))
            {
                goodEntries++;
                continue;
            }

            if (entry.Length > _maxFileBytes)
            {
                goodEntries++;
                yield return PooledItems.Oversized(key, entry.Length);
                continue;
            }

            var (item, error) = await ReadEntryAsync(entry, key, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                yield return PooledItems.Failed(key, entry.Length, $"tarball is damaged inside this entry: {error.Message}");
                throw new CorpusDamagedException(Identity, goodEntries, key, error);
            }

            goodEntries++;
            yield return item!;
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async Task<(CorpusItem? Item, Exception? Error)> ReadEntryAsync(
        TarEntry entry, string key, CancellationToken cancellationToken)
    {
        var length = entry.Length;
        if (length == 0 || entry.DataStream is null)
        {
            return (PooledItems.Empty(key), null);
        }

        var buffer = PooledItems.Rent(length);
        try
        {
            var read = await entry.DataStream.ReadAtLeastAsync(buffer.AsMemory(0, (int)length), (int)length,
                throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read < length)
            {
                PooledItems.Return(buffer);
                return (null, new EndOfStreamException($"the data ends after {read} of {length} bytes"));
            }

            return (PooledItems.Create(key, buffer, (int)length), null);
        }
        catch (Exception ex) when (IsDamage(ex))
        {
            PooledItems.Return(buffer);
            return (null, ex);
        }
    }

    private static async Task<bool> IsGzipAsync(FileStream file, CancellationToken cancellationToken)
    {
        var magic = new byte[2];
        var read = await file.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken)
            .ConfigureAwait(false);
        file.Seek(0, SeekOrigin.Begin);
        return read == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
    }

    private static bool IsRegularFile(TarEntryType type) =>
        type is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile;

    // What a damaged archive throws: bad gzip data and bad headers (InvalidDataException), an early end
    // (EndOfStreamException, an IOException), and fields that do not parse. Cancellation is not damage.
    private static bool IsDamage(Exception ex) =>
        ex is InvalidDataException or IOException or FormatException or OverflowException or ArgumentException;
}
