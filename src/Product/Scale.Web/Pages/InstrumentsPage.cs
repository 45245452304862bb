using System.Globalization;
using System.Runtime.CompilerServices;
using Scale.Midi;
using Scale.Web.Catalog;

namespace Scale.Web.Pages;

/// <summary>
/// How many songs use each instrument and how many instruments songs have, as SVG bar charts drawn on the server
/// (no script, no chart library), each with its numbers in a table below.
/// </summary>
internal static class InstrumentsPage
{
    /// <summary>The page depends on the snapshot alone: rendered once per data version, not once per request.</summary>
    private static readonly ConditionalWeakTable<CatalogSnapshot, string> Rendered = [];

    public static string Render(CatalogSnapshot snapshot) => Rendered.GetValue(snapshot, RenderPage);

    private static string RenderPage(CatalogSnapshot snapshot)
    {
        var songs = snapshot.Songs;
        return Layout.Render("Instruments", "/instruments", snapshot, html =>
        {
            html.Raw("<h1>Instruments</h1>");
            var perInstrument = songs.SongsPerInstrument.ToArray();
            var used = perInstrument.Count(c => c > 0);
            html.Raw("<p>").Text(songs.Count).Raw(" songs; ").Text(used).Raw(" of the ").Text(GeneralMidi.InstrumentCount)
                .Raw(" instruments (128 General MIDI programs and the drum kit) appear in at least one.</p>");

            html.Raw("<h2 id=\"songs-per-instrument\">Songs per instrument</h2>");
            var bars = Enumerable.Range(0, GeneralMidi.InstrumentCount)
                .Select(code => new Bar(GeneralMidi.InstrumentName(code), perInstrument[code], Links.Instrument(code)))
                .OrderByDescending(b => b.Value).ThenBy(b => b.Label, StringComparer.Ordinal)
                .ToArray();
            SvgChart.HorizontalBars(html, "Songs per instrument, most used first", bars);
            html.Raw("<details><summary>As a table</summary><table class=\"chart-data\"><thead><tr><th scope=\"col\" class=\"num\">Code</th>")
                .Raw("<th scope=\"col\">Instrument</th><th scope=\"col\">Family</th><th scope=\"col\" class=\"num\">Songs</th></tr></thead><tbody>");
            for (var code = 0; code < GeneralMidi.InstrumentCount; code++)
            {
                html.Raw("<tr><td class=\"num\">").Text(code).Raw("</td><td>").Link(Links.Instrument(code), GeneralMidi.InstrumentName(code))
                    .Raw("</td><td>").Text(GeneralMidi.FamilyName(GeneralMidi.FamilyOf(code)))
                    .Raw("</td><td class=\"num\">").Text(perInstrument[code]).Raw("</td></tr>");
            }

            html.Raw("</tbody></table></details>");

            html.Raw("<h2 id=\"instruments-per-song\">Instruments per song</h2>");
            var histogram = songs.SongsByInstrumentCount.ToArray();
            var last = Array.FindLastIndex(histogram, c => c > 0);
            var columns = Enumerable.Range(0, Math.Max(last + 1, 1))
                .Select(n => new Bar(n.ToString(CultureInfo.InvariantCulture), histogram[n], null))
                .ToArray();
            SvgChart.VerticalBars(html, "Songs by number of instruments", columns, "instruments", "songs");
            html.Raw("<details><summary>As a table</summary><table class=\"chart-data\"><thead><tr><th scope=\"col\" class=\"num\">Instruments</th>")
                .Raw("<th scope=\"col\" class=\"num\">Songs</th></tr></thead><tbody>");
            foreach (var column in columns)
            {
                html.Raw("<tr><td class=\"num\">").Text(column.Label).Raw("</td><td class=\"num\">").Text(column.Value).Raw("</td></tr>");
            }

            html.Raw("</tbody></table></details>");
        });
    }
}

/// <summary>One bar: its label, its value and where it links to (or nowhere).</summary>
internal readonly record struct Bar(string Label, long Value, string? Href);

/// <summary>Bar charts as inline SVG: sizes in attributes, colours in site.css, so the strict CSP holds.</summary>
internal static class SvgChart
{
    private const int LabelWidth = 200;
    private const int BarAreaWidth = 460;
    private const int ValueWidth = 80;
    private const int RowHeight = 18;

