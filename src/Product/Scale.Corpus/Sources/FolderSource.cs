using System.Runtime.CompilerServices;

namespace Scale.Corpus.Sources;

/// <summary>
/// A folder tree of MIDI files, e.g. Lakh's lmd_full/&lt;hex&gt;/&lt;md5&gt;.mid. Keys are paths relative to the root
/// with '/' separators. The walk lists one folder at a time, sorted ordinally by name (a sub-folder is walked
/// where its name sorts), so every run over the same tree yields the same keys in the same order.
/// </summary>
public sealed class FolderSource : ICorpusSource
{
    private static readonly EnumerationOptions ListOptions = new()
    {
        // Report what cannot be listed instead of silently skipping it, and keep hidden files: the extension
        // filter decides, not the file system's attributes.
        IgnoreInaccessible = false,
        AttributesToSkip = FileAttributes.None,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
        MatchType = MatchType.Simple,
    };

    private readonly long _maxFileBytes;

    /// <exception cref="DirectoryNotFoundException">The root does not exist or is not a folder.</exception>
    public FolderSource(string root, CorpusSourceOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        options ??= CorpusSourceOptions.Default;
        options.Validate();
        _maxFileBytes = options.MaxFileBytes;
        var full = Path.GetFullPath(root);
        Root = full.Length > 1 ? Path.TrimEndingDirectorySeparator(full) : full;
        if (!Directory.Exists(Root))
        {
            throw new DirectoryNotFoundException($"Corpus folder '{Root}' does not exist or is not a folder.");
        }
    }

    /// <summary>The root folder's full path.</summary>
    public string Root { get; }

    public string Identity => "folder:" + Root;

    /// <summary>
    /// Walks the tree. A file that cannot be read, or a sub-folder that cannot be listed (keyed "sub/folder/"),
    /// yields an item with <see cref="CorpusItem.ReadError"/>; only an unreadable root throws
    /// (<see cref="IOException"/> naming the path).
    /// </summary>
    public async IAsyncEnumerable<CorpusItem> ReadAsync(
        Func<string, bool>? include, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        FileSystemInfo[] rootEntries;
        try
        {
            rootEntries = List(Root);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot read corpus folder '{Root}': {ex.Message}", ex);
        }

        var stack = new Stack<Frame>();
        stack.Push(new Frame(rootEntries, string.Empty, RealPath(Root)));
        while (stack.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var frame = stack.Peek();
            if (frame.Next == frame.Entries.Length)
            {
                stack.Pop();
                continue;
            }

            var entry = frame.Entries[frame.Next++];
            var key = frame.KeyPrefix + entry.Name;
            if (entry is DirectoryInfo directory)
            {
                var realPath = entry.LinkTarget is null
                    ? Path.Join(frame.RealPath, entry.Name)
                    : RealPath(directory.FullName);
                if (IsAncestor(stack, realPath))
                {
                    // A symbolic link back up the tree: following it would walk forever.
                    continue;
                }

                FileSystemInfo[] entries;
                string? listError = null;
                try
                {
                    entries = List(directory.FullName);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    entries = [];
                    listError = ex.Message;
                }

                if (listError is null)
                {
                    stack.Push(new Frame(entries, key + "/", realPath));
                }
                else if (include is null || include(key + "/"))
                {
                    // The files inside are unknown, so the folder itself is recorded as what could not be read.
                    yield return PooledItems.Failed(key + "/", 0, $"cannot list folder: {listError}");
                }

                continue;
            }

            if (!CorpusKeys.IsMidiFileName(entry.Name) || (include is not null && !include(key)))
            {
                continue;
            }

            yield return await ReadFileAsync(entry, key, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<CorpusItem> ReadFileAsync(FileSystemInfo entry, string key, CancellationToken cancellationToken)
    {
        long listedSize = 0;
        byte[]? buffer = null;
        try
        {
            // Only a file the listing already shows as too large is skipped unopened; the length checked after
            // opening covers a file that grew since.
            listedSize = ((FileInfo)entry).Length;
            if (listedSize > _maxFileBytes)
            {
                return PooledItems.Oversized(key, listedSize);
            }

            using var handle = File.OpenHandle(entry.FullName, FileMode.Open, FileAccess.Read, FileShare.Read,
                FileOptions.SequentialScan);
            var length = RandomAccess.GetLength(handle);
            if (length > _maxFileBytes)
            {
                return PooledItems.Oversized(key, length);
            }

            if (length == 0)
            {
                return PooledItems.Empty(key);
            }

            buffer = PooledItems.Rent(length);
            var total = 0;
            while (total < length)
            {
                var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(total, (int)length - total), total,
                    cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    // Shrunk while being read: what is there is the file now.
                    break;
                }

                total += read;
            }

            var item = PooledItems.Create(key, buffer, total);
            buffer = null;
            return item;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return PooledItems.Failed(key, listedSize, ex.Message);
        }
        finally
        {
            if (buffer is not null)
            {
                PooledItems.Return(buffer);
            }
        }
    }

    private static FileSystemInfo[] List(string path)
    {
        var entries = new DirectoryInfo(path).GetFileSystemInfos("*", ListOptions);
        Array.Sort(entries, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return entries;
    }

    private static string RealPath(string path)
    {
        try
        {
            return Directory.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
        }
        catch (IOException)
        {
            return path;
        }
    }

    private static bool IsAncestor(Stack<Frame> stack, string realPath)
    {
        foreach (var frame in stack)
        {
            if (string.Equals(frame.RealPath, realPath, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Frame(FileSystemInfo[] entries, string keyPrefix, string realPath)
    {
        public FileSystemInfo[] Entries { get; } = entries;

        public string KeyPrefix { get; } = keyPrefix;

        public string RealPath { get; } = realPath;

        public int Next { get; set; }
    }
}
