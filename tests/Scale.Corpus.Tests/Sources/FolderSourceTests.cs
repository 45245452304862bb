using Scale.Corpus.Sources;

namespace Scale.Corpus.Tests.Sources;

public sealed class FolderSourceTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task ReadAsync_NestedTree_YieldsMidiFilesInOrdinalOrderWithRelativeKeys()
    {
        string[] midi = ["b/2.mid", "a/1.MID", "a/z.midi", "top.kar", "x.Rmi", "B.mid", "c/d/e/deep.mid"];
        foreach (var key in midi)
        {
            _temp.Write(key, CorpusSnapshot.ContentFor(key));
        }

        _temp.Write("notes.txt", [1]);
        _temp.Write("a/readme.md", [1]);
        _temp.Write("c/song.mid.gz", [1]);
        _temp.Write("c/song.mp3", [1]);

        var items = await CorpusSnapshot.ReadAllAsync(new FolderSource(_temp.Path));

        // Ordinal: upper case before lower case, and each folder's files where its name sorts.
        Assert.Equal(["B.mid", "a/1.MID", "a/z.midi", "b/2.mid", "c/d/e/deep.mid", "top.kar", "x.Rmi"],
            items.Select(i => i.Key));
        foreach (var item in items)
        {
            Assert.Equal(CorpusSnapshot.ContentFor(item.Key), item.Data);
            Assert.Equal(item.Data.Length, item.Size);
            Assert.False(item.Oversized);
            Assert.Null(item.ReadError);
        }
    }

    [Fact]
    public async Task ReadAsync_SameTreeTwice_YieldsSameSequence()
    {
        for (var i = 0; i < 40; i++)
        {
            _temp.Write($"{i % 7:x}/{i * 7919 % 1000:D3}.mid", [(byte)i]);
        }

        var source = new FolderSource(_temp.Path);
        var first = await CorpusSnapshot.ReadAllAsync(source);
        var second = await CorpusSnapshot.ReadAllAsync(source);

        Assert.Equal(40, first.Count);
        Assert.Equal(first.Select(i => i.Key), second.Select(i => i.Key));
        Assert.Equal(first.Select(i => i.Key).Order(StringComparer.Ordinal), first.Select(i => i.Key));
    }

    [Fact]
    public async Task ReadAsync_IncludePredicate_AskedForMidiKeysOnlyAndSkipsReads()
    {
        _temp.Write("0/keep.mid", [1, 2, 3]);
        _temp.Write("0/other.txt", [1]);
        // A file that cannot be read: had it been opened, a ReadError item would show it.
        File.CreateSymbolicLink(_temp.Combine("0/skip.mid"), _temp.Combine("missing-target"));
        var asked = new List<string>();

        var items = await CorpusSnapshot.ReadAllAsync(new FolderSource(_temp.Path), key =>
        {
            asked.Add(key);
            return key != "0/skip.mid";
        });

        Assert.Equal(["0/keep.mid", "0/skip.mid"], asked);
        var item = Assert.Single(items);
        Assert.Equal("0/keep.mid", item.Key);
        Assert.Equal(new byte[] { 1, 2, 3 }, item.Data);
    }

    [Fact]
    public async Task ReadAsync_FileOverLimit_YieldedOversizedAndUnread()
    {
        _temp.Write("big.mid", new byte[11]);
        _temp.Write("fits.mid", new byte[10]);

        var items = await CorpusSnapshot.ReadAllAsync(
            new FolderSource(_temp.Path, new CorpusSourceOptions { MaxFileBytes = 10 }));

        Assert.Equal(2, items.Count);
        Assert.Equal(new ItemSnapshot("big.mid", 11, [], true, null), items[0] with { Data = [] });
        Assert.Empty(items[0].Data);
        Assert.False(items[1].Oversized);
        Assert.Equal(10, items[1].Data.Length);
    }

    [Fact]
    public async Task ReadAsync_DanglingSymlink_YieldsReadErrorAndGoesOn()
    {
        _temp.Write("a.mid", [1]);
        File.CreateSymbolicLink(_temp.Combine("b.mid"), _temp.Combine("vanished.mid"));
        _temp.Write("c.mid", [3]);

        var items = await CorpusSnapshot.ReadAllAsync(new FolderSource(_temp.Path));

        Assert.Equal(["a.mid", "b.mid", "c.mid"], items.Select(i => i.Key));
        Assert.NotNull(items[1].ReadError);
        Assert.Contains("b.mid", items[1].ReadError, StringComparison.Ordinal);
        Assert.Empty(items[1].Data);
        Assert.Null(items[0].ReadError);
        Assert.Equal(new byte[] { 3 }, items[2].Data);
    }

    [Fact]
    public async Task ReadAsync_FolderNamedLikeMidiFile_IsWalkedNotRead()
    {
        _temp.Write("x.mid/inner.mid", [7]);

        var items = await CorpusSnapshot.ReadAllAsync(new FolderSource(_temp.Path));

        var item = Assert.Single(items);
        Assert.Equal("x.mid/inner.mid", item.Key);
        Assert.Null(item.ReadError);
    }

    [Fact]
    public async Task ReadAsync_SymlinkToAncestor_IsNotFollowedForever()
    {
        _temp.Write("a/song.mid", [1]);
        Directory.CreateSymbolicLink(_temp.Combine("a/loop"), _temp.Path);

        var items = await CorpusSnapshot.ReadAllAsync(new FolderSource(_temp.Path));

        Assert.Equal(["a/song.mid"], items.Select(i => i.Key));
    }

    [Fact]
    public async Task ReadAsync_SymlinkToOtherFolder_IsFollowed()
    {
        using var elsewhere = new TempFolder();
        elsewhere.Write("linked.mid", [5]);
        Directory.CreateSymbolicLink(_temp.Combine("link"), elsewhere.Path);

        var items = await CorpusSnapshot.ReadAllAsync(new FolderSource(_temp.Path));

        Assert.Equal(["link/linked.mid"], items.Select(i => i.Key));
        Assert.Equal(new byte[] { 5 }, items[0].Data);
    }

    [Fact]
    public async Task ReadAsync_EmptyFile_YieldsEmptyData()
    {
        _temp.Write("empty.mid", []);

        var item = Assert.Single(await CorpusSnapshot.ReadAllAsync(new FolderSource(_temp.Path)));

        Assert.Equal(0, item.Size);
        Assert.Empty(item.Data);
        Assert.Null(item.ReadError);
        Assert.False(item.Oversized);
    }

    [Fact]
    public async Task ReadAsync_Cancelled_ThrowsOperationCanceled()
    {
        _temp.Write("a.mid", [1]);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var item in new FolderSource(_temp.Path).ReadAsync(null, cancellation.Token))
            {
                item.Dispose();
            }
        });
    }

    [Fact]
    public void Constructor_MissingRoot_ThrowsNamingThePath()
    {
        var missing = _temp.Combine("nope");

        var ex = Assert.Throws<DirectoryNotFoundException>(() => new FolderSource(missing));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_RootIsAFile_Throws()
    {
        var file = _temp.Write("file.mid", [1]);

        Assert.Throws<DirectoryNotFoundException>(() => new FolderSource(file));
    }

    [Fact]
    public void Identity_RelativeRootWithTrailingSlash_IsFullPathWithoutSlash()
    {
        var source = new FolderSource(_temp.Path + "/");

        Assert.Equal("folder:" + _temp.Path, source.Identity);
    }
}
