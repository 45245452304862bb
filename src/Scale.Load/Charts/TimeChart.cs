using System.Globalization;
using System.Net;
using System.Text;

namespace Scale.Load.Charts;

/// <summary>A line over time (x in seconds), drawn in <paramref name="Color"/>.</summary>
public sealed record ChartSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);

/// <summary>A moment marked across the chart: a fault (red), a recovery (green) ...</summary>
public sealed record ChartMarker(double X, string Label, string Color);

/// <summary>
/// Inline SVG line charts, self-contained (no script, no external file), so a report is one HTML file that opens
/// anywhere and survives being attached to a ticket. Hand-written because the charts are simple and no .NET
/// charting package served here renders SVG without a browser or native library.
/// </summary>
public static class TimeChart
{
    private const int Width = 960;
    private const int Height = 240;
    private const int Left = 64;
    private const int Right = 16;
    private const int Top = 28;
    private const int Bottom = 36;
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Renders the series and markers; <paramref name="logarithmic"/> for latencies that span orders of magnitude.</summary>
    public static string Render(string title, string unit, IReadOnlyList<ChartSeries> series, IReadOnlyList<ChartMarker>? markers = null, bool logarithmic = false, double? yMaxHint = null, string xLabel = "seconds")
    {
        ArgumentNullException.ThrowIfNull(series);
        markers ??= [];
        var points = series.SelectMany(s => s.Points).ToList();
        var xs = points.Select(p => p.X).Concat(markers.Select(m => m.X)).ToList();
        var xMin = xs.Count == 0 ? 0 : xs.Min();
        var xMax = xs.Count == 0 ? 1 : xs.Max();
        if (xMax <= xMin)
        {
            xMax = xMin + 1;
        }

        var positive = points.Where(p => p.Y > 0).Select(p => p.Y).ToList();
        double yMin, yMax;
        if (logarithmic)
        {
            yMin = Math.Pow(10, Math.Floor(Math.Log10(positive.Count == 0 ? 0.1 : Math.Max(positive.Min(), 0.01))));
            yMax = Math.Pow(10, Math.Ceiling(Math.Log10(positive.Count == 0 ? 10 : Math.Max(positive.Max(), yMin * 10))));
        }
        else
        {
            yMin = 0;
            yMax = Nice(Math.Max(yMaxHint ?? 0, points.Count == 0 ? 1 : points.Max(p => p.Y)));
        }

        double X(double x) => Left + ((x - xMin) / (xMax - xMin) * (Width - Left - Right));
        double Y(double y)
        {
            var fraction = logarithmic
                ? (Math.Log10(Math.Max(y, yMin)) - Math.Log10(yMin)) / (Math.Log10(yMax) - Math.Log10(yMin))
                : (y - yMin) / (yMax - yMin);
            return Height - Bottom - (Math.Clamp(fraction, 0, 1) * (Height - Top - Bottom));
        }

        var svg = new StringBuilder();
        svg.Append(Invariant, $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\" aria-label=\"{Html(title)}\" font-family=\"system-ui, sans-serif\" font-size=\"11\">");
        svg.Append(Invariant, $"<text x=\"{Left}\" y=\"16\" font-size=\"13\" font-weight=\"600\">{Html(title)}</text>");
        // Axes and grid.
        var ticks = logarithmic
            ? Enumerable.Range(0, (int)Math.Round(Math.Log10(yMax / yMin)) + 1).Select(i => yMin * Math.Pow(10, i)).ToList()
            : Enumerable.Range(0, 5).Select(i => yMin + ((yMax - yMin) * i / 4)).ToList();
        foreach (var tick in ticks)
        {
            svg.Append(Invariant, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Y(tick):0.#}\" y2=\"{Y(tick):0.#}\" stroke=\"#e5e5e5\"/>");
            svg.Append(Invariant, $"<text x=\"{Left - 6}\" y=\"{Y(tick) + 4:0.#}\" text-anchor=\"end\" fill=\"#555\">{Format(tick)}</text>");
        }

        var step = NiceStep((xMax - xMin) / 10);
        for (var x = Math.Ceiling(xMin / step) * step; x <= xMax; x += step)
        {
            svg.Append(Invariant, $"<text x=\"{X(x):0.#}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\" fill=\"#555\">{Format(x)}</text>");
        }

        svg.Append(Invariant, $"<text x=\"{Width - Right}\" y=\"{Height - 4}\" text-anchor=\"end\" fill=\"#555\">{Html(xLabel)}</text>");
        svg.Append(Invariant, $"<text x=\"12\" y=\"{Top + ((Height - Top - Bottom) / 2)}\" transform=\"rotate(-90 12 {Top + ((Height - Top - Bottom) / 2)})\" text-anchor=\"middle\" fill=\"#555\">{Html(unit)}</text>");
        svg.Append(Invariant, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{Width - Left - Right}\" height=\"{Height - Top - Bottom}\" fill=\"none\" stroke=\"#bbb\"/>");
        // Markers, labels staggered so neighbours do not overlap.
        var row = 0;
        foreach (var marker in markers.OrderBy(m => m.X))
        {
            var x = X(marker.X);
            svg.Append(Invariant, $"<line x1=\"{x:0.#}\" x2=\"{x:0.#}\" y1=\"{Top}\" y2=\"{Height - Bottom}\" stroke=\"{marker.Color}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"><title>{Html(marker.Label)}</title></line>");
            svg.Append(Invariant, $"<text x=\"{x + 3:0.#}\" y=\"{Top + 11 + (row * 11)}\" fill=\"{marker.Color}\" font-size=\"10\">{Html(Shorten(marker.Label))}</text>");
            row = (row + 1) % 4;
        }

        foreach (var line in series)
        {
            if (line.Points.Count == 0)
            {
                continue;
            }

            var path = string.Join(' ', line.Points.Select((p, i) => string.Create(Invariant, $"{(i == 0 ? 'M' : 'L')}{X(p.X):0.#},{Y(p.Y):0.#}")));
            svg.Append(Invariant, $"<path d=\"{path}\" fill=\"none\" stroke=\"{line.Color}\" stroke-width=\"1.6\"{(line.Dashed ? " stroke-dasharray=\"6 4\"" : "")}><title>{Html(line.Name)}</title></path>");
        }

        // Legend.
        var legendX = Width - Right - 8.0;
        foreach (var line in series.Reverse())
        {
            var width = 18 + (line.Name.Length * 6.2);
            legendX -= width + 10;
            svg.Append(Invariant, $"<line x1=\"{legendX:0.#}\" x2=\"{legendX + 14:0.#}\" y1=\"12\" y2=\"12\" stroke=\"{line.Color}\" stroke-width=\"3\"{(line.Dashed ? " stroke-dasharray=\"4 2\"" : "")}/>");
            svg.Append(Invariant, $"<text x=\"{legendX + 18:0.#}\" y=\"16\">{Html(line.Name)}</text>");
        }

        svg.Append("</svg>");
        return svg.ToString();
    }

    private static string Shorten(string label) => label.Length > 48 ? label[..47] + "…" : label;

    private static string Html(string text) => WebUtility.HtmlEncode(text);

    private static string Format(double value) =>
        value >= 1000 ? (value / 1000).ToString("0.#", Invariant) + "k"
        : value >= 10 || value == 0 ? value.ToString("0", Invariant)
        : value >= 1 ? value.ToString("0.#", Invariant)
        : value.ToString("0.###", Invariant);

    private static double Nice(double max)
    {
        if (max <= 0)
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(max)));
        return new[] { 1, 2, 2.5, 5, 10 }.Select(f => f * magnitude).First(v => v >= max);
    }

    private static double NiceStep(double raw) => raw <= 0 ? 1 : Nice(raw);
}
