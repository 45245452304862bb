using System.Globalization;
using Scale.Midi;
using Scale.Store;
using Scale.Web.Catalog;

namespace Scale.Web.Pages;

/// <summary>
/// A song: what is stored about it, its instruments by family, and a page of its similar songs with the
/// instruments both songs play marked (&lt;mark class="shared"&gt;).
/// </summary>
internal static class SongPage
{
    public const int PageSize = 25;

    public static string Render(CatalogSnapshot snapshot, SongDetails song, SimilarPage similar, int page)
    {
        return Layout.Render(song.Name, string.Empty, snapshot, html =>
        {
            html.Raw("<p class=\"crumbs\"><a href=\"/\">Songs</a> ›</p>");
            html.Element("h1", song.Name);
            RenderFacts(html, song);
            RenderInstruments(html, song.Instruments);
            RenderSimilar(html, snapshot, song, similar, page);
        });
    }

    private static void RenderFacts(Html html, SongDetails song)
    {
        html.Raw("<dl class=\"facts\">");
        html.Raw("<dt>Id</dt><dd><code id=\"song-id\">").Text(song.Id).Raw("</code></dd>");
        if (!string.IsNullOrEmpty(song.Title) && song.Title != song.Name)
        {
            html.Raw("<dt>Title in the file</dt><dd>").Text(song.Title).Raw("</dd>");
        }

        html.Raw("<dt>Length</dt><dd>");
        if (song.Seconds is { } seconds)
        {
            var time = TimeSpan.FromSeconds(seconds);
            html.Text(time.ToString(time.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture));
        }
        else
        {
            html.Raw("unknown (SMPTE or no tempo)");
        }

        html.Raw(" · ").Text(song.Ticks).Raw(" ticks</dd>");
        html.Raw("<dt>File</dt><dd>MIDI format ").Text(song.Format).Raw(", ").Text(song.Tracks).Raw(song.Tracks == 1 ? " track" : " tracks")
            .Raw(", ").Text(song.Division).Raw(" ticks per quarter, ").Text(song.NoteCount).Raw(" notes, ").Text(song.Bytes).Raw(" bytes</dd>");
        if (song.Warnings.Count > 0)
        {
            html.Raw("<dt>Warnings</dt><dd>").Text(string.Join(", ", song.Warnings)).Raw("</dd>");
        }

        html.Raw("</dl>");
    }

    private static void RenderInstruments(Html html, InstrumentSet instruments)
    {
        html.Raw("<h2>Instruments (").Text(instruments.Count).Raw(")</h2><ul class=\"song-instruments\">");
        foreach (var code in instruments.ToArray())
        {
            html.Raw("<li>").Link(Links.Instrument(code), GeneralMidi.InstrumentName(code))
                .Raw(" <span class=\"family\">").Text(GeneralMidi.FamilyName(GeneralMidi.FamilyOf(code))).Raw("</span></li>");
        }

        html.Raw("</ul>");
    }

    private static void RenderSimilar(Html html, CatalogSnapshot snapshot, SongDetails song, SimilarPage similar, int page)
    {
        html.Raw("<h2 id=\"similar\">Similar songs</h2>");
        var settings = snapshot.LastSimilarityRun?.Settings;
        if (similar.Stored == 0)
        {
            html.Raw("<p class=\"empty\">");
            if (song.SimilarCount is null && settings is not null && song.Instruments.Count < settings.MinInstruments)
            {
                html.Raw("Songs need at least ").Text(settings.MinInstruments).Raw(" instruments to be compared; this one has ").Text(song.Instruments.Count).Raw(".");
            }
            else if (settings is null)
            {
                html.Raw("Similar songs have not been computed yet (<code>scale similar</code>).");
            }
            else
            {
                html.Raw("No song reaches the similarity threshold (").Text(settings.Threshold, 2).Raw(").");
            }

            html.Raw("</p>");
            return;
        }

        html.Raw("<p class=\"totals\"><strong>").Text(similar.Total).Raw("</strong>").Raw(similar.Total == 1 ? " song has" : " songs have")
            .Raw(" a similarity");
        if (settings is not null)
        {
            html.Raw(" (").Text(settings.Measure).Raw(") of at least ").Text(settings.Threshold, 2);
        }

        html.Raw(" with this one");
        if (similar.Stored < similar.Total)
        {
            html.Raw("; the ").Text(similar.Stored).Raw(" most similar are listed");
        }

        html.Raw(". Instruments both songs play are <mark class=\"shared\">marked</mark>.</p>");
        if (similar.Items.Count == 0)
        {
            html.Raw("<p>This page is past the end: ").Link(Links.Song(song.Id) + "#similar", "back to page 1").Raw(".</p>");
            return;
        }

        html.Raw("<table class=\"similar\"><thead><tr><th scope=\"col\" class=\"num\">#</th><th scope=\"col\">Song</th>")
            .Raw("<th scope=\"col\" class=\"num\">Similarity</th><th scope=\"col\" class=\"num\">Instruments</th>")
            .Raw("<th scope=\"col\" class=\"num\">Shared</th><th scope=\"col\">Instrument list</th></tr></thead><tbody>");
        foreach (var item in similar.Items)
        {
            html.Raw("<tr><td class=\"num\">").Text(item.Rank).Raw("</td><td>").Link(Links.Song(item.Id), item.Name, "song")
                .Raw("</td><td class=\"num\">").Raw(Format.Similarity(item.Similarity))
                .Raw("</td><td class=\"num\">").Text(item.Instruments.Count)
                .Raw("</td><td class=\"num\">").Text(item.Shared)
                .Raw("</td><td><ul class=\"instrument-list\">");
            foreach (var code in item.Instruments.ToArray())
            {
                var name = GeneralMidi.InstrumentName(code);
                if (song.Instruments.Contains(code))
                {
                    html.Raw("<li><mark class=\"shared\">").Text(name).Raw("</mark></li>");
                }
                else
                {
                    html.Raw("<li>").Text(name).Raw("</li>");
                }
            }

            html.Raw("</ul></td></tr>");
        }

        html.Raw("</tbody></table>");
        Pagination.Render(html, page, PageSize, similar.Stored, p => Links.SongPage(song.Id, p) + "#similar");
    }
}
