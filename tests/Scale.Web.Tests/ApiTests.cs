using System.Globalization;
using System.Net;
using System.Text.Json;
using Scale.Midi;
using Scale.Web.Tests.Infrastructure;

namespace Scale.Web.Tests;

/// <summary>The JSON API against the truth read from the store with plain SQL and the brute-force similar lists.</summary>
[Collection(SharedSite.Name)]
public class ApiTests(SiteFixture site)
{
    private StoreFixture Store => site.Store;

    [Fact]
    public async Task Instruments_All129WithNamesFamiliesAndSongCounts()
    {
        using var json = await GetJsonAsync("/api/instruments");

        var items = json.RootElement.EnumerateArray().ToArray();
        Assert.Equal(129, items.Length);
        for (var code = 0; code < 129; code++)
        {
            var item = items[code];
            Assert.Equal(["code", "name", "family", "familyCode", "songs"], item.EnumerateObject().Select(p => p.Name));
            Assert.Equal(code, item.GetProperty("code").GetInt32());
            Assert.Equal(GeneralMidi.InstrumentName(code), item.GetProperty("name").GetString());
            Assert.Equal(code == 128 ? "Drums" : GeneralMidi.FamilyName(code / 8), item.GetProperty("family").GetString());
            Assert.Equal(Store.Songs.Count(s => s.Instruments.Contains(code)), item.GetProperty("songs").GetInt32());
        }

        Assert.Equal("Flute", items[73].GetProperty("name").GetString());
        Assert.Equal("Pipe", items[73].GetProperty("family").GetString());
        Assert.Equal("Drum Kit", items[128].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Instrument_OneByCode()
    {
        using var json = await GetJsonAsync("/api/instruments/109");

        Assert.Equal("Bag pipe", json.RootElement.GetProperty("name").GetString());
        Assert.Equal(Store.Songs.Count(s => s.Instruments.Contains(109)), json.RootElement.GetProperty("songs").GetInt32());
    }

    [Fact]
    public async Task Songs_NoFilter_EverySongInTheDefaultOrder_MostInstrumentsFirst()
    {
        using var json = await GetJsonAsync("/api/songs?pageSize=200");

        var root = json.RootElement;
        Assert.Equal(Store.Songs.Count, root.GetProperty("total").GetInt32());
        Assert.Equal(1, root.GetProperty("page").GetInt32());
        Assert.Equal(200, root.GetProperty("pageSize").GetInt32());
        Assert.Equal("-instruments", root.GetProperty("sort").GetString());
        var expected = Sorted(Store.Songs, "-instruments").Take(200).Select(s => s.Id);
        Assert.Equal(expected, Ids(root));
    }

    [Theory]
    [InlineData("name")]
    [InlineData("-name")]
    [InlineData("instruments")]
    [InlineData("-instruments")]
    [InlineData("similar")]
    [InlineData("-similar")]
    public async Task Songs_WithTheMostCommonInstrument_EverySortAndEveryPage_MatchTheTruth(string sort)
    {
        var common = MostCommonInstruments(1)[0];
        var expected = Sorted(Store.Songs.Where(s => s.Instruments.Contains(common)), sort).ToArray();
        Assert.True(expected.Length > 30, "the fixture should have enough songs to page through");

        var seen = new List<string>();
        for (var page = 1; ; page++)
        {
            using var json = await GetJsonAsync($"/api/songs?instrument={common}&sort={Uri.EscapeDataString(sort)}&page={page}&pageSize=7");
            var root = json.RootElement;
            Assert.Equal(expected.Length, root.GetProperty("total").GetInt32());
            Assert.Equal(sort, root.GetProperty("sort").GetString());
            var ids = Ids(root).ToArray();
            if (ids.Length == 0)
            {
                break;
            }

            seen.AddRange(ids);
        }

        Assert.Equal(expected.Select(s => s.Id), seen);
    }

    [Fact]
    public async Task Songs_SeveralInstruments_OnlySongsUsingAllOfThem_RepeatedOrCommaSeparated()
    {
        var codes = MostCommonInstruments(2);
        var expected = Sorted(Store.Songs.Where(s => s.Uses(codes)), "name").Select(s => s.Id).ToArray();
        Assert.NotEmpty(expected);

        using var repeated = await GetJsonAsync($"/api/songs?instrument={codes[0]}&instrument={codes[1]}&sort=name&pageSize=200");
        using var commas = await GetJsonAsync($"/api/songs?instrument={codes[0]},{codes[1]}&sort=name&pageSize=200");

        Assert.Equal(expected.Take(200), Ids(repeated.RootElement));
        Assert.Equal(expected.Take(200), Ids(commas.RootElement));
        Assert.Equal(expected.Length, repeated.RootElement.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Songs_ItemFields_IdNameInstrumentCodesCountAndSimilarCount()
    {
        using var json = await GetJsonAsync("/api/songs?sort=-similar&pageSize=5");

        foreach (var item in json.RootElement.GetProperty("items").EnumerateArray())
        {
            Assert.Equal(["id", "name", "instruments", "instrumentCount", "similarCount"], item.EnumerateObject().Select(p => p.Name));
            var truth = Store.Song(item.GetProperty("id").GetString()!);
            Assert.Equal(truth.Name, item.GetProperty("name").GetString());
            Assert.Equal(truth.Instruments, item.GetProperty("instruments").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(truth.Instruments.Length, item.GetProperty("instrumentCount").GetInt32());
            Assert.Equal(truth.SimilarCount, item.GetProperty("similarCount").GetInt32());
        }
    }

    [Fact]
    public async Task Songs_NameFilter_CaseInsensitiveSubstring()
    {
        // A piece of a real name, in other case: the filter must find at least that song.
        var someone = Store.Songs.First(s => s.Name.Length >= 6);
        var piece = someone.Name.Substring(1, 4).ToUpperInvariant();
        var expected = Sorted(Store.Songs.Where(s => s.Name.Contains(piece, StringComparison.OrdinalIgnoreCase)), "name").Select(s => s.Id).ToArray();

        using var json = await GetJsonAsync($"/api/songs?q={Uri.EscapeDataString(piece)}&sort=name&pageSize=200");

        Assert.Contains(someone.Id, expected);
        Assert.Equal(expected, Ids(json.RootElement));
    }

    [Fact]
    public async Task Songs_PageSizeAbove200_IsCappedTo200()
    {
        using var json = await GetJsonAsync("/api/songs?pageSize=100000");

        Assert.Equal(200, json.RootElement.GetProperty("pageSize").GetInt32());
        Assert.Equal(Math.Min(200, Store.Songs.Count), json.RootElement.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Songs_PagePastTheEnd_EmptyItemsWithTheTotal()
    {
        using var json = await GetJsonAsync("/api/songs?page=999999");

        Assert.Equal(Store.Songs.Count, json.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Song_Details_FromTheStore()
    {
        var truth = Store.Songs.First(s => s.Instruments.Length >= 3);

        using var json = await GetJsonAsync($"/api/songs/{truth.Id}");

        var root = json.RootElement;
        Assert.Equal(truth.Id, root.GetProperty("id").GetString());
        Assert.Equal(truth.Name, root.GetProperty("name").GetString());
        Assert.Equal(truth.Instruments, root.GetProperty("instruments").EnumerateArray().Select(e => e.GetProperty("code").GetInt32()));
        Assert.Equal(truth.Instruments.Select(GeneralMidi.InstrumentName), root.GetProperty("instruments").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        Assert.Equal(truth.SimilarCount, root.GetProperty("similarCount").ValueKind == JsonValueKind.Null ? null : root.GetProperty("similarCount").GetInt32());
        Assert.Equal(Store.Scalar($"SELECT note_count FROM songs WHERE id = '{truth.Id}'"), root.GetProperty("noteCount").GetInt64());
        Assert.Equal(Store.Scalar($"SELECT tracks FROM songs WHERE id = '{truth.Id}'"), root.GetProperty("tracks").GetInt64());
    }

    [Fact]
    public async Task Song_UpperCaseId_IsTheSameSong()
    {
        var truth = Store.Songs[0];

        using var json = await GetJsonAsync($"/api/songs/{truth.Id.ToUpperInvariant()}");

        Assert.Equal(truth.Id, json.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Similar_ThePagesCoverTheStoredTopK_InOrder_WithSharedInstruments()
    {
        var (id, truth) = SongWithMoreSimilarThanStored();
        var stored = truth.Take(StoreFixture.Settings.TopK).ToArray();

        var items = new List<JsonElement>();
        var documents = new List<JsonDocument>();
        for (var page = 1; page <= 4; page++)
        {
            var json = await GetJsonAsync($"/api/songs/{id}/similar?page={page}&pageSize=4");
            documents.Add(json);
            Assert.Equal(truth.Count, json.RootElement.GetProperty("total").GetInt32());
            Assert.Equal(stored.Length, json.RootElement.GetProperty("stored").GetInt32());
            items.AddRange(json.RootElement.GetProperty("items").EnumerateArray());
        }

        var mine = Store.Song(id).Instruments;
        Assert.Equal(stored.Select(s => s.Id), items.Select(i => i.GetProperty("id").GetString()));
        for (var i = 0; i < stored.Length; i++)
        {
            var item = items[i];
            var other = Store.Song(stored[i].Id);
            Assert.Equal(i + 1, item.GetProperty("rank").GetInt32());
            Assert.Equal(other.Name, item.GetProperty("name").GetString());
            Assert.Equal(stored[i].Similarity, item.GetProperty("similarity").GetDouble(), 6);
            Assert.Equal(stored[i].Shared, item.GetProperty("shared").GetInt32());
            Assert.Equal(other.Instruments, item.GetProperty("instruments").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(mine.Intersect(other.Instruments).Order(), item.GetProperty("sharedInstruments").EnumerateArray().Select(e => e.GetInt32()));
        }

        documents.ForEach(d => d.Dispose());
    }

    [Fact]
    public async Task Similar_SongWithoutSimilarSongs_EmptyNot404()
    {
        var lonely = Store.Songs.First(s => s.Instruments.Length < StoreFixture.Settings.MinInstruments);

        using var json = await GetJsonAsync($"/api/songs/{lonely.Id}/similar");

        Assert.Equal(0, json.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task OpenApi_DocumentsEveryApiRoute()
    {
        using var json = await GetJsonAsync("/openapi/v1.json");

        var paths = json.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToArray();
        foreach (var path in new[] { "/api/instruments", "/api/instruments/{code}", "/api/songs", "/api/songs/{id}", "/api/songs/{id}/similar", "/test_db", "/load_index", "/get_songs_for_instruments", "/get_similar_songs", "/healthz" })
        {
            Assert.Contains(path, paths);
        }

        Assert.DoesNotContain("/", paths);
        var songs = json.RootElement.GetProperty("paths").GetProperty("/api/songs").GetProperty("get");
        Assert.Equal(["instrument", "q", "sort", "page", "pageSize"], songs.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        var nameFilter = songs.GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "q");
        Assert.Contains("case-insensitive", nameFilter.GetProperty("description").GetString(), StringComparison.Ordinal);
        var schemas = json.RootElement.GetProperty("components").GetProperty("schemas");
        Assert.Equal(["total", "page", "pageSize", "sort", "dataVersion", "items"], schemas.GetProperty("SongListResponse").GetProperty("properties").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["id", "name", "instruments", "instrumentCount", "similarCount"], schemas.GetProperty("SongListItem").GetProperty("properties").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Healthz_Ok()
    {
        using var json = await GetJsonAsync("/healthz");

        Assert.Equal("ok", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(Store.Songs.Count, json.RootElement.GetProperty("songs").GetInt32());
    }

    /// <summary>The orders the API promises, written out independently: ties by name (case-insensitive, then exact), then id.</summary>
    internal static IEnumerable<TruthSong> Sorted(IEnumerable<TruthSong> songs, string sort)
    {
        var byName = songs.OrderBy(s => 0);
        IOrderedEnumerable<TruthSong> ThenByName(IOrderedEnumerable<TruthSong> ordered) =>
            ordered.ThenBy(s => s.Name, StringComparer.OrdinalIgnoreCase).ThenBy(s => s.Name, StringComparer.Ordinal).ThenBy(s => s.Id, StringComparer.Ordinal);
        return sort switch
        {
            "name" => ThenByName(byName),
            "-name" => ThenByName(byName).Reverse(),
            "instruments" => ThenByName(songs.OrderBy(s => s.Instruments.Length)),
            "-instruments" => ThenByName(songs.OrderByDescending(s => s.Instruments.Length)),
            "similar" => ThenByName(songs.OrderBy(s => s.SimilarCount ?? -1)),
            "-similar" => ThenByName(songs.OrderByDescending(s => s.SimilarCount ?? -1)),
            _ => throw new ArgumentOutOfRangeException(nameof(sort)),
        };
    }

    internal int[] MostCommonInstruments(int count) =>
        [.. Enumerable.Range(0, 129).OrderByDescending(c => Store.Songs.Count(s => s.Instruments.Contains(c))).ThenBy(c => c).Take(count)];

    internal (string Id, IReadOnlyList<TruthSimilar> Similar) SongWithMoreSimilarThanStored()
    {
        var (id, list) = Store.Similar.Where(p => p.Value.Count > StoreFixture.Settings.TopK).OrderBy(p => p.Key, StringComparer.Ordinal).First();
        return (id, list);
    }

    private static IEnumerable<string> Ids(JsonElement root) => root.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!);

    private async Task<JsonDocument> GetJsonAsync(string url)
    {
        using var response = await site.Client.GetAsync(new Uri(url, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {url}: {(int)response.StatusCode} {body}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        return JsonDocument.Parse(body);
    }
}

/// <summary>Invariant formatting for URLs built in tests.</summary>
internal static class Invariant
{
    public static string Of(int value) => value.ToString(CultureInfo.InvariantCulture);
}
