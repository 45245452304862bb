using System.Collections.Concurrent;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Scale.Midi;

namespace Scale.Synth;

/// <summary>Writes one corpus: files (folder tree or tarball), md5_to_paths.json, synth-manifest.tsv.</summary>
internal sealed class CorpusWriter
{
    /// <summary>
    /// Files per tarball batch: one batch is generated in parallel while the previous one is compressed. Two
    /// batches of 256 average files hold about 20 MB.
    /// </summary>
    private const int TarBatch = 256;

    /// <summary>Fixed entry time so a tarball is identical for a seed (LMD was published in 2016).</summary>
    private static readonly DateTimeOffset EntryTime = new(2016, 7, 1, 0, 0, 0, TimeSpan.Zero);

    private const UnixFileMode FileMode644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode DirectoryMode755 = FileMode644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private readonly SyntheticCorpusOptions _options;
    private readonly string _root;
    private readonly UInt128[] _md5;
    private readonly InstrumentSet[] _instruments;
    private readonly int[] _sizes;
    private readonly ConcurrentBag<FileFactory> _factories = [];
    private readonly Stopwatch _clock = new();
    private readonly long _progressTicks;
    private long _files;
    private long _bytes;
    private long _nextReport;

    public CorpusWriter(SyntheticCorpusOptions options)
    {
        _options = options;
        _root = Path.GetFullPath(options.OutputDirectory);
        _md5 = new UInt128[options.Files];
        _instruments = new InstrumentSet[options.Files];
        _sizes = new int[options.Files];
        _progressTicks = (long)(options.ProgressInterval.TotalSeconds * Stopwatch.Frequency);
    }

    public SynthResult Run(CancellationToken cancellationToken)
    {
        PrepareOutput();
        _clock.Start();
        if (_options.Tar)
        {
            WriteTarball(cancellationToken);
        }
        else
        {
            WriteFolder(cancellationToken);
        }

        CheckUnique();
        var pathsJson = Path.Join(_root, SyntheticCorpus.PathsFileName);
        WritePathsJson(pathsJson, cancellationToken);
        string? manifest = null;
        if (_options.WriteManifest)
        {
            manifest = Path.Join(_root, SyntheticCorpus.ManifestFileName);
            WriteManifest(manifest, cancellationToken);
        }

        _clock.Stop();
        _options.Progress?.Report(new SynthProgress(_files, _options.Files, _bytes, _clock.Elapsed));
        var counts = new Dictionary<FileKind, int>();
        for (var i = 0; i < _options.Files; i++)
        {
            var kind = SyntheticCorpus.Plan(i, _options.DamagedShare);
            counts[kind] = counts.GetValueOrDefault(kind) + 1;
        }

        return new SynthResult
        {
            Files = _options.Files,
            DamagedFiles = SyntheticCorpus.DamagedCount(_options.Files, _options.DamagedShare),
            Bytes = _bytes,
            Elapsed = _clock.Elapsed,
            CorpusPath = _options.Tar ? Path.Join(_root, SyntheticCorpus.TarFileName) : _root,
            PathsJsonPath = pathsJson,
            ManifestPath = manifest,
            KindCounts = counts,
        };
    }

    /// <summary>Refuses a folder that already holds a corpus: mixing two would make neither's ground truth true.</summary>
    private void PrepareOutput()
    {
        Directory.CreateDirectory(_root);
        foreach (var name in new[] { SyntheticCorpus.PathsFileName, SyntheticCorpus.ManifestFileName, SyntheticCorpus.TarFileName })
        {
            if (File.Exists(Path.Join(_root, name)))
            {
                throw new IOException($"'{_root}' already holds a corpus ({name}); write into an empty folder.");
            }
        }

        for (var digit = 0; digit < 16; digit++)
        {
            var folder = Path.Join(_root, HexDigit(digit));
            if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
            {
                throw new IOException($"'{folder}' is not empty; write the corpus into an empty folder.");
            }
        }
    }

