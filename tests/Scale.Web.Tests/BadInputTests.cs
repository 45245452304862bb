using System.Net;
using System.Text;
using System.Text.Json;
using Scale.Web.Tests.Infrastructure;

namespace Scale.Web.Tests;

/// <summary>
/// Malformed and hostile input: 400 with problem details for malformed parameters, 404 for what does not exist, an
/// empty result where the input is merely unusual, and never a 500 or a stack trace; the data stays intact.
/// </summary>
[Collection(SharedSite.Name)]
public class BadInputTests(SiteFixture site)
{
    /// <summary>Classic injection payloads, and markup that must come back encoded.</summary>
    public static readonly string[] Hostile =
    [
        "' OR '1'='1",
        "1; DROP TABLE songs; --",
        "73' --",
        "\" OR 1=1 --",
        "1) UNION SELECT id, name FROM songs --",
        "'; DELETE FROM song_instruments WHERE '1'='1",
        "<script>alert(1)</script>",
        "%00",
        "../../etc/passwd",
        "73 OR 1=1",
        "-1",
        "1e3",
        "ﾟ∀ﾟ",
    ];

    public static TheoryData<string, HttpStatusCode> MalformedApiRequests => new()
    {
        { "/api/songs?instrument=abc", HttpStatusCode.BadRequest },
        { "/api/songs?instrument=129", HttpStatusCode.BadRequest },
        { "/api/songs?instrument=-1", HttpStatusCode.BadRequest },
        { "/api/songs?instrument=7.5", HttpStatusCode.BadRequest },
        { "/api/songs?instrument=99999999999999999999", HttpStatusCode.BadRequest },
        { "/api/songs?page=0", HttpStatusCode.BadRequest },
        { "/api/songs?page=-3", HttpStatusCode.BadRequest },
        { "/api/songs?page=two", HttpStatusCode.BadRequest },
        { "/api/songs?page=1000001", HttpStatusCode.BadRequest },
        { "/api/songs?pageSize=0", HttpStatusCode.BadRequest },
        { "/api/songs?pageSize=x", HttpStatusCode.BadRequest },
        { "/api/songs?sort=loudness", HttpStatusCode.BadRequest },
        { "/api/songs?sort=name&sort=-name", HttpStatusCode.BadRequest },
        { "/api/songs?q=" + new string('a', 201), HttpStatusCode.BadRequest },
        { "/api/songs/not-an-id", HttpStatusCode.BadRequest },
        { "/api/songs/0123456789abcdef0123456789abcdeg", HttpStatusCode.BadRequest },
        { "/api/songs/0123456789abcdef0123456789abcdef0", HttpStatusCode.BadRequest },
        { "/api/songs/0123456789abcdef0123456789abcdef", HttpStatusCode.NotFound },
        { "/api/songs/0123456789abcdef0123456789abcdef/similar", HttpStatusCode.NotFound },
        { "/api/songs/xyz/similar", HttpStatusCode.BadRequest },
        { "/api/instruments/129", HttpStatusCode.NotFound },
        { "/api/instruments/flute", HttpStatusCode.BadRequest },
        { "/api/nothing-here", HttpStatusCode.NotFound },
        { "/get_similar_songs", HttpStatusCode.BadRequest },
        { "/get_similar_songs?filename=nope", HttpStatusCode.BadRequest },
        { "/get_similar_songs?filename=0123456789abcdef0123456789abcdef", HttpStatusCode.NotFound },
        { "/get_songs_for_instruments?instruments=200", HttpStatusCode.BadRequest },
        { "/get_songs_for_instruments", HttpStatusCode.BadRequest },
    };

    [Theory]
    [MemberData(nameof(MalformedApiRequests))]
    public async Task Api_MalformedOrUnknown_ProblemDetails(string url, HttpStatusCode expected)
    {
        using var response = await site.Client.GetAsync(new Uri(url, UriKind.Relative));

        Assert.Equal(expected, response.StatusCode);
        await AssertProblemAsync(response, (int)expected);
    }

    [Theory]
    [InlineData("/api/songs/{0}/similar?page=0")]
    [InlineData("/api/songs/{0}/similar?pageSize=-1")]
    [InlineData("/api/songs/{0}/similar?page=abc")]
    public async Task Similar_BadPaging_400(string template)
    {
        var url = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, site.Store.Songs[0].Id);

