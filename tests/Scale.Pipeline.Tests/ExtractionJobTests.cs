using System.Runtime.CompilerServices;
using Scale.Corpus.Sources;
using Scale.Store;

namespace Scale.Pipeline.Tests;

public class ExtractionJobTests
{
    private static readonly ExtractionJobOptions SmallBatches = new() { BatchFiles = 50, FlushInterval = TimeSpan.Zero };

    [Fact]
    public async Task RunAsync_SyntheticFolder_EveryKeyOnceAndSongsMatchTheGroundTruth()
    {
        using var work = new Workspace(files: 400);
        await using var store = await work.OpenStoreAsync();
        await using var source = new FolderSource(work.Corpus);

        var result = await new ExtractionJob(store).RunAsync(source, SmallBatches, CancellationToken.None);

        Assert.Equal(RunStatus.Completed, result.Status);
        Assert.Equal(work.AllKeys.Order(), work.Column("select key from source_files order by key"));
        Assert.Equal(work.ExpectedSongs.Order(), work.Column("select id from songs order by id"));
        var expectedInvalid = work.Manifest.Count(e => e.Expectation.Error is not null);
        Assert.Equal(expectedInvalid, work.Scalar("select count(*) from invalid_files"));
        Assert.Equal(work.Manifest.Count, result.Stats.FilesValid + result.Stats.FilesInvalid);
        Assert.Equal(work.Manifest.Sum(e => (long)e.Bytes), result.Stats.BytesRead);
    }

