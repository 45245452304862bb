using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Scale.Midi;

namespace Scale.Synth.Tests;

public class CorpusWriterTests
{
    [Fact]
    public void Write_Folder_LakhLayoutWithMd5Names()
    {
        using var temp = new TempFolder();
        var result = SyntheticCorpus.Write(TestCorpora.Small(temp.Path));

        var files = TestCorpora.ReadFolder(temp.Path);
        Assert.Equal(300, files.Count);
        Assert.Equal(300, result.Files);
        Assert.Equal(files.Values.Sum(f => (long)f.Length), result.Bytes);
        foreach (var (key, bytes) in files)
        {
            var md5 = TestCorpora.Md5Hex(bytes);
            Assert.Equal(md5[..1] + "/" + md5 + ".mid", key);
        }

        var names = Directory.EnumerateFileSystemEntries(temp.Path).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(
            "0123456789abcdef".Select(c => c.ToString()).Append(SyntheticCorpus.PathsFileName).Append(SyntheticCorpus.ManifestFileName).Order(),
            names);
    }

    [Fact]
    public void Write_SameSeedDifferentParallelism_IdenticalFiles()
    {
        using var temp = new TempFolder();
        SyntheticCorpus.Write(TestCorpora.Small(temp.Sub("one")) with { MaxDegreeOfParallelism = 1 });
        SyntheticCorpus.Write(TestCorpora.Small(temp.Sub("four")) with { MaxDegreeOfParallelism = 4 });

        var one = TestCorpora.ReadFolder(temp.Sub("one"));
        var four = TestCorpora.ReadFolder(temp.Sub("four"));
        Assert.Equal(one.Keys.Order(), four.Keys.Order());
        foreach (var (key, bytes) in one)
        {
            Assert.Equal(bytes, four[key]);
        }

        Assert.Equal(File.ReadAllBytes(Path.Join(temp.Sub("one"), SyntheticCorpus.PathsFileName)),
            File.ReadAllBytes(Path.Join(temp.Sub("four"), SyntheticCorpus.PathsFileName)));
        Assert.Equal(File.ReadAllBytes(Path.Join(temp.Sub("one"), SyntheticCorpus.ManifestFileName)),
            File.ReadAllBytes(Path.Join(temp.Sub("four"), SyntheticCorpus.ManifestFileName)));
    }

    [Fact]
    public void Write_DifferentSeed_DifferentFiles()
    {
        using var temp = new TempFolder();
        var first = SyntheticCorpus.Write(TestCorpora.Small(temp.Sub("a"), files: 300, seed: 1, damagedShare: 0.2));
        SyntheticCorpus.Write(TestCorpora.Small(temp.Sub("b"), files: 300, seed: 2, damagedShare: 0.2));

        var a = TestCorpora.ReadFolder(temp.Sub("a")).Keys.ToHashSet();
        var b = TestCorpora.ReadFolder(temp.Sub("b")).Keys.ToHashSet();
        a.IntersectWith(b);

        // Only two files are the same whatever the seed: the empty file and the first "error with file" text.
        var kinds = File.ReadLines(first.ManifestPath!).Skip(1).Select(SynthManifest.Parse).ToDictionary(e => e.Path, e => e.Kind);
        Assert.Equal(2, a.Count);
        Assert.Equal([FileKind.EmptyFile, FileKind.NotMidiText], a.Select(k => kinds[k]).Order());
    }

