using System.Net;
using System.Text;
using System.Text.Json;
using Scale.Web.Tests.Infrastructure;

namespace Scale.Web.Tests;

/// <summary>The original Flask app's routes answer as its clients expect (paths, methods, JSON field names), without a session.</summary>
[Collection(SharedSite.Name)]
public class LegacyRouteTests(SiteFixture site)
{
    private StoreFixture Store => site.Store;

    [Fact]
    public async Task TestDb_TenFluteAndTenBagPipeSongs_NameIdPairsInIdOrder()
    {
        using var json = JsonDocument.Parse(await site.Client.GetStringAsync(new Uri("/test_db", UriKind.Relative)));

        AssertFirstTen(json.RootElement.GetProperty("Flute"), 73);
        AssertFirstTen(json.RootElement.GetProperty("Bag pipe"), 109);
    }

    [Fact]
    public async Task LoadIndex_TheSevenInstrumentsOfTheOriginalHomePage()
    {
        using var json = JsonDocument.Parse(await site.Client.GetStringAsync(new Uri("/load_index", UriKind.Relative)));

        var expected = new Dictionary<string, int>
        {
            ["Electric Grand Piano"] = 2, ["Violin"] = 40, ["String Ensemble 1"] = 48, ["Clarinet"] = 71, ["Flute"] = 73,
            ["Bag pipe"] = 109, ["Steel Drums"] = 114,
        };
        Assert.Equal(expected.Keys.Order(), json.RootElement.EnumerateObject().Select(p => p.Name).Order());
        foreach (var (name, code) in expected)
        {
            AssertFirstTen(json.RootElement.GetProperty(name), code);
        }
    }

    [Theory]
    [InlineData("{\"instruments\": \"CODE\"}")]
    [InlineData("{\"instruments\": CODE}")]
    [InlineData("{\"instruments\": [\"CODE\"]}")]
    public async Task GetSongsForInstruments_JsonBody_OriginalFieldNames_MostInstrumentsFirst(string template)
    {
        var code = MostCommonInstrument();
        var body = template.Replace("CODE", code.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        using var response = await site.Client.PostAsync(new Uri("/get_songs_for_instruments", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        AssertSongRows(json.RootElement, code);
    }

    [Fact]
    public async Task GetSongsForInstruments_FormPost_SameAnswer()
    {
        var code = MostCommonInstrument();

        using var response = await site.Client.PostAsync(
            new Uri("/get_songs_for_instruments", UriKind.Relative),
            new FormUrlEncodedContent([new("instruments", code.ToString(System.Globalization.CultureInfo.InvariantCulture))]));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        AssertSongRows(json.RootElement, code);
    }

    [Fact]
    public async Task GetSimilarSongs_ByFilenameParameter_NoCookieNeeded()
    {
        var (id, truth) = Store.Similar.OrderBy(p => p.Key, StringComparer.Ordinal).First();

        using var response = await site.Client.GetAsync(new Uri("/get_similar_songs?filename=" + id, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var info = json.RootElement.GetProperty("song_info").EnumerateArray().Single();
        Assert.Equal(id, info.GetProperty("filename").GetString());
        Assert.Equal(Store.Song(id).Name, info.GetProperty("songname").GetString());
        Assert.Equal(Store.Song(id).Instruments, info.GetProperty("instruments").EnumerateArray().Select(e => e.GetInt32()));
        var similar = json.RootElement.GetProperty("similar_songs").EnumerateArray().ToArray();
        var stored = truth.Take(StoreFixture.Settings.TopK).ToArray();
        Assert.Equal(stored.Select(s => s.Id), similar.Select(s => s.GetProperty("filename").GetString()));
        for (var i = 0; i < stored.Length; i++)
        {
            var other = Store.Song(stored[i].Id);
            Assert.Equal(other.Name, similar[i].GetProperty("songname").GetString());
            Assert.Equal(stored[i].Similarity, similar[i].GetProperty("similarity").GetDouble(), 6);
            Assert.Equal(other.Instruments.Length, similar[i].GetProperty("num_of_inst").GetInt32());
            Assert.Equal(other.Instruments, similar[i].GetProperty("instrument_code").EnumerateArray().Select(e => e.GetInt32()));
        }
    }

    [Fact]
    public async Task ShowSimilarSongs_IsTheSongPage()
    {
        var id = Store.Similar.Keys.Order(StringComparer.Ordinal).First();

        var html = await site.Client.GetStringAsync(new Uri("/show_similar_songs/" + id, UriKind.Relative));

        Assert.Contains(id, html, StringComparison.Ordinal);
        Assert.Contains("<table class=\"similar\">", html, StringComparison.Ordinal);
    }

    private int MostCommonInstrument() =>
        Enumerable.Range(0, 129).OrderByDescending(c => Store.Songs.Count(s => s.Instruments.Contains(c))).First();

    private void AssertFirstTen(JsonElement pairs, int code)
    {
        var expected = Store.Songs.Where(s => s.Instruments.Contains(code)).OrderBy(s => s.Id, StringComparer.Ordinal).Take(10).ToArray();
        var actual = pairs.EnumerateArray().Select(p => p.EnumerateArray().Select(e => e.GetString()).ToArray()).ToArray();
        Assert.Equal(expected.Select(s => new[] { s.Name, s.Id }), actual);
    }

    private void AssertSongRows(JsonElement rows, int code)
    {
        var expected = ApiTests.Sorted(Store.Songs.Where(s => s.Instruments.Contains(code)), "-instruments").Take(1000).ToArray();
        var actual = rows.EnumerateArray().ToArray();
        Assert.Equal(expected.Select(s => s.Id), actual.Select(r => r.GetProperty("filename").GetString()));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(["filename", "song_name", "num_of_inst", "num_of_simSongs"], actual[i].EnumerateObject().Select(p => p.Name));
            Assert.Equal(expected[i].Name, actual[i].GetProperty("song_name").GetString());
            Assert.Equal(expected[i].Instruments.Length, actual[i].GetProperty("num_of_inst").GetInt32());
            Assert.Equal(expected[i].SimilarCount ?? 0, actual[i].GetProperty("num_of_simSongs").GetInt32());
        }
    }
}
