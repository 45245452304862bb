using System.Formats.Tar;
using System.IO.Compression;
using Scale.Testing;
using Scale.Cli.Tests.Infrastructure;

namespace Scale.Cli.Tests;

/// <summary><c>scale run --source lmd_full.tar.gz</c>: the same songs as the folder corpus of the same seed.</summary>
public sealed class TarballSourceTests : IDisposable
{
    private const int Files = 300;
    private const long Seed = 5;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Run_TarballOfSameSeed_SameSongsAsFolderRun()
    {
        var folder = _dir.Combine("folder");
        var tar = _dir.Combine("tar");
        await Arrange.SynthAsync(_dir.Path, folder, Files, Seed);
        await Arrange.SynthAsync(_dir.Path, tar, Files, Seed, "--tar");
        var tarball = Path.Join(tar, "lmd_full.tar.gz");
        Assert.True(File.Exists(tarball), $"synth --tar wrote no {tarball}");
        var truth = SynthTruth.Load(tar);

        var folderRun = await ScaleProcess.RunAsync(_dir.Path,
            ["run", "--source", folder, "--names", Path.Join(folder, "md5_to_paths.json"), "--db", _dir.Combine("folder.db")]);
        var tarRun = await ScaleProcess.RunAsync(_dir.Path,
            ["run", "--source", tarball, "--names", Path.Join(tar, "md5_to_paths.json"), "--db", _dir.Combine("tar.db")]);

        Assert.True(folderRun.ExitCode == 0, folderRun.ToString());
        Assert.True(tarRun.ExitCode == 0, tarRun.ToString());
        Assert.False(tarRun.HasStackTrace, tarRun.ToString());
        using var fromFolder = ScaleDb.Open(_dir.Combine("folder.db"));
        using var fromTar = ScaleDb.Open(_dir.Combine("tar.db"));
        Assert.Equal(Arrange.SongSnapshot(fromFolder), Arrange.SongSnapshot(fromTar));
        MapAssert.Equal(fromFolder.InvalidByReason(), fromTar.InvalidByReason());

        // And the tarball run on its own terms: every entry of the manifest (lmd_full/<hex>/<md5>.mid) once.
        Assert.Equal(truth.Rows.Select(r => r.Path).Order(StringComparer.Ordinal), fromTar.LedgerKeys().Order(StringComparer.Ordinal));
        MapAssert.EqualInstruments(truth.Songs, fromTar.SongInstruments());
        MapAssert.Equal(truth.ExpectedNames, fromTar.SongNames());
        MapAssert.Equal(truth.ErrorCounts, fromTar.InvalidByReason());
        var runRow = Assert.Single(fromTar.Runs());
        Assert.Equal("completed", runRow.Status);
        Assert.Equal(Files, runRow.FilesValid + runRow.FilesInvalid);
    }

    /// <summary>docs/operations.md: a damaged tarball ends the run as failed (exit 1) after every entry before the damage is committed.</summary>
    [Fact]
    public async Task Run_TarballCutInHalf_ExitCode1RunFailedAndEntriesBeforeTheCutCommitted()
    {
        var tar = _dir.Combine("tar");
        await Arrange.SynthAsync(_dir.Path, tar, Files, Seed, "--tar");
        var truth = SynthTruth.Load(tar);
        var tarball = await File.ReadAllBytesAsync(Path.Join(tar, "lmd_full.tar.gz"));
        var cut = _dir.Write("cut/lmd_full.tar.gz", tarball[..(tarball.Length / 2)]);

        var run = await ScaleProcess.RunAsync(_dir.Path,
            ["run", "--source", cut, "--names", Path.Join(tar, "md5_to_paths.json"), "--db", _dir.Combine("cut.db")]);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.False(run.HasStackTrace, run.ToString());
        using var db = ScaleDb.Open(_dir.Combine("cut.db"));
        var runRow = Assert.Single(db.Runs());
        Assert.Equal("failed", runRow.Status);
        Assert.False(string.IsNullOrWhiteSpace(runRow.Error));
        // Entries before the damage: those a tar reader gets whole out of the cut file. The tarball holds the
        // files in manifest order, so they are the manifest's first rows; the damaged entry may be recorded too.
        var whole = CompleteEntries(cut);
        Assert.InRange(whole.Count, 1, Files - 1);
        var rows = truth.Rows.OrderBy(r => r.Index).ToList();
        Assert.Equal(rows.Take(whole.Count).Select(r => r.Path), whole);
        var committed = db.LedgerKeys().ToHashSet(StringComparer.Ordinal);
        Assert.True(committed.IsSupersetOf(whole), $"{committed.Count} keys committed of the {whole.Count} entries before the damage.\n{run}");
        Assert.Subset(whole.Append(rows[whole.Count].Path).ToHashSet(StringComparer.Ordinal), committed);
        var expectedSongs = rows.Take(whole.Count).Where(r => r.IsSong).GroupBy(r => r.Md5, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Instruments, StringComparer.Ordinal);
        MapAssert.EqualInstruments(expectedSongs, db.SongInstruments());
    }

    /// <summary>Names of the regular-file entries that a tar reader reads whole (data included) before the damage.</summary>
    private static List<string> CompleteEntries(string tarball)
    {
        var names = new List<string>();
        using var file = File.OpenRead(tarball);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        try
        {
            while (reader.GetNextEntry(copyData: true) is { } entry)
            {
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                {
                    names.Add(entry.Name);
                }
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or IOException)
        {
            // The cut: everything before it is in the list.
        }

        return names;
    }
}
