using System.Globalization;
using System.Xml.Linq;
using Scale.Load.Charts;

namespace Scale.Load.Tests;

/// <summary>The report's inline SVG charts: well-formed whatever the labels say, one path per line, markers, log scale.</summary>
public sealed class TimeChartTests
{
    private const double PlotTop = 28;
    private const double PlotBottom = 240 - 36;
    private const double PlotLeft = 64;
    private const double PlotRight = 960 - 16;
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void Render_SeriesAndMarkers_IsWellFormedSvg()
    {
        var svg = TimeChart.Render("Requests per second", "requests/s",
            [new ChartSeries("answered/s", "#0969da", Points((0, 10), (1, 12), (2, 9)))],
            [new ChartMarker(1, "fault", "#cf222e")]);

        var root = XDocument.Parse(svg).Root!;

        Assert.Equal(Svg + "svg", root.Name);
        Assert.Equal("0 0 960 240", root.Attribute("viewBox")?.Value);
        Assert.Equal("Requests per second", root.Attribute("aria-label")?.Value);
        Assert.Contains(root.Elements(Svg + "text"), t => t.Value == "Requests per second");
        Assert.Contains(root.Elements(Svg + "text"), t => t.Value == "requests/s");
    }

    [Fact]
    public void Render_SeveralSeries_DrawsOnePathPerNonEmptySeries()
    {
        var svg = TimeChart.Render("Latency", "ms", [
            new ChartSeries("p50", "#1a7f37", Points((0, 1), (1, 2), (2, 3), (3, 2))),
            new ChartSeries("none yet", "#000000", []),
            new ChartSeries("p99", "#bf5700", Points((0, 10), (1, 20)), Dashed: true),
        ]);

        var paths = XDocument.Parse(svg).Root!.Elements(Svg + "path").ToList();

        Assert.Equal(["p50", "p99"], paths.Select(p => p.Element(Svg + "title")?.Value));
        Assert.Equal([4, 2], paths.Select(p => Coordinates(p).Count));
        Assert.Equal(["#1a7f37", "#bf5700"], paths.Select(p => p.Attribute("stroke")?.Value));
        Assert.Null(paths[0].Attribute("stroke-dasharray"));
        Assert.NotNull(paths[1].Attribute("stroke-dasharray"));
        // Every series, even an empty one, is in the legend.
        Assert.Contains(XDocument.Parse(svg).Root!.Elements(Svg + "text"), t => t.Value == "none yet");
    }

    [Fact]
    public void Render_Points_AreInsideThePlotAndOrderedByTimeAndValue()
    {
        var svg = TimeChart.Render("Rate", "requests/s", [new ChartSeries("rate", "#0969da", Points((10, 0), (20, 50), (30, 100), (40, 25)))]);

        var points = Coordinates(XDocument.Parse(svg).Root!.Element(Svg + "path")!);

        Assert.All(points, p => Assert.InRange(p.X, PlotLeft, PlotRight));
        Assert.All(points, p => Assert.InRange(p.Y, PlotTop, PlotBottom));
        Assert.Equal(points.OrderBy(p => p.X), points);
        Assert.Equal(PlotLeft, points[0].X, 1);
        Assert.Equal(PlotRight, points[^1].X, 1);
        // Linear from 0: the zero is on the bottom edge, higher values higher up, 25 a quarter of 100.
        Assert.Equal(PlotBottom, points[0].Y, 1);
        Assert.True(points[2].Y < points[1].Y && points[1].Y < points[3].Y);
        Assert.Equal((PlotBottom - points[2].Y) / 4, PlotBottom - points[3].Y, 0.5);
    }

    [Fact]
    public void Render_YMaxHint_KeepsSmallValuesLow()
    {
        var hinted = TimeChart.Render("Error ratio", "%", [new ChartSeries("errors", "#cf222e", Points((0, 0.1), (1, 0.2)))], yMaxHint: 1);
        var unhinted = TimeChart.Render("Error ratio", "%", [new ChartSeries("errors", "#cf222e", Points((0, 0.1), (1, 0.2)))]);

        var top = Coordinates(XDocument.Parse(hinted).Root!.Element(Svg + "path")!).Min(p => p.Y);
        var topUnhinted = Coordinates(XDocument.Parse(unhinted).Root!.Element(Svg + "path")!).Min(p => p.Y);

        Assert.True(top > topUnhinted + 50, $"0.2 drawn at y {top} with a hint of 1, at {topUnhinted} without");
        Assert.Contains(XDocument.Parse(hinted).Root!.Elements(Svg + "text"), t => t.Value == "1");
    }

