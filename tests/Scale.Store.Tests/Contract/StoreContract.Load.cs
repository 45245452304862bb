using System.Globalization;
using Scale.Store.Tests.Load;
using Xunit.Abstractions;

namespace Scale.Store.Tests.Contract;

/// <summary>A Lakh-shaped load through the store (a twentieth of Lakh; all of it with SCALE_PERF=1), checked by count.</summary>
public abstract partial class StoreContract
{
    /// <summary>Where the load test reports its timing; the subclasses pass xunit's.</summary>
    protected ITestOutputHelper? Output { get; init; }

    [Fact]
    public async Task Load_LakhShapedResultsAndLists_EveryRowWrittenAndTimeReported()
    {
        var full = Environment.GetEnvironmentVariable("SCALE_PERF") == "1";
        var data = new SyntheticResults(full ? SyntheticResults.LakhFiles : SyntheticResults.LakhFiles / 20, listSize: full ? 100 : 20);

        var timing = await LoadBenchmark.LoadAsync(Backend.Name, Backend.Db, data, 2_000, Backend.SyncReadersAsync, null);

        Output?.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{Backend.Name}: {data.Files.Count:N0} files ({timing.ResultRows:N0} rows) in {timing.BatchSeconds:F2} s, {timing.Lists:N0} lists ({timing.ListEntries:N0} entries) in {timing.ListsSeconds:F2} s"));
        Assert.Equal(data.Songs, await Backend.CountAsync("songs"));
        Assert.Equal(data.InstrumentRows, await Backend.CountAsync("song_instruments"));
        Assert.Equal(data.Files.Count, await Backend.CountAsync("source_files"));
        Assert.Equal(timing.Lists, await Backend.CountAsync("similar_lists"));
        Assert.Equal(timing.ListEntries, await Backend.ScalarAsync("SELECT SUM(stored) FROM similar_lists"));
        Assert.True(timing.Lists > data.Songs * 8 / 10, $"{timing.Lists} lists for {data.Songs} songs");
        // The time is reported, not asserted: this machine is shared; bench/pg-load.sh measures the full load.
    }
}
