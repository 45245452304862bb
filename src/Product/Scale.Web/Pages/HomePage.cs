using System.Globalization;
using System.Runtime.CompilerServices;
using Scale.Midi;
using Scale.Web.Catalog;
using Scale.Web.Http;

namespace Scale.Web.Pages;

/// <summary>
/// The home page: an instrument picker (a plain form of checkboxes, grouped by family; a script adds a search box)
/// and the songs that use all the chosen instruments, sortable by each column, filtered by name, paginated.
/// </summary>
internal static class HomePage
{
    private static readonly ConditionalWeakTable<SongCatalog, (string Before, string After)[]> Pickers = [];

    public static string Render(CatalogSnapshot snapshot, SongListRequest request)
    {
        var songs = snapshot.Songs;
        var page = songs.Query(request.Instruments, request.NameContains, request.Sort, request.Offset, request.PageSize);
        var chosen = request.Instruments.ToArray();
        var title = chosen.Length == 0 ? "Songs" : "Songs with " + string.Join(", ", chosen.Select(GeneralMidi.InstrumentName));
        return Layout.Render(title, "/", snapshot, html =>
        {
            html.Raw("<h1>Find songs by the instruments they play</h1>");
            RenderForm(html, songs, request, chosen);
            RenderTotals(html, songs, request, page, chosen);
            if (page.Indexes.Length > 0)
            {
                RenderTable(html, songs, request, page);
                Pagination.Render(html, request.Page, request.PageSize, page.Total, p => Links.Home(request.Instruments, request.NameContains, request.Sort, p, request.PageSize));
            }
        });
    }

    private static void RenderForm(Html html, SongCatalog songs, SongListRequest request, int[] chosen)
    {
        html.Raw("<form class=\"search\" method=\"get\" action=\"/\">");
        html.Raw("<details class=\"picker\"").Raw(chosen.Length == 0 ? " open" : string.Empty).Raw("><summary>Instruments")
            .Raw(chosen.Length == 0 ? ": choose one or more" : ": " + chosen.Length.ToString(CultureInfo.InvariantCulture) + " chosen (change)")
            .Raw("</summary>");
        html.Raw("<p class=\"finder\" hidden><label>Find an instrument <input type=\"search\" id=\"instrument-finder\" autocomplete=\"off\" placeholder=\"e.g. flute, guitar, pad\"></label></p>");
        html.Raw("<div class=\"families\">");
        var picker = Pickers.GetValue(songs, BuildPicker);
        for (var code = 0; code < GeneralMidi.InstrumentCount; code++)
        {
            html.Raw(picker[code].Before).Raw(request.Instruments.Contains(code) ? " checked" : string.Empty).Raw(picker[code].After);
        }

        html.Raw("</div></details>");
        html.Raw("<p class=\"controls\"><label>Name contains <input type=\"search\" name=\"q\" maxlength=\"")
            .Raw(RequestParsing.MaxNameFilterLength.ToString(CultureInfo.InvariantCulture)).Raw("\"")
            .Attribute("value", request.NameContains ?? string.Empty).Raw("></label> ");
        if (request.Sort != SongSorts.Default)
        {
            html.Raw("<input type=\"hidden\" name=\"sort\"").Attribute("value", SongSorts.ToQueryValue(request.Sort)).Raw(">");
        }

        html.Raw("<button type=\"submit\">Show songs</button> <a href=\"/\">Clear</a></p></form>");
    }

    /// <summary>
    /// The picker's markup around each checkbox's "checked" (family headings, names, song counts) depends only on the
    /// catalogue: built once per data version, so a page spends its time on its own rows.
    /// </summary>
    private static (string Before, string After)[] BuildPicker(SongCatalog songs)
    {
        var counts = songs.SongsPerInstrument;
        var picker = new (string Before, string After)[GeneralMidi.InstrumentCount];
        for (var code = 0; code < picker.Length; code++)
        {
            var family = GeneralMidi.FamilyOf(code);
            var before = new Html();
            if (code == 0 || family != GeneralMidi.FamilyOf(code - 1))
            {
                before.Raw(code == 0 ? string.Empty : "</fieldset>")
                    .Raw("<fieldset class=\"family\"><legend>").Text(GeneralMidi.FamilyName(family)).Raw("</legend>");
            }

            before.Raw("<label class=\"instrument\"><input type=\"checkbox\" name=\"instrument\"")
                .Attribute("value", code.ToString(CultureInfo.InvariantCulture));
            var after = new Html().Raw("> ").Text(GeneralMidi.InstrumentName(code))
                .Raw(" <span class=\"count\">").Text(counts[code]).Raw("</span></label>")
                .Raw(code == GeneralMidi.InstrumentCount - 1 ? "</fieldset>" : string.Empty);
            picker[code] = (before.ToString(), after.ToString());
        }

        return picker;
    }