    [Fact]
    public void Render_Markers_DrawnAsDashedLinesWithTheirLabels()
    {
        var svg = TimeChart.Render("Rate", "requests/s",
            [new ChartSeries("rate", "#0969da", Points((0, 10), (100, 10)))],
            [new ChartMarker(75, "recovery", "#1a7f37"), new ChartMarker(25, "fault", "#cf222e")]);

        var root = XDocument.Parse(svg).Root!;
        var markers = root.Elements(Svg + "line").Where(l => l.Element(Svg + "title") is not null).ToList();

        Assert.Equal(["fault", "recovery"], markers.Select(m => m.Element(Svg + "title")!.Value));
        Assert.Equal(["#cf222e", "#1a7f37"], markers.Select(m => m.Attribute("stroke")?.Value));
        Assert.All(markers, m => Assert.NotNull(m.Attribute("stroke-dasharray")));
        var x = markers.Select(m => double.Parse(m.Attribute("x1")!.Value, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(PlotLeft + ((PlotRight - PlotLeft) * 0.25), x[0], 0.5);
        Assert.Equal(PlotLeft + ((PlotRight - PlotLeft) * 0.75), x[1], 0.5);
        Assert.All(markers, m => Assert.Equal(m.Attribute("x1")?.Value, m.Attribute("x2")?.Value));
        Assert.Contains(root.Elements(Svg + "text"), t => t.Value == "fault" && t.Attribute("fill")?.Value == "#cf222e");
        Assert.Contains(root.Elements(Svg + "text"), t => t.Value == "recovery");
    }

    [Fact]
    public void Render_LabelsWithMarkup_AreEncodedAndReadBackAsWritten()
    {
        const string Label = "fault <&> \"zone\" 'a'";
        const string Title = "p99 < 2× & \"fast\"";

        var svg = TimeChart.Render(Title, "ms <log>", [new ChartSeries("p<50>&", "#1a7f37", Points((0, 1), (1, 2)))], [new ChartMarker(0.5, Label, "#cf222e")]);

        var root = XDocument.Parse(svg).Root!;
        Assert.Equal(Title, root.Attribute("aria-label")?.Value);
        Assert.Contains(root.Elements(Svg + "text"), t => t.Value == Title);
        Assert.Contains(root.Elements(Svg + "text"), t => t.Value == "ms <log>");
        Assert.Contains(root.Elements(Svg + "text"), t => t.Value == Label);
        Assert.Contains(root.Elements(Svg + "line"), l => l.Element(Svg + "title")?.Value == Label);
        Assert.Equal("p<50>&", root.Element(Svg + "path")!.Element(Svg + "title")!.Value);
    }

    [Fact]
    public void Render_LongMarkerLabel_IsShortenedOnTheChartButWholeInItsTitle()
    {
        var label = "primary pg-a killed: " + new string('x', 80);

        var svg = TimeChart.Render("Rate", "requests/s", [new ChartSeries("rate", "#0969da", Points((0, 1), (10, 1)))], [new ChartMarker(5, label, "#cf222e")]);

        var root = XDocument.Parse(svg).Root!;
        Assert.Contains(root.Elements(Svg + "line"), l => l.Element(Svg + "title")?.Value == label);
        var shown = Assert.Single(root.Elements(Svg + "text"), t => t.Value.StartsWith("primary pg-a killed", StringComparison.Ordinal)).Value;
        Assert.Equal(48, shown.Length);
        Assert.EndsWith("…", shown, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_LogarithmicOverFourDecades_SpacesDecadesEvenly()
    {
        var values = new[] { 0.5, 5, 50, 500, 5000 };

        var svg = TimeChart.Render("Latency", "ms (log)", [new ChartSeries("p99", "#bf5700", values.Select((v, i) => ((double)i, v)).ToList())], logarithmic: true);

        var root = XDocument.Parse(svg).Root!;
        var points = Coordinates(root.Element(Svg + "path")!);
        Assert.Equal(values.Length, points.Count);
        Assert.All(points, p => Assert.InRange(p.Y, PlotTop + 1, PlotBottom - 1));
        var steps = points.Zip(points.Skip(1), (a, b) => a.Y - b.Y).ToList();
        Assert.All(steps, step => Assert.True(step > 10, $"a decade up is {step} px"));
        Assert.All(steps, step => Assert.Equal(steps[0], step, 0.3));
        // Ticks on every decade from below the smallest to above the largest value.
        var labels = root.Elements(Svg + "text").Select(t => t.Value).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(new HashSet<string>(StringComparer.Ordinal) { "0.1", "1", "10", "100", "1k", "10k" }, labels);
    }

    [Fact]
    public void Render_LogarithmicWithZeros_ClampsThemToTheBottom()
    {
        var svg = TimeChart.Render("Latency", "ms (log)", [new ChartSeries("p50", "#1a7f37", Points((0, 0), (1, 3), (2, 30)))], logarithmic: true);

        var points = Coordinates(XDocument.Parse(svg).Root!.Element(Svg + "path")!);

        Assert.Equal(PlotBottom, points[0].Y, 1);
        Assert.All(points, p => Assert.InRange(p.Y, PlotTop, PlotBottom));
        Assert.True(points[2].Y < points[1].Y);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Render_NoPoints_DrawsAnEmptyChart(bool logarithmic)
    {
        var none = TimeChart.Render("Nothing", "ms", [], logarithmic: logarithmic);
        var emptySeries = TimeChart.Render("Nothing", "ms", [new ChartSeries("p99", "#bf5700", [])], [new ChartMarker(3, "fault", "#cf222e")], logarithmic);

        foreach (var svg in new[] { none, emptySeries })
        {
            var root = XDocument.Parse(svg).Root!;
            Assert.Empty(root.Elements(Svg + "path"));
            Assert.DoesNotContain("NaN", svg, StringComparison.Ordinal);
            Assert.DoesNotContain("Infinity", svg, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Render_SinglePoint_DoesNotDivideByZero()
    {
        var svg = TimeChart.Render("One", "ms", [new ChartSeries("p99", "#bf5700", Points((5, 5)))]);

        var point = Assert.Single(Coordinates(XDocument.Parse(svg).Root!.Element(Svg + "path")!));
        Assert.True(double.IsFinite(point.X) && double.IsFinite(point.Y));
        Assert.DoesNotContain("NaN", svg, StringComparison.Ordinal);
    }

    private static List<(double X, double Y)> Points(params (double X, double Y)[] points) => [.. points];

    private static List<(double X, double Y)> Coordinates(XElement path) =>
        path.Attribute("d")!.Value.Split(' ')
            .Select(step =>
            {
                Assert.True(step[0] is 'M' or 'L', $"path step '{step}'");
                var xy = step[1..].Split(',');
                return (double.Parse(xy[0], CultureInfo.InvariantCulture), double.Parse(xy[1], CultureInfo.InvariantCulture));
            })
            .ToList();
}