    private void WriteFolder(CancellationToken cancellationToken)
    {
        for (var digit = 0; digit < 16; digit++)
        {
            Directory.CreateDirectory(Path.Join(_root, HexDigit(digit)));
        }

        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism,
            CancellationToken = cancellationToken,
        };
        Parallel.For(0, _options.Files, parallel, RentFactory, (index, _, factory) =>
        {
            factory.Generate(index);
            var bytes = factory.Bytes;
            var md5 = SyntheticCorpus.Md5(bytes);
            var hex = SyntheticCorpus.Hex(md5);
            var path = Path.Join(_root, hex.AsSpan(0, 1), hex + ".mid");
            try
            {
                // CreateNew: a second file with the same md5 would be a generator bug, not something to overwrite.
                using SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
                RandomAccess.Write(handle, bytes, 0);
            }
            catch (IOException ex) when (File.Exists(path))
            {
                throw new InvalidOperationException($"File {index} has the md5 {hex} of another file.", ex);
            }

            Record(index, md5, factory, bytes.Length);
            Advance(1, bytes.Length);
            return factory;
        }, _factories.Add);
    }

    private void WriteTarball(CancellationToken cancellationToken)
    {
        using var file = new FileStream(Path.Join(_root, SyntheticCorpus.TarFileName), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Ustar, leaveOpen: true);
        WriteDirectoryEntry(tar, SyntheticCorpus.TarRoot + "/");
        for (var digit = 0; digit < 16; digit++)
        {
            WriteDirectoryEntry(tar, SyntheticCorpus.TarRoot + "/" + HexDigit(digit) + "/");
        }

        var current = NewBatch();
        var other = NewBatch();
        Task? writing = null;
        try
        {
            for (var start = 0; start < _options.Files; start += TarBatch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(TarBatch, _options.Files - start);
                GenerateBatch(current, start, count, cancellationToken);
                writing?.GetAwaiter().GetResult();
                var batch = current;
                writing = Task.Run(() => WriteBatch(tar, batch, count), cancellationToken);
                (current, other) = (other, current);
            }

            writing?.GetAwaiter().GetResult();
        }
        catch
        {
            // Let a running write finish before the streams are disposed under it.
            try
            {
                writing?.Wait(CancellationToken.None);
            }
            catch (AggregateException)
            {
                // The first failure is the one being reported.
            }

            throw;
        }
    }

    private sealed class Slot
    {
        public byte[] Buffer = [];
        public int Length;
        public UInt128 Md5;
    }

    private static Slot[] NewBatch()
    {
        var batch = new Slot[TarBatch];
        for (var i = 0; i < batch.Length; i++)
        {
            batch[i] = new Slot();
        }

        return batch;
    }

    private void GenerateBatch(Slot[] batch, int start, int count, CancellationToken cancellationToken)
    {
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism,
            CancellationToken = cancellationToken,
        };
        Parallel.For(0, count, parallel, RentFactory, (i, _, factory) =>
        {
            var index = start + i;
            factory.Generate(index);
            var bytes = factory.Bytes;
            var slot = batch[i];
            if (slot.Buffer.Length < bytes.Length)
            {
                slot.Buffer = new byte[bytes.Length + (bytes.Length / 2)];
            }

            bytes.CopyTo(slot.Buffer);
            slot.Length = bytes.Length;
            slot.Md5 = SyntheticCorpus.Md5(bytes);
            Record(index, slot.Md5, factory, bytes.Length);
            return factory;
        }, _factories.Add);
    }

    private void WriteBatch(TarWriter tar, Slot[] batch, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var slot = batch[i];
            var hex = SyntheticCorpus.Hex(slot.Md5);
            using var data = new MemoryStream(slot.Buffer, 0, slot.Length, writable: false);
            var entry = new UstarTarEntry(TarEntryType.RegularFile, SyntheticCorpus.TarRoot + "/" + SyntheticCorpus.RelativePath(hex))
            {
                ModificationTime = EntryTime,
                Mode = FileMode644,
                DataStream = data,
            };
            tar.WriteEntry(entry);
            Advance(1, slot.Length);
        }
    }

    private static void WriteDirectoryEntry(TarWriter tar, string name) =>
        tar.WriteEntry(new UstarTarEntry(TarEntryType.Directory, name) { ModificationTime = EntryTime, Mode = DirectoryMode755 });

    private FileFactory RentFactory() => _factories.TryTake(out var factory) ? factory : new FileFactory(_options);

    private void Record(int index, UInt128 md5, FileFactory factory, int size)
    {
        _md5[index] = md5;
        _instruments[index] = factory.Instruments;
        _sizes[index] = size;
    }

    private void Advance(int files, int bytes)
    {
        Interlocked.Add(ref _files, files);
        Interlocked.Add(ref _bytes, bytes);
        var progress = _options.Progress;
        if (progress is null)
        {
            return;
        }

        // One thread per interval reports; the others see the moved deadline and carry on.
        var now = _clock.ElapsedTicks;
        var due = Volatile.Read(ref _nextReport);
        if (now >= due && Interlocked.CompareExchange(ref _nextReport, now + _progressTicks, due) == due)
        {
            progress.Report(new SynthProgress(Volatile.Read(ref _files), _options.Files, Volatile.Read(ref _bytes), _clock.Elapsed));
        }
    }

    private void CheckUnique()
    {
        var sorted = (UInt128[])_md5.Clone();
        Array.Sort(sorted);
        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i] == sorted[i - 1])
            {
                throw new InvalidOperationException($"Two files have the md5 {SyntheticCorpus.Hex(sorted[i])}.");
            }
        }
    }

    /// <summary>md5_to_paths.json in index order, every file listed (damaged ones too, as in Lakh's own).</summary>
    private void WritePathsJson(string path, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        using var json = new Utf8JsonWriter(stream);
        var names = new SynthRandom(0, 0);
        json.WriteStartObject();
        for (var i = 0; i < _options.Files; i++)
        {
            if ((i & 0xFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            // The same stream FileFactory draws names from, so paths match the titles inside the files.
            names.Reset(_options.Seed, i, 1);
            var identity = SongNaming.Create(names, i);
            json.WriteStartArray(SyntheticCorpus.Hex(_md5[i]));
            foreach (var p in identity.Paths)
            {
                json.WriteStringValue(p);
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private void WriteManifest(string path, CancellationToken cancellationToken)
    {
        using var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false), 1 << 16);
        writer.NewLine = "\n";
        writer.WriteLine(SynthManifest.Header);
        var prefix = _options.Tar ? SyntheticCorpus.TarRoot + "/" : string.Empty;
        for (var i = 0; i < _options.Files; i++)
        {
            if ((i & 0xFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var hex = SyntheticCorpus.Hex(_md5[i]);
            var entry = new SynthManifestEntry(i, hex, prefix + SyntheticCorpus.RelativePath(hex),
                SyntheticCorpus.Plan(i, _options.DamagedShare), _instruments[i], _sizes[i]);
            writer.WriteLine(SynthManifest.Format(entry));
        }
    }

    private static string HexDigit(int digit) => "0123456789abcdef"[digit].ToString();
}
