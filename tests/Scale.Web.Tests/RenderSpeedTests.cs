using System.Diagnostics;
using Microsoft.Extensions.Primitives;
using Scale.Store;
using Scale.Web.Catalog;
using Scale.Web.Http;
using Scale.Web.Pages;
using Xunit.Abstractions;

namespace Scale.Web.Tests;

/// <summary>
/// Where a page's time goes (query, rendering), in process over a real store: SCALE_PERF_DB=path/to/scale.db (e.g. the
/// full-scale synthetic store). Prints medians; asserts nothing, the machine is shared.
/// </summary>
public class RenderSpeedTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HomePage_QueryAndRender_Timings()
    {
        var db = Environment.GetEnvironmentVariable("SCALE_PERF_DB");
        if (string.IsNullOrEmpty(db))
        {
            output.WriteLine("SCALE_PERF_DB is not set: skipped.");
            return;
        }

        await using var reader = ScaleStoreFactory.CreateReader(db);
        var clock = Stopwatch.StartNew();
        var songs = await SongCatalog.LoadAsync(reader, TimeProvider.System, CancellationToken.None);
        var summary = await reader.GetSummaryAsync(CancellationToken.None);
        var snapshot = new CatalogSnapshot(songs, summary, null);
        output.WriteLine($"load: {clock.Elapsed.TotalMilliseconds:F0} ms, {songs.Count:N0} songs");

        foreach (var query in new[] { "", "instrument=128&instrument=0", "q=angel&sort=name", "instrument=73&instrument=109&sort=-similar" })
        {
            var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query);
            Assert.True(SongListRequest.TryParse(
                parsed.GetValueOrDefault("instrument"), parsed.GetValueOrDefault("q"), parsed.GetValueOrDefault("sort"),
                StringValues.Empty, StringValues.Empty, out var request, out _));
            var uncached = Time(() =>
            {
                songs.ForgetRecentFilters();
                songs.Query(request.Instruments, request.NameContains, request.Sort, request.Offset, request.PageSize);
            });
            var queryTimes = Time(() => songs.Query(request.Instruments, request.NameContains, request.Sort, request.Offset, request.PageSize));
            var renderTimes = Time(() => HomePage.Render(snapshot, request));
            output.WriteLine($"/?{query,-45} query {uncached:F3} ms (filter memoised: {queryTimes:F3} ms)   query + render {renderTimes:F3} ms");
        }

        output.WriteLine($"/instruments render {Time(() => InstrumentsPage.Render(snapshot)):F3} ms");
    }

    private static double Time(Action action)
    {
        for (var i = 0; i < 50; i++)
        {
            action();
        }

        var times = new double[300];
        for (var i = 0; i < times.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(times);
        return times[times.Length / 2];
    }
}
