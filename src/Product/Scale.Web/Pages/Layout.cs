using System.Globalization;
using System.Text;
using Scale.Midi;
using Scale.Web.Catalog;

namespace Scale.Web.Pages;

/// <summary>The frame every page shares: head (own CSS and script only), navigation, footer with the data version.</summary>
internal static class Layout
{
    public static string Render(string title, string current, CatalogSnapshot? snapshot, Action<Html> body)
    {
        var html = new Html();
        html.Raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Raw("<title>").Text(title).Raw(" · Scale</title>")
            // An empty icon: browsers otherwise ask for /favicon.ico on every page.
            .Raw("<link rel=\"icon\" href=\"data:,\">")
            .Raw("<link rel=\"stylesheet\" href=\"").Raw(StaticAssets.CssPath).Raw("\">")
            .Raw("<script src=\"").Raw(StaticAssets.ScriptPath).Raw("\" defer></script>")
            .Raw("</head><body><header class=\"site\"><nav>")
            .Raw("<a class=\"brand\" href=\"/\">Scale</a>");
        NavLink(html, "/", "Songs", current);
        NavLink(html, "/instruments", "Instruments", current);
        NavLink(html, "/runs", "Runs", current);
        NavLink(html, "/openapi/v1.json", "API", current);
        html.Raw("</nav></header><main>");
        body(html);
        html.Raw("</main><footer class=\"site\">");
        if (snapshot is not null)
        {
            html.Text(snapshot.Songs.Count).Raw(" songs · data version ").Element("code", snapshot.Songs.DataVersion)
                .Raw(" · loaded ").Text(Format.Time(snapshot.Songs.LoadedAt));
        }

        html.Raw("</footer></body></html>");
        return html.ToString();
    }

    private static void NavLink(Html html, string href, string text, string current)
    {
        html.Raw("<a");
        html.Attribute("href", href);
        if (href == current)
        {
            html.Raw(" aria-current=\"page\"");
        }

        html.Raw(">").Text(text).Raw("</a>");
    }
}

/// <summary>Links the pages build: query strings with escaped values, parameters left out when at their default.</summary>
internal static class Links
{
    public static string Home(InstrumentSet instruments, string? nameContains, SongSort sort, int page, int pageSize = Http.RequestParsing.DefaultPageSize)
    {
        var query = new StringBuilder("/");
        var separator = '?';
        void Add(string name, string value)
        {
            query.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }

        foreach (var code in instruments.ToArray())
        {
            Add("instrument", code.ToString(CultureInfo.InvariantCulture));
        }

        if (!string.IsNullOrEmpty(nameContains))
        {
            Add("q", nameContains);
        }

        if (sort != SongSorts.Default)
        {
            Add("sort", SongSorts.ToQueryValue(sort));
        }

        if (page > 1)
        {
            Add("page", page.ToString(CultureInfo.InvariantCulture));
        }

        if (pageSize != Http.RequestParsing.DefaultPageSize)
        {
            Add("pageSize", pageSize.ToString(CultureInfo.InvariantCulture));
        }

        return query.ToString();
    }

    public static string Instrument(int code) => "/?instrument=" + code.ToString(CultureInfo.InvariantCulture);

    public static string Song(string id) => "/songs/" + Uri.EscapeDataString(id);

    public static string SongPage(string id, int page) =>
        page > 1 ? Song(id) + "?page=" + page.ToString(CultureInfo.InvariantCulture) : Song(id);
}

/// <summary>How numbers and times read on the pages.</summary>
internal static class Format
{
    public static string Time(DateTimeOffset time) =>
        time == DateTimeOffset.MinValue ? "never" : time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Seconds(double seconds) => seconds.ToString(seconds < 10 ? "F2" : "F1", CultureInfo.InvariantCulture) + " s";

    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Similarity(double value) => value.ToString("F3", CultureInfo.InvariantCulture);

    public static string Megabytes(long bytes) => (bytes / 1e6).ToString("N1", CultureInfo.InvariantCulture) + " MB";
}