    [Fact]
    public void Write_Folder_PathsJsonListsEveryFile()
    {
        using var temp = new TempFolder();
        SyntheticCorpus.Write(TestCorpora.Small(temp.Path));

        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Join(temp.Path, SyntheticCorpus.PathsFileName)));
        var entries = json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        var files = TestCorpora.ReadFolder(temp.Path);
        Assert.Equal(files.Count, entries.Count);
        foreach (var key in files.Keys)
        {
            var md5 = key[2..^4];
            var paths = entries[md5];
            Assert.Equal(JsonValueKind.Array, paths.ValueKind);
            Assert.InRange(paths.GetArrayLength(), 1, 3);
            Assert.All(paths.EnumerateArray(), p => Assert.EndsWith(".mid", p.GetString(), StringComparison.Ordinal));
        }

        Assert.Contains(entries.Values, p => p.GetArrayLength() >= 2);
    }

    [Fact]
    public async Task Write_Folder_ManifestIsGroundTruth()
    {
        using var temp = new TempFolder();
        var options = TestCorpora.Small(temp.Path, files: 700, damagedShare: 0.1);
        var result = SyntheticCorpus.Write(options);

        var manifest = await SynthManifest.ReadAsync(result.ManifestPath!, CancellationToken.None);
        var files = TestCorpora.ReadFolder(temp.Path);
        Assert.Equal(700, manifest.Count);
        Assert.Equal(70, manifest.Count(e => e.Kind != FileKind.Valid));
        Assert.Equal(70, result.DamagedFiles);
        Assert.Equal(FileKinds.All.Count, manifest.Select(e => e.Kind).Distinct().Count());
        foreach (var entry in manifest)
        {
            Assert.True(files.ContainsKey(entry.Path));
            Assert.Equal(files[entry.Path].Length, entry.Bytes);
            var generated = SyntheticCorpus.GenerateFile(options, entry.Index);
            Assert.Equal(generated.Md5, entry.Md5);
            Assert.Equal(generated.Kind, entry.Kind);
            Assert.Equal(generated.Instruments, entry.Instruments);
        }

        Assert.Equal(700, result.KindCounts.Values.Sum());
    }

    [Fact]
    public void Write_Tar_ReadableWithTarReaderAndSameFilesAsFolder()
    {
        using var temp = new TempFolder();
        var folder = SyntheticCorpus.Write(TestCorpora.Small(temp.Sub("folder")));
        var tarred = SyntheticCorpus.Write(TestCorpora.Small(temp.Sub("tar")) with { Tar = true });

        Assert.Equal(Path.Join(temp.Sub("tar"), SyntheticCorpus.TarFileName), tarred.CorpusPath);
        Assert.True(File.Exists(Path.Join(temp.Sub("tar"), SyntheticCorpus.PathsFileName)));
        Assert.Equal(folder.Bytes, tarred.Bytes);
        var expected = TestCorpora.ReadFolder(temp.Sub("folder"));
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var directories = 0;
        using (var file = File.OpenRead(tarred.CorpusPath))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var reader = new TarReader(gzip))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.EntryType == TarEntryType.Directory)
                {
                    directories++;
                    continue;
                }

                Assert.StartsWith(SyntheticCorpus.TarRoot + "/", entry.Name, StringComparison.Ordinal);
                using var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                found[entry.Name[(SyntheticCorpus.TarRoot.Length + 1)..]] = data.ToArray();
            }
        }

        Assert.Equal(17, directories);
        Assert.Equal(expected.Keys.Order(), found.Keys.Order());
        foreach (var (key, bytes) in expected)
        {
            Assert.Equal(bytes, found[key]);
        }

        Assert.Equal(File.ReadAllBytes(Path.Join(temp.Sub("folder"), SyntheticCorpus.PathsFileName)),
            File.ReadAllBytes(Path.Join(temp.Sub("tar"), SyntheticCorpus.PathsFileName)));
        var manifestLine = File.ReadLines(Path.Join(temp.Sub("tar"), SyntheticCorpus.ManifestFileName)).Skip(1).First();
        Assert.StartsWith(SyntheticCorpus.TarRoot + "/", SynthManifest.Parse(manifestLine).Path, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_TarTwice_IdenticalTarballs()
    {
        using var temp = new TempFolder();
        var a = SyntheticCorpus.Write(TestCorpora.Small(temp.Sub("a"), files: 150) with { Tar = true, MaxDegreeOfParallelism = 1 });
        var b = SyntheticCorpus.Write(TestCorpora.Small(temp.Sub("b"), files: 150) with { Tar = true, MaxDegreeOfParallelism = 3 });
        Assert.Equal(File.ReadAllBytes(a.CorpusPath), File.ReadAllBytes(b.CorpusPath));
    }

    [Fact]
    public void Write_FolderAlreadyHoldsCorpus_Throws()
    {
        using var temp = new TempFolder();
        SyntheticCorpus.Write(TestCorpora.Small(temp.Path, files: 20));
        Assert.Throws<IOException>(() => SyntheticCorpus.Write(TestCorpora.Small(temp.Path, files: 20)));
    }

    [Fact]
    public void Write_Progress_ReportsFinalCount()
    {
        using var temp = new TempFolder();
        var reports = new List<SynthProgress>();
        var progress = new SynchronousProgress(reports);
        SyntheticCorpus.Write(TestCorpora.Small(temp.Path, files: 200) with { Progress = progress, ProgressInterval = TimeSpan.Zero });

        Assert.NotEmpty(reports);
        var last = reports[^1];
        Assert.Equal(200, last.FilesWritten);
        Assert.Equal(200, last.TotalFiles);
        Assert.True(last.Bytes > 0);
        Assert.True(last.FilesPerSecond > 0);
        Assert.Equal(TimeSpan.Zero, last.Remaining);
    }

    [Fact]
    public async Task WriteAsync_Cancelled_Throws()
    {
        using var temp = new TempFolder();
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => SyntheticCorpus.WriteAsync(TestCorpora.Small(temp.Path), cancellation.Token));
    }

    [Theory]
    [InlineData(-1, 0.02, 35_000, 2)]
    [InlineData(10, -0.1, 35_000, 2)]
    [InlineData(10, 1.5, 35_000, 2)]
    [InlineData(10, 0.02, 10, 2)]
    [InlineData(10, 0.02, 35_000, 0)]
    public void Write_BadOptions_Throws(int files, double share, int average, int parallelism)
    {
        var options = new SyntheticCorpusOptions
        {
            Files = files,
            DamagedShare = share,
            AverageFileBytes = average,
            MaxDegreeOfParallelism = parallelism,
            OutputDirectory = Path.GetTempPath(),
        };
        Assert.ThrowsAny<ArgumentException>(() => SyntheticCorpus.Write(options));
    }

    [Fact]
    public void Write_NoOutputDirectory_Throws() =>
        Assert.ThrowsAny<ArgumentException>(() => SyntheticCorpus.Write(new SyntheticCorpusOptions { Files = 1 }));

    [Fact]
    public void Write_ManifestDisabled_NoManifest()
    {
        using var temp = new TempFolder();
        var result = SyntheticCorpus.Write(TestCorpora.Small(temp.Path, files: 30) with { WriteManifest = false });
        Assert.Null(result.ManifestPath);
        Assert.False(File.Exists(Path.Join(temp.Path, SyntheticCorpus.ManifestFileName)));
    }

    [Fact]
    public void Manifest_Row_RoundTrips()
    {
        var entry = new SynthManifestEntry(12, "0123456789abcdef0123456789abcdef", "0/0123456789abcdef0123456789abcdef.mid",
            FileKind.TruncatedTrack, InstrumentSet.Of([0, 33, 128]), 1234);
        var line = SynthManifest.Format(entry);
        Assert.Equal(entry, SynthManifest.Parse(line));
        Assert.Contains("\ttrack-length-past-end,truncated-track\tmissing-end-of-track\t", line, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => SynthManifest.Parse("not\ta\trow"));
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests need the reports in hand when Write returns.</summary>
    private sealed class SynchronousProgress(List<SynthProgress> reports) : IProgress<SynthProgress>
    {
        public void Report(SynthProgress value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