    public static void HorizontalBars(Html html, string title, IReadOnlyList<Bar> bars)
    {
        var max = Math.Max(1, bars.Count == 0 ? 1 : bars.Max(b => b.Value));
        var width = LabelWidth + BarAreaWidth + ValueWidth;
        var height = (bars.Count * RowHeight) + 4;
        html.Raw("<figure class=\"chart\"><svg class=\"bars\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\"")
            .Attribute("viewBox", $"0 0 {width} {height}").Attribute("width", N(width)).Attribute("height", N(height))
            .Raw("><title>").Text(title).Raw("</title>");
        for (var i = 0; i < bars.Count; i++)
        {
            var bar = bars[i];
            var y = (i * RowHeight) + 2;
            var length = bar.Value == 0 ? 0 : Math.Max(1, (int)Math.Round(BarAreaWidth * (double)bar.Value / max));
            html.Raw("<g>");
            if (bar.Href is not null)
            {
                html.Raw("<a").Attribute("href", bar.Href).Raw(">");
            }

            html.Raw("<text class=\"label\" text-anchor=\"end\"").Attribute("x", N(LabelWidth - 6)).Attribute("y", N(y + 12)).Raw(">").Text(bar.Label).Raw("</text>");
            if (bar.Href is not null)
            {
                html.Raw("</a>");
            }

            html.Raw("<rect class=\"bar\"").Attribute("x", N(LabelWidth)).Attribute("y", N(y + 2)).Attribute("width", N(length)).Attribute("height", N(RowHeight - 5))
                .Raw("><title>").Text(bar.Label).Raw(": ").Text(bar.Value).Raw("</title></rect>");
            html.Raw("<text class=\"value\"").Attribute("x", N(LabelWidth + length + 4)).Attribute("y", N(y + 12)).Raw(">").Text(bar.Value).Raw("</text></g>");
        }

        html.Raw("</svg><figcaption>").Text(title).Raw("</figcaption></figure>");
    }

    public static void VerticalBars(Html html, string title, IReadOnlyList<Bar> bars, string xAxis, string yAxis)
    {
        const int ChartHeight = 220;
        const int Left = 64;
        const int Bottom = 36;
        const int Top = 16;
        var max = Math.Max(1, bars.Count == 0 ? 1 : bars.Max(b => b.Value));
        var slot = Math.Clamp(720 / Math.Max(1, bars.Count), 6, 40);
        var width = Left + (slot * bars.Count) + 16;
        var height = Top + ChartHeight + Bottom;
        var labelEvery = bars.Count <= 30 ? 1 : 5;
        html.Raw("<figure class=\"chart\"><svg class=\"columns\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\"")
            .Attribute("viewBox", $"0 0 {width} {height}").Attribute("width", N(width)).Attribute("height", N(height))
            .Raw("><title>").Text(title).Raw("</title>");
        html.Raw("<line class=\"axis\"").Attribute("x1", N(Left)).Attribute("y1", N(Top + ChartHeight)).Attribute("x2", N(width - 8)).Attribute("y2", N(Top + ChartHeight)).Raw("/>");
        html.Raw("<text class=\"value\" text-anchor=\"end\"").Attribute("x", N(Left - 6)).Attribute("y", N(Top + 4)).Raw(">").Text(max).Raw("</text>");
        html.Raw("<text class=\"value\" text-anchor=\"end\"").Attribute("x", N(Left - 6)).Attribute("y", N(Top + ChartHeight)).Raw(">0</text>");
        for (var i = 0; i < bars.Count; i++)
        {
            var bar = bars[i];
            var length = bar.Value == 0 ? 0 : Math.Max(1, (int)Math.Round(ChartHeight * (double)bar.Value / max));
            var x = Left + (i * slot);
            html.Raw("<rect class=\"bar\"").Attribute("x", N(x + 1)).Attribute("y", N(Top + ChartHeight - length)).Attribute("width", N(slot - 2)).Attribute("height", N(length))
                .Raw("><title>").Text(bar.Label).Raw(" ").Text(xAxis).Raw(": ").Text(bar.Value).Raw(" ").Text(yAxis).Raw("</title></rect>");
            if (i % labelEvery == 0)
            {
                html.Raw("<text class=\"label\" text-anchor=\"middle\"").Attribute("x", N(x + (slot / 2))).Attribute("y", N(Top + ChartHeight + 14)).Raw(">").Text(bar.Label).Raw("</text>");
            }
        }

        html.Raw("<text class=\"label\" text-anchor=\"middle\"").Attribute("x", N(Left + (slot * bars.Count / 2))).Attribute("y", N(height - 4)).Raw(">")
            .Text(xAxis).Raw(" per song</text>");
        html.Raw("</svg><figcaption>").Text(title).Raw("</figcaption></figure>");
    }

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);
}
