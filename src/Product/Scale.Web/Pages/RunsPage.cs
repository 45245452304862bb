using Scale.Store;
using Scale.Web.Catalog;

namespace Scale.Web.Pages;

/// <summary>
/// The pipeline's extraction runs (live: read per request, a running run's counters grow), its similarity runs, and
/// invalid files by reason (counted once per data version, see <see cref="CatalogSnapshot"/>).
/// </summary>
internal static class RunsPage
{
    public const int RunsShown = 50;

    public static string Render(CatalogSnapshot snapshot, IReadOnlyList<RunRecord> runs, IReadOnlyList<SimilarityRunRecord> similarityRuns)
    {
        return Layout.Render("Runs", "/runs", snapshot, html =>
        {
            html.Raw("<h1>Runs</h1>");
            var summary = snapshot.Summary;
            html.Raw("<p>").Text(summary.Songs).Raw(" songs from ").Text(summary.SourceFiles).Raw(" files read; ")
                .Text(summary.InvalidFiles).Raw(" files could not be used.</p>");

            html.Raw("<h2 id=\"extraction\">Extraction runs</h2>");
            if (runs.Count == 0)
            {
                html.Raw("<p class=\"empty\">No runs yet (<code>scale run</code>).</p>");
            }
            else
            {
                RenderRuns(html, runs);
            }

            html.Raw("<h2 id=\"similarity\">Similarity runs</h2>");
            if (similarityRuns.Count == 0)
            {
                html.Raw("<p class=\"empty\">No similarity runs yet (<code>scale similar</code>).</p>");
            }
            else
            {
                RenderSimilarityRuns(html, similarityRuns);
            }

            html.Raw("<h2 id=\"invalid\">Invalid files by reason</h2>");
            if (summary.InvalidByReason.Count == 0)
            {
                html.Raw("<p class=\"empty\">None.</p>");
            }
            else
            {
                html.Raw("<table class=\"reasons\"><thead><tr><th scope=\"col\">Reason</th><th scope=\"col\" class=\"num\">Files</th></tr></thead><tbody>");
                foreach (var reason in summary.InvalidByReason)
                {
                    html.Raw("<tr><td><code>").Text(reason.ReasonCode).Raw("</code></td><td class=\"num\">").Text(reason.Files).Raw("</td></tr>");
                }

                html.Raw("</tbody></table>");
            }
        });
    }

    private static void RenderRuns(Html html, IReadOnlyList<RunRecord> runs)
    {
        html.Raw("<div class=\"scroll\"><table class=\"runs\"><thead><tr>")
            .Raw("<th scope=\"col\" class=\"num\">Run</th><th scope=\"col\">Source</th><th scope=\"col\">Started</th><th scope=\"col\">Status</th>")
            .Raw("<th scope=\"col\" class=\"num\">Files seen</th><th scope=\"col\" class=\"num\">Valid</th><th scope=\"col\" class=\"num\">Duplicates</th>")
            .Raw("<th scope=\"col\" class=\"num\">Invalid</th><th scope=\"col\" class=\"num\">Skipped</th><th scope=\"col\" class=\"num\">Read</th>")
            .Raw("<th scope=\"col\" class=\"num\">Wall</th><th scope=\"col\" class=\"num\">Files/s</th>")
            .Raw("<th scope=\"col\" class=\"num\">Read wait</th><th scope=\"col\" class=\"num\">Extract</th><th scope=\"col\" class=\"num\">Write</th></tr></thead><tbody>");
        foreach (var run in runs)
        {
            var s = run.Stats;
            var processed = s.FilesValid + s.FilesInvalid;
            html.Raw("<tr><td class=\"num\">").Text(run.Id).Raw("</td><td class=\"source\">").Text(run.Source)
                .Raw("</td><td>").Text(Format.Time(run.StartedAt)).Raw("</td><td>");
            Status(html, run.Status, run.Error);
            html.Raw("</td><td class=\"num\">").Text(s.FilesSeen)
                .Raw("</td><td class=\"num\">").Text(s.FilesValid)
                .Raw("</td><td class=\"num\">").Text(s.FilesDuplicate)
                .Raw("</td><td class=\"num\">").Text(s.FilesInvalid)
                .Raw("</td><td class=\"num\">").Text(s.FilesSkipped)
                .Raw("</td><td class=\"num\">").Text(Format.Megabytes(s.BytesRead))
                .Raw("</td><td class=\"num\">").Text(Format.Seconds(s.WallSeconds))
                .Raw("</td><td class=\"num\">").Text(s.WallSeconds > 0 ? Format.Number((long)(processed / s.WallSeconds)) : "–")
                .Raw("</td><td class=\"num\">").Text(Format.Seconds(s.ReadSeconds))
                .Raw("</td><td class=\"num\">").Text(Format.Seconds(s.ExtractSeconds))
                .Raw("</td><td class=\"num\">").Text(Format.Seconds(s.WriteSeconds))
                .Raw("</td></tr>");
        }

        html.Raw("</tbody></table></div>");
    }

