using System.Formats.Tar;
using System.IO.Compression;
using Scale.Corpus.Sources;

namespace Scale.Corpus.Tests.Sources;

public sealed class TarSourceTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("corpus.tar", false)]
    [InlineData("corpus.tar.gz", true)]
    [InlineData("corpus.tgz", true)]
    public async Task ReadAsync_Tarball_YieldsRegularMidiEntriesWithNormalisedKeys(string name, bool gzip)
    {
        var path = WriteTarball(name, gzip, writer =>
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "./lmd_full/"));
            AddFile(writer, "./lmd_full/0/0a.mid");
            AddFile(writer, "lmd_full/1/1b.MIDI");
            AddFile(writer, "/abs/song.kar");
            AddFile(writer, "lmd_full/notes.txt");
            writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "lmd_full/link.mid") { LinkName = "0/0a.mid" });
            AddFile(writer, "lmd_full/" + new string('n', 150) + ".rmi");
        });

        var items = await CorpusSnapshot.ReadAllAsync(new TarSource(path));

        // Archive order, not sorted: a stream can only be read front to back.
        Assert.Equal(["lmd_full/0/0a.mid", "lmd_full/1/1b.MIDI", "abs/song.kar", "lmd_full/" + new string('n', 150) + ".rmi"],
            items.Select(i => i.Key));
        Assert.All(items, item =>
        {
            Assert.Null(item.ReadError);
            Assert.Equal(item.Data.Length, item.Size);
        });
        Assert.Equal(CorpusSnapshot.ContentFor("./lmd_full/0/0a.mid"), items[0].Data);
    }

    [Fact]
    public async Task ReadAsync_GzipNamedPlainTar_DetectedByMagicBytes()
    {
        var path = WriteTarball("misnamed.tar", gzip: true, writer => AddFile(writer, "a.mid"));

        var item = Assert.Single(await CorpusSnapshot.ReadAllAsync(new TarSource(path)));

        Assert.Equal("a.mid", item.Key);
        Assert.Equal(CorpusSnapshot.ContentFor("a.mid"), item.Data);
    }

    [Fact]
    public async Task ReadAsync_OlderTarFormats_YieldRegularFiles()
    {
        var path = WriteTarball("old.tar", gzip: false, writer =>
        {
            writer.WriteEntry(new V7TarEntry(TarEntryType.V7RegularFile, "v7.mid")
            {
                DataStream = new MemoryStream(CorpusSnapshot.ContentFor("v7.mid")),
            });
            writer.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, "gnu/" + new string('g', 120) + ".mid")
            {
                DataStream = new MemoryStream(CorpusSnapshot.ContentFor("gnu")),
            });
        });

        var items = await CorpusSnapshot.ReadAllAsync(new TarSource(path));

        Assert.Equal(["v7.mid", "gnu/" + new string('g', 120) + ".mid"], items.Select(i => i.Key));
    }

    [Fact]
    public async Task ReadAsync_IncludePredicate_AskedPerMidiEntryAndSkipsData()
    {
        var path = WriteTarball("c.tar.gz", gzip: true, writer =>
        {
            AddFile(writer, "a.mid");
            AddFile(writer, "b.mid");
            AddFile(writer, "c.txt");
            AddFile(writer, "d.mid");
        });
        var asked = new List<string>();

        var items = await CorpusSnapshot.ReadAllAsync(new TarSource(path), key =>
        {
            asked.Add(key);
            return key != "b.mid";
        });

        Assert.Equal(["a.mid", "b.mid", "d.mid"], asked);
        Assert.Equal(["a.mid", "d.mid"], items.Select(i => i.Key));
        Assert.Equal(CorpusSnapshot.ContentFor("d.mid"), items[1].Data);
    }

    [Fact]
    public async Task ReadAsync_EntryOverLimit_YieldedOversizedWithoutData()
    {
        var path = WriteTarball("c.tar", gzip: false, writer =>
        {
            AddFile(writer, "big.mid", 101);
            AddFile(writer, "small.mid", 100);
        });

        var items = await CorpusSnapshot.ReadAllAsync(new TarSource(path, new CorpusSourceOptions { MaxFileBytes = 100 }));

        Assert.Equal(2, items.Count);
        Assert.True(items[0].Oversized);
        Assert.Equal(101, items[0].Size);
        Assert.Empty(items[0].Data);
        Assert.False(items[1].Oversized);
        Assert.Equal(CorpusSnapshot.ContentFor("small.mid", 100), items[1].Data);
    }

    [Fact]
    public async Task ReadAsync_CutInsideEntryData_YieldsEarlierEntriesThenReadErrorThenThrows()
    {
        var path = WriteTarball("cut.tar", gzip: false, writer =>
        {
            AddUstarFile(writer, "1.mid", 1000);
            AddUstarFile(writer, "2.mid", 1000);
            AddUstarFile(writer, "3.mid", 1000);
        });
        // Each entry: a 512-byte header and 1024 bytes of padded data; cut 100 bytes into the third's data.
        Truncate(path, (2 * 1536) + 512 + 100);
        var items = new List<ItemSnapshot>();

        var ex = await Assert.ThrowsAsync<CorpusDamagedException>(async () =>
        {
            await foreach (var item in new TarSource(path).ReadAsync(null, CancellationToken.None))
            {
                using (item)
                {
                    items.Add(CorpusSnapshot.Snapshot(item));
                }
            }
        });

        Assert.Equal(["1.mid", "2.mid", "3.mid"], items.Select(i => i.Key));
        Assert.Null(items[1].ReadError);
        Assert.NotNull(items[2].ReadError);
        Assert.Empty(items[2].Data);
        Assert.Equal(2, ex.GoodEntries);
        Assert.Equal("3.mid", ex.EntryKey);
        Assert.Contains($"tarball '{path}' is damaged after 2 entries", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CutInsideSkippedEntry_ThrowsAfterEarlierEntries()
    {
        var path = WriteTarball("cut.tar", gzip: false, writer =>
        {
            AddUstarFile(writer, "1.mid", 1000);
            AddUstarFile(writer, "2.mid", 1000);
        });
        Truncate(path, 1536 + 512 + 100);
        var keys = new List<string>();

        var ex = await Assert.ThrowsAsync<CorpusDamagedException>(async () =>
        {
            await foreach (var item in new TarSource(path).ReadAsync(key => key != "2.mid", CancellationToken.None))
            {
                keys.Add(item.Key);
                item.Dispose();
            }
        });

        Assert.Equal(["1.mid"], keys);
        Assert.Contains("damaged", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_UnparsableHeader_ThrowsAfterEarlierEntries()
    {
        var path = WriteTarball("bad.tar", gzip: false, writer =>
        {
            AddUstarFile(writer, "1.mid", 10);
            AddUstarFile(writer, "2.mid", 10);
        });
        var bytes = await File.ReadAllBytesAsync(path);
        // Scribble over the second header's size field. (TarReader does not verify header checksums, so a
        // changed name would pass; a gzip-compressed tarball has gzip's CRC for that.)
        bytes.AsSpan(1024 + 124, 11).Fill((byte)'x');
        await File.WriteAllBytesAsync(path, bytes);
        var keys = new List<string>();

        var ex = await Assert.ThrowsAsync<CorpusDamagedException>(async () =>
        {
            await foreach (var item in new TarSource(path).ReadAsync(null, CancellationToken.None))
            {
                keys.Add(item.Key);
                item.Dispose();
            }
        });

        Assert.Equal(["1.mid"], keys);
        Assert.Equal(1, ex.GoodEntries);
        Assert.Null(ex.EntryKey);
    }

    [Fact]
    public async Task ReadAsync_TruncatedGzip_YieldsWhatWasReadableThenThrows()
    {
        const int entries = 20;
        var path = WriteTarball("cut.tgz", gzip: true, writer =>
        {
            for (var i = 0; i < entries; i++)
            {
                // Incompressible data, so cutting the gzip file in half cuts the tar stream about in half.
                var data = new byte[2000];
                new Random(i).NextBytes(data);
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"{i:D2}.mid") { DataStream = new MemoryStream(data) });
            }
        });
        Truncate(path, new FileInfo(path).Length / 2);
        var items = new List<ItemSnapshot>();

        var ex = await Assert.ThrowsAsync<CorpusDamagedException>(async () =>
        {
            await foreach (var item in new TarSource(path).ReadAsync(null, CancellationToken.None))
            {
                using (item)
                {
                    items.Add(CorpusSnapshot.Snapshot(item));
                }
            }
        });

        var whole = items.Where(i => i.ReadError is null).ToList();
        Assert.InRange(whole.Count, entries / 4, entries - 1);
        Assert.Equal(Enumerable.Range(0, whole.Count).Select(i => $"{i:D2}.mid"), whole.Select(i => i.Key));
        Assert.Equal(whole.Count, ex.GoodEntries);
    }

    [Fact]
    public async Task ReadAsync_EmptyTarball_YieldsNothing()
    {
        var path = WriteTarball("empty.tar", gzip: false, _ => { });

        Assert.Empty(await CorpusSnapshot.ReadAllAsync(new TarSource(path)));
    }

    [Fact]
    public void Constructor_MissingFile_ThrowsNamingThePath()
    {
        var missing = _temp.Combine("missing.tar");

        var ex = Assert.Throws<FileNotFoundException>(() => new TarSource(missing));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Identity_IsTarAndFullPath()
    {
        var path = WriteTarball("x.tar", gzip: false, _ => { });

        Assert.Equal("tar:" + path, new TarSource(path).Identity);
    }

    // Ustar entries are one 512-byte header each (PAX adds an extended header), so tests can cut at known offsets.
    private static void AddUstarFile(TarWriter writer, string name, int length) =>
        writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(CorpusSnapshot.ContentFor(name, length)),
        });

    private static void AddFile(TarWriter writer, string name, int length = 0) =>
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(CorpusSnapshot.ContentFor(name, length)),
        });

    private string WriteTarball(string name, bool gzip, Action<TarWriter> write)
    {
        var path = _temp.Combine(name);
        using var file = File.Create(path);
        using var content = gzip ? new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true) : (Stream)file;
        using (var writer = new TarWriter(content, leaveOpen: true))
        {
            write(writer);
        }

        return path;
    }

    private static void Truncate(string path, long length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.SetLength(length);
    }
}