    [Fact]
    public async Task RunAsync_SongInstruments_MatchTheGeneratorsInstrumentSets()
    {
        using var work = new Workspace(files: 150, seed: 3);
        await using var store = await work.OpenStoreAsync();
        await using var source = new FolderSource(work.Corpus);

        await new ExtractionJob(store).RunAsync(source, SmallBatches, CancellationToken.None);

        foreach (var entry in work.Manifest.Where(e => e.Expectation.Error is null).Take(60))
        {
            var stored = work.Column($"select cast(instrument_code as text) from song_instruments where song_id = '{entry.Md5}' order by instrument_code");
            Assert.Equal(entry.Instruments.ToArray().Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)), stored);
        }
    }

    [Fact]
    public async Task RunAsync_SecondRunOnSameSource_ProcessesNothingAndChangesNothing()
    {
        using var work = new Workspace(files: 200);
        await using var store = await work.OpenStoreAsync();
        await using var source = new FolderSource(work.Corpus);
        var job = new ExtractionJob(store);
        await job.RunAsync(source, SmallBatches, CancellationToken.None);
        var songs = work.Scalar("select count(*) from songs");
        var rows = work.Scalar("select count(*) from song_instruments");

        var second = await job.RunAsync(source, SmallBatches, CancellationToken.None);

        Assert.Equal(RunStatus.Completed, second.Status);
        Assert.Equal(0, second.Stats.FilesValid + second.Stats.FilesInvalid);
        Assert.Equal(work.Manifest.Count, second.Stats.FilesSkipped);
        Assert.Equal(songs, work.Scalar("select count(*) from songs"));
        Assert.Equal(rows, work.Scalar("select count(*) from song_instruments"));
    }

    [Fact]
    public async Task RunAsync_CancelledMidway_RerunFinishesExactlyOnce()
    {
        using var work = new Workspace(files: 600);
        await using (var store = await work.OpenStoreAsync())
        {
            using var cancel = new CancellationTokenSource();
            await using var source = new CallbackSource(new FolderSource(work.Corpus), yielded => { if (yielded == 300) { cancel.Cancel(); } });

            await Assert.ThrowsAnyAsync<OperationCanceledException>(
                () => new ExtractionJob(store).RunAsync(source, SmallBatches, cancel.Token));
        }

        var committed = work.Scalar("select count(*) from source_files");
        Assert.InRange(committed, 0, 300);
        Assert.Equal("interrupted", work.Column("select status from runs order by id").Single());

        await using (var store = await work.OpenStoreAsync())
        {
            await using var source = new FolderSource(work.Corpus);
            var rerun = await new ExtractionJob(store).RunAsync(source, SmallBatches, CancellationToken.None);

            Assert.Equal(RunStatus.Completed, rerun.Status);
            Assert.Equal(committed, rerun.Stats.FilesSkipped);
            Assert.Equal(work.Manifest.Count - committed, rerun.Stats.FilesValid + rerun.Stats.FilesInvalid);
        }

        Assert.Equal(work.AllKeys.Order(), work.Column("select key from source_files order by key"));
        Assert.Equal(work.ExpectedSongs.Order(), work.Column("select id from songs order by id"));
        Assert.Equal(work.Manifest.Count(e => e.Expectation.Error is not null), work.Scalar("select count(*) from invalid_files"));
    }

    [Fact]
    public async Task RunAsync_SourceBreaksMidway_RunFailsKeepsWhatItReadAndRerunFinishes()
    {
        using var work = new Workspace(files: 300);
        await using (var store = await work.OpenStoreAsync())
        {
            await using var source = new CallbackSource(new FolderSource(work.Corpus), yielded =>
            {
                if (yielded == 120)
                {
                    throw new IOException("disk went away");
                }
            });

            var failed = await new ExtractionJob(store).RunAsync(source, SmallBatches, CancellationToken.None);

            Assert.Equal(RunStatus.Failed, failed.Status);
            Assert.Contains("disk went away", failed.Error, StringComparison.Ordinal);
            Assert.Equal(119, failed.Stats.FilesValid + failed.Stats.FilesInvalid);
        }

        Assert.Equal(119, work.Scalar("select count(*) from source_files"));
        await using (var store = await work.OpenStoreAsync())
        {
            await using var source = new FolderSource(work.Corpus);
            var rerun = await new ExtractionJob(store).RunAsync(source, SmallBatches, CancellationToken.None);
            Assert.Equal(RunStatus.Completed, rerun.Status);
        }

        Assert.Equal(work.Manifest.Count, work.Scalar("select count(*) from source_files"));
    }

    [Fact]
    public async Task RunAsync_OversizedAndUnreadableFiles_RecordedWithReasons()
    {
        using var work = new Workspace(files: 60);
        var big = work.Manifest.Where(e => e.Expectation.Error is null).MaxBy(e => e.Bytes)!;
        Directory.CreateDirectory(Path.Combine(work.Corpus, "z", "unreadable.mid"));
        await using var store = await work.OpenStoreAsync();
        await using var source = new FolderSource(work.Corpus, new CorpusSourceOptions { MaxFileBytes = big.Bytes - 1 });
        var options = SmallBatches with { Extractor = new Midi.MidiExtractorOptions { MaxFileBytes = big.Bytes - 1 } };

        await new ExtractionJob(store).RunAsync(source, options, CancellationToken.None);

        Assert.Equal("too-large", work.Column($"select reason_code from invalid_files where key = '{big.Path}'").Single());
        var tooLarge = work.Manifest.Count(e => e.Bytes > big.Bytes - 1);
        Assert.Equal(tooLarge, work.Scalar("select count(*) from invalid_files where reason_code = 'too-large'"));
    }

    [Fact]
    public async Task RunAsync_KeyFilter_ProcessesOnlyAcceptedKeys()
    {
        using var work = new Workspace(files: 200);
        await using var store = await work.OpenStoreAsync();
        await using var source = new FolderSource(work.Corpus);
        var options = SmallBatches with { KeyFilter = key => key.StartsWith('a') };

        await new ExtractionJob(store).RunAsync(source, options, CancellationToken.None);

        Assert.Equal(work.AllKeys.Where(k => k.StartsWith('a')).Order(), work.Column("select key from source_files order by key"));
    }

    [Fact]
    public async Task RunAsync_NameLookup_NamesSongsFromTheMap()
    {
        using var work = new Workspace(files: 50);
        var names = await Corpus.Naming.SongNames.LoadAsync(work.Synth.PathsJsonPath, CancellationToken.None);
        await using var store = await work.OpenStoreAsync();
        await using var source = new FolderSource(work.Corpus);

        await new ExtractionJob(store).RunAsync(source, SmallBatches with { NameLookup = names.NameOf }, CancellationToken.None);

        var song = work.Manifest.First(e => e.Expectation.Error is null);
        Assert.Equal(names.NameOf(song.Md5), work.Column($"select name from songs where id = '{song.Md5}'").Single());
    }

    /// <summary>A real source with a hook after each item it yields (to cancel or break at a chosen point).</summary>
    private sealed class CallbackSource(ICorpusSource inner, Action<int> afterYield) : ICorpusSource
    {
        public string Identity => inner.Identity;

        public async IAsyncEnumerable<CorpusItem> ReadAsync(Func<string, bool>? include, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var yielded = 0;
            await foreach (var item in inner.ReadAsync(include, cancellationToken))
            {
                yielded++;
                try
                {
                    afterYield(yielded);
                }
                catch
                {
                    item.Dispose();
                    throw;
                }

                yield return item;
            }
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