    private static void RenderSimilarityRuns(Html html, IReadOnlyList<SimilarityRunRecord> runs)
    {
        html.Raw("<div class=\"scroll\"><table class=\"runs\"><thead><tr>")
            .Raw("<th scope=\"col\" class=\"num\">Run</th><th scope=\"col\">Started</th><th scope=\"col\">Status</th><th scope=\"col\">Measure</th>")
            .Raw("<th scope=\"col\" class=\"num\">Threshold</th><th scope=\"col\" class=\"num\">Top K</th><th scope=\"col\" class=\"num\">Min. instruments</th>")
            .Raw("<th scope=\"col\" class=\"num\">Songs</th><th scope=\"col\" class=\"num\">Eligible</th><th scope=\"col\" class=\"num\">Distinct sets</th>")
            .Raw("<th scope=\"col\" class=\"num\">Pairs</th><th scope=\"col\" class=\"num\">Rows stored</th>")
            .Raw("<th scope=\"col\" class=\"num\">Compute</th><th scope=\"col\" class=\"num\">Write</th><th scope=\"col\" class=\"num\">Wall</th></tr></thead><tbody>");
        foreach (var run in runs)
        {
            var s = run.Stats;
            html.Raw("<tr><td class=\"num\">").Text(run.Id).Raw("</td><td>").Text(Format.Time(run.StartedAt)).Raw("</td><td>");
            Status(html, run.Status, run.Error);
            html.Raw("</td><td>").Text(run.Settings.Measure)
                .Raw("</td><td class=\"num\">").Text(run.Settings.Threshold, 2)
                .Raw("</td><td class=\"num\">").Text(run.Settings.TopK)
                .Raw("</td><td class=\"num\">").Text(run.Settings.MinInstruments)
                .Raw("</td><td class=\"num\">").Text(s.Songs)
                .Raw("</td><td class=\"num\">").Text(s.EligibleSongs)
                .Raw("</td><td class=\"num\">").Text(s.DistinctSets)
                .Raw("</td><td class=\"num\">").Text(s.SimilarPairs)
                .Raw("</td><td class=\"num\">").Text(s.SimilarRows)
                .Raw("</td><td class=\"num\">").Text(Format.Seconds(s.ComputeSeconds))
                .Raw("</td><td class=\"num\">").Text(Format.Seconds(s.WriteSeconds))
                .Raw("</td><td class=\"num\">").Text(Format.Seconds(s.WallSeconds))
                .Raw("</td></tr>");
        }

        html.Raw("</tbody></table></div>");
    }

    private static void Status(Html html, RunStatus status, string? error)
    {
        var code = RunStatuses.ToCode(status);
        html.Raw("<span").Attribute("class", "status " + code);
        if (!string.IsNullOrEmpty(error))
        {
            html.Attribute("title", error);
        }

        html.Raw(">").Text(code).Raw("</span>");
        if (!string.IsNullOrEmpty(error))
        {
            html.Raw("<div class=\"error\">").Text(error).Raw("</div>");
        }
    }
}