    private static void RenderTotals(Html html, SongCatalog songs, SongListRequest request, SongMatches page, int[] chosen)
    {
        html.Raw("<p class=\"totals\"><strong id=\"total\">").Text(page.Total).Raw("</strong> of ").Text(songs.Count).Raw(" songs");
        if (chosen.Length > 0)
        {
            html.Raw(" use ").Raw(chosen.Length == 1 ? string.Empty : "all of ");
            for (var i = 0; i < chosen.Length; i++)
            {
                html.Raw(i == 0 ? string.Empty : ", ");
                var without = request.Instruments.ToArray().Where(c => c != chosen[i]);
                html.Raw("<span class=\"chosen\">").Text(GeneralMidi.InstrumentName(chosen[i]))
                    .Raw(" <a class=\"remove\" title=\"Remove\"")
                    .Attribute("href", Links.Home(InstrumentSet.Of(without), request.NameContains, request.Sort, 1, request.PageSize))
                    .Raw(">×</a></span>");
            }
        }

        if (request.NameContains is not null)
        {
            html.Raw(chosen.Length > 0 ? " and" : string.Empty).Raw(" have “").Text(request.NameContains).Raw("” in their name");
        }

        html.Raw(".</p>");
        if (page.Total > 0 && page.Indexes.Length == 0)
        {
            html.Raw("<p>This page is past the end: ").Link(Links.Home(request.Instruments, request.NameContains, request.Sort, 1, request.PageSize), "back to page 1").Raw(".</p>");
        }
    }

    private static void RenderTable(Html html, SongCatalog songs, SongListRequest request, SongMatches page)
    {
        html.Raw("<table class=\"songs\"><thead><tr>");
        SortableHeader(html, request, "name", "Song", numeric: false);
        SortableHeader(html, request, "instruments", "Instruments", numeric: true);
        SortableHeader(html, request, "similar", "Similar songs", numeric: true);
        html.Raw("<th scope=\"col\"><span class=\"visually-hidden\">Link</span></th></tr></thead><tbody>");
        foreach (var index in page.Indexes)
        {
            var id = songs.IdAt(index);
            html.Raw("<tr><td>").Link(Links.Song(id), songs.NameAt(index), "song")
                .Raw("</td><td class=\"num\">").Text(songs.InstrumentsAt(index).Count)
                .Raw("</td><td class=\"num\">");
            if (songs.SimilarCountAt(index) is { } similar)
            {
                html.Text(similar);
            }
            else
            {
                html.Raw("<span class=\"none\" title=\"Similarity not computed (fewer instruments than the minimum, or not run yet)\">–</span>");
            }

            html.Raw("</td><td>").Link(Links.Song(id), "Similar songs →").Raw("</td></tr>");
        }

        html.Raw("</tbody></table>");
    }

    /// <summary>A column header that sorts by its column; a second click reverses the order.</summary>
    private static void SortableHeader(Html html, SongListRequest request, string column, string label, bool numeric)
    {
        var active = SongSorts.Column(request.Sort) == column;
        var descending = SongSorts.IsDescending(request.Sort);
        // First click: names A to Z, numbers largest first (what people look for); clicking again reverses it.
        var next = active ? (descending ? column : "-" + column) : (numeric ? "-" + column : column);
        var nextSort = SongSorts.TryParse(next, out var parsed) ? parsed : SongSorts.Default;
        html.Raw("<th scope=\"col\"").Raw(numeric ? " class=\"num\"" : string.Empty);
        if (active)
        {
            html.Raw(descending ? " aria-sort=\"descending\"" : " aria-sort=\"ascending\"");
        }

        html.Raw("><a").Attribute("href", Links.Home(request.Instruments, request.NameContains, nextSort, 1, request.PageSize)).Raw(">")
            .Text(label).Raw(active ? (descending ? " ▼" : " ▲") : string.Empty).Raw("</a></th>");
    }
}

/// <summary>First / previous / "page n of m" / next / last links.</summary>
internal static class Pagination
{
    public static void Render(Html html, int page, int pageSize, int total, Func<int, string> link)
    {
        var pages = Math.Max(1, (int)(((long)total + pageSize - 1) / pageSize));
        if (pages == 1)
        {
            return;
        }

        html.Raw("<nav class=\"pages\" aria-label=\"Pages\">");
        if (page > 1)
        {
            html.Link(link(1), "« First").Raw(" ").Link(link(Math.Min(page - 1, pages)), "‹ Previous").Raw(" ");
        }

        html.Raw("<span>Page ").Text(page).Raw(" of ").Text(pages).Raw("</span>");
        if (page < pages)
        {
            html.Raw(" ").Link(link(page + 1), "Next ›").Raw(" ").Link(link(pages), "Last »");
        }

        html.Raw("</nav>");
    }
}
