using System.Net;
using System.Text.RegularExpressions;
using Scale.Midi;
using Scale.Web.Tests.Infrastructure;

namespace Scale.Web.Tests;

/// <summary>The server-rendered pages: what they show, checked against the store's truth, and the headers every response carries.</summary>
[Collection(SharedSite.Name)]
public partial class PageTests(SiteFixture site)
{
    private StoreFixture Store => site.Store;

    [Fact]
    public async Task Home_EveryInstrumentIsACheckbox_GroupedByFamily()
    {
        var html = await GetHtmlAsync("/");

        Assert.Equal(129, CheckboxRegex().Count(html));
        Assert.Equal(17, html.Split("<fieldset class=\"family\">").Length - 1);
        Assert.Contains("<legend>Pipe</legend>", html, StringComparison.Ordinal);
        Assert.Contains("Drum Kit", html, StringComparison.Ordinal);
        Assert.Contains("id=\"instrument-finder\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Home_WithInstruments_TotalsAndRowsOfSongsUsingAllOfThem_NamesSorted()
    {
        var codes = Enumerable.Range(0, 129).OrderByDescending(c => Store.Songs.Count(s => s.Instruments.Contains(c))).Take(2).ToArray();
        var expected = ApiTests.Sorted(Store.Songs.Where(s => s.Uses(codes)), "name").ToArray();

        var html = await GetHtmlAsync($"/?instrument={codes[0]}&instrument={codes[1]}&sort=name");

        Assert.Contains($"<strong id=\"total\">{expected.Length:N0}</strong>", html, StringComparison.Ordinal);
        foreach (var code in codes)
        {
            Assert.Matches($"value=\"{code}\" checked", html);
        }

        var rows = SongLinkRegex().Matches(html).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(expected.Take(50).Select(s => s.Id), rows);
        Assert.Contains("aria-sort=\"ascending\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Home_Pagination_LinksToTheNextPage()
    {
        var html = await GetHtmlAsync("/?pageSize=10");

        var pages = (Store.Songs.Count + 9) / 10;
        Assert.Contains($"Page 1 of {pages}", html, StringComparison.Ordinal);
        Assert.Contains("href=\"/?page=2&amp;pageSize=10\"", html, StringComparison.Ordinal);
        var second = await GetHtmlAsync("/?page=2&pageSize=10");
        var expected = ApiTests.Sorted(Store.Songs, "-instruments").Skip(10).Take(10).Select(s => s.Id);
        Assert.Equal(expected, SongLinkRegex().Matches(second).Select(m => m.Groups[1].Value));
    }

    [Fact]
    public async Task SongPage_SimilarSongs_SharedInstrumentsMarked()
    {
        var (id, truth) = Store.Similar.Where(p => p.Value.Count > StoreFixture.Settings.TopK).OrderBy(p => p.Key, StringComparer.Ordinal).First();
        var song = Store.Song(id);

        var html = await GetHtmlAsync($"/songs/{id}");

        var text = WebUtility.HtmlDecode(html);
        Assert.Contains(song.Name, text, StringComparison.Ordinal);
        Assert.Contains($"<code id=\"song-id\">{id}</code>", html, StringComparison.Ordinal);
        foreach (var code in song.Instruments)
        {
            Assert.Contains(GeneralMidi.InstrumentName(code), text, StringComparison.Ordinal);
        }

        Assert.Contains($"<strong>{truth.Count:N0}</strong>", html, StringComparison.Ordinal);
        var table = html[html.IndexOf("<table class=\"similar\">", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("</table>", StringComparison.Ordinal)];
        var rows = table.Split("<tr>").Skip(2).ToArray();
        var stored = truth.Take(StoreFixture.Settings.TopK).ToArray();
        Assert.Equal(stored.Length, rows.Length);
        for (var i = 0; i < stored.Length; i++)
        {
            var other = Store.Song(stored[i].Id);
            Assert.Contains($"href=\"/songs/{other.Id}\"", rows[i], StringComparison.Ordinal);
            var marked = MarkRegex().Matches(rows[i]).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).ToArray();
            var shared = song.Instruments.Intersect(other.Instruments).Select(GeneralMidi.InstrumentName);
            Assert.Equal(shared.Order(StringComparer.Ordinal), marked.Order(StringComparer.Ordinal));
            Assert.Equal(stored[i].Shared, marked.Length);
            Assert.Contains(stored[i].Similarity.ToString("F3", System.Globalization.CultureInfo.InvariantCulture), rows[i], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SongPage_NotEligible_SaysWhy()
    {
        var lonely = Store.Songs.First(s => s.Instruments.Length < StoreFixture.Settings.MinInstruments);

        var html = await GetHtmlAsync($"/songs/{lonely.Id}");

        Assert.Contains("need at least 3 instruments", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InstrumentsPage_TwoSvgCharts_WithTheCounts()
    {
        var html = await GetHtmlAsync("/instruments");

        Assert.Equal(2, html.Split("<svg ").Length - 1);
        var most = Enumerable.Range(0, 129).OrderByDescending(c => Store.Songs.Count(s => s.Instruments.Contains(c))).First();
        var count = Store.Songs.Count(s => s.Instruments.Contains(most));
        Assert.Contains($"<title>{GeneralMidi.InstrumentName(most)}: {count:N0}</title>", WebUtility.HtmlDecode(html), StringComparison.Ordinal);
        var byCount = Store.Songs.GroupBy(s => s.Instruments.Length).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (instruments, songs) in byCount)
        {
            Assert.Contains($"<title>{instruments} instruments: {songs:N0} songs</title>", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RunsPage_ExtractionAndSimilarityRuns_InvalidFilesByReason()
    {
        var html = await GetHtmlAsync("/runs");

        Assert.Contains("<span class=\"status completed\">completed</span>", html, StringComparison.Ordinal);
        Assert.Contains("<h2 id=\"similarity\">", html, StringComparison.Ordinal);
        Assert.Contains("jaccard", html, StringComparison.Ordinal);
        var reasons = Store.Scalar("SELECT COUNT(DISTINCT reason_code) FROM invalid_files");
        Assert.True(reasons > 0, "the corpus has damaged files");
        var table = html[html.IndexOf("<table class=\"reasons\">", StringComparison.Ordinal)..];
        Assert.Equal(reasons, table[..table.IndexOf("</table>", StringComparison.Ordinal)].Split("<tr>").Length - 2);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/instruments")]
    [InlineData("/runs")]
    [InlineData("/api/instruments")]
    [InlineData("/api/songs")]
    [InlineData("/test_db")]
    [InlineData("/load_index")]
    [InlineData("/healthz")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/static/site.css")]
    [InlineData("/nothing-here")]
    public async Task EveryResponse_CarriesTheSecurityHeaders(string url)
    {
        using var response = await site.Client.GetAsync(new Uri(url, UriKind.Relative));

        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("http", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pages_LoadNothingFromOtherHosts_AndNoInlineScriptOrStyle()
    {
        var id = Store.Similar.Keys.Order(StringComparer.Ordinal).First();
        foreach (var url in new[] { "/", "/instruments", "/runs", $"/songs/{id}" })
        {
            var html = await GetHtmlAsync(url);
            Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
            Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<style", html, StringComparison.Ordinal);
            Assert.DoesNotContain(" style=", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task StaticAssets_CachedAndRevalidated()
    {
        var html = await GetHtmlAsync("/");
        var css = Regex.Match(html, "href=\"(/static/site.css\\?v=[0-9a-f]+)\"").Groups[1].Value;

        using var first = await site.Client.GetAsync(new Uri(css, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("text/css", first.Content.Headers.ContentType?.MediaType);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(css, UriKind.Relative));
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var second = await site.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Theory]
    [InlineData("/", "text/html")]
    [InlineData("/instruments", "text/html")]
    [InlineData("/api/songs?pageSize=5", "application/json")]
    [InlineData("/healthz", "application/json")]
    public async Task Head_AnyGetRoute_SameStatusAndTypeWithoutABody(string url, string type)
    {
        using var client = site.BrowserClient();
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(url, UriKind.Relative)));
        var body = await head.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(type, head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(body);
        Assert.True(head.Headers.Contains("X-Content-Type-Options"));
    }

    [Fact]
    public async Task Head_UnknownSong_404LikeGet()
    {
        using var client = site.BrowserClient();
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/songs/" + new string('0', 32), UriKind.Relative)));

        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    private async Task<string> GetHtmlAsync(string url)
    {
        using var client = site.BrowserClient();
        using var response = await client.GetAsync(new Uri(url, UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {url}: {(int)response.StatusCode} {html}");
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        return html;
    }

    [GeneratedRegex("<input type=\"checkbox\" name=\"instrument\" value=\"\\d+\"")]
    private static partial Regex CheckboxRegex();

    [GeneratedRegex("<a href=\"/songs/([0-9a-f]{32})\" class=\"song\">")]
    private static partial Regex SongLinkRegex();

    [GeneratedRegex("<mark class=\"shared\">([^<]*)</mark>")]
    private static partial Regex MarkRegex();
}