        using var response = await site.Client.GetAsync(new Uri(url, UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertProblemAsync(response, 400);
    }

    [Theory]
    [InlineData("/?instrument=abc", HttpStatusCode.BadRequest)]
    [InlineData("/?page=0", HttpStatusCode.BadRequest)]
    [InlineData("/?sort=random", HttpStatusCode.BadRequest)]
    [InlineData("/songs/nope", HttpStatusCode.BadRequest)]
    [InlineData("/songs/0123456789abcdef0123456789abcdef", HttpStatusCode.NotFound)]
    [InlineData("/show_similar_songs/0123456789abcdef0123456789abcdef", HttpStatusCode.NotFound)]
    [InlineData("/no/such/page", HttpStatusCode.NotFound)]
    public async Task Pages_BadInput_FriendlyHtmlPage(string url, HttpStatusCode expected)
    {
        using var client = site.BrowserClient();
        using var response = await client.GetAsync(new Uri(url, UriKind.Relative));

        Assert.Equal(expected, response.StatusCode);
        Assert.StartsWith("text/html", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<h1>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongMethod_405_NotA500()
    {
        using var response = await site.Client.PostAsync(new Uri("/api/songs", UriKind.Relative), new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        await AssertProblemAsync(response, 405);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"instruments\": {\"a\": 1}}")]
    [InlineData("{\"instruments\": \"flute\"}")]
    [InlineData("{\"instruments\": \"129\"}")]
    [InlineData("{\"other\": \"73\"}")]
    [InlineData("{\"instruments\": \"\"}")]
    public async Task LegacyPost_MalformedBody_400(string body)
    {
        using var response = await site.Client.PostAsync(
            new Uri("/get_songs_for_instruments", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertProblemAsync(response, 400);
    }

    /// <summary>Every parameter of every route gets every hostile string; none may answer 500, and the store must not change.</summary>
    [Fact]
    public async Task Injection_EveryParameterOfEveryRoute_NoServerErrorAndDataIntact()
    {
        var songsBefore = site.Store.Scalar("SELECT COUNT(*) FROM songs");
        var rowsBefore = site.Store.Scalar("SELECT COUNT(*) FROM song_instruments");
        var id = site.Store.Songs[0].Id;
        var failures = new List<string>();
        using var browser = site.BrowserClient();
        foreach (var hostile in Hostile)
        {
            var e = Uri.EscapeDataString(hostile);
            var urls = new[]
            {
                $"/api/songs?instrument={e}", $"/api/songs?q={e}", $"/api/songs?sort={e}", $"/api/songs?page={e}", $"/api/songs?pageSize={e}",
                $"/api/songs/{e}", $"/api/songs/{e}/similar", $"/api/songs/{id}/similar?page={e}", $"/api/songs/{id}/similar?pageSize={e}",
                $"/api/instruments/{e}", $"/get_similar_songs?filename={e}", $"/show_similar_songs/{e}", $"/get_songs_for_instruments?instruments={e}",
                $"/?instrument={e}", $"/?q={e}", $"/?sort={e}", $"/?page={e}", $"/songs/{e}", $"/songs/{id}?page={e}",
            };
            foreach (var url in urls)
            {
                foreach (var client in new[] { site.Client, browser })
                {
                    using var response = await client.GetAsync(new Uri(url, UriKind.Relative));
                    var body = await response.Content.ReadAsStringAsync();
                    // Echoed input is harmless in JSON (served with nosniff); in HTML it must be encoded.
                    var isHtml = response.Content.Headers.ContentType?.MediaType == "text/html";
                    if ((int)response.StatusCode >= 500 || body.Contains("   at ", StringComparison.Ordinal) || (isHtml && body.Contains("<script>alert", StringComparison.Ordinal)))
                    {
                        failures.Add($"{url} -> {(int)response.StatusCode}");
                    }
                }
            }

            foreach (var body in new[] { JsonSerializer.Serialize(new { instruments = hostile }), "{\"instruments\": " + hostile + "}" })
            {
                using var response = await site.Client.PostAsync(new Uri("/get_songs_for_instruments", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
                if ((int)response.StatusCode >= 500)
                {
                    failures.Add($"POST {body} -> {(int)response.StatusCode}");
                }
            }

            using var form = await site.Client.PostAsync(new Uri("/get_songs_for_instruments", UriKind.Relative), new FormUrlEncodedContent([new("instruments", hostile)]));
            if ((int)form.StatusCode >= 500)
            {
                failures.Add($"POST form {hostile} -> {(int)form.StatusCode}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(songsBefore, site.Store.Scalar("SELECT COUNT(*) FROM songs"));
        Assert.Equal(rowsBefore, site.Store.Scalar("SELECT COUNT(*) FROM song_instruments"));
    }

    [Fact]
    public async Task Injection_InTheNameFilter_IsJustText_NoMatchesAndEncodedInThePage()
    {
        foreach (var hostile in Hostile.Where(h => h.Contains('\'', StringComparison.Ordinal) || h.Contains('<', StringComparison.Ordinal)))
        {
            var expected = site.Store.Songs.Count(s => s.Name.Contains(hostile, StringComparison.OrdinalIgnoreCase));
            using var json = JsonDocument.Parse(await site.Client.GetStringAsync(new Uri("/api/songs?q=" + Uri.EscapeDataString(hostile), UriKind.Relative)));
            Assert.Equal(expected, json.RootElement.GetProperty("total").GetInt32());

            var html = await site.Client.GetStringAsync(new Uri("/?q=" + Uri.EscapeDataString(hostile), UriKind.Relative));
            Assert.DoesNotContain(hostile, html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task OversizedBody_RefusedNot500()
    {
        var body = "{\"instruments\": \"" + new string('7', 200_000) + "\"}";

        using var response = await site.Client.PostAsync(new Uri("/get_songs_for_instruments", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.InRange((int)response.StatusCode, 400, 499);
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, int status)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        Assert.Equal(status, json.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("title").GetString()));
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
    }
}
