using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Scale.Store;
using Scale.Web.Catalog;
using Scale.Web.Http;

namespace Scale.Web.Pages;

/// <summary>The server-rendered pages; each works without script. Bad input gets a 400 or 404 page.</summary>
internal static class PageEndpoints
{
    public static void MapScalePages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", Home).ExcludeFromDescription();
        app.MapGet("/songs/{id}", SongAsync).ExcludeFromDescription();
        // The original app's song page: the same page (it set a session cookie and loaded the list by script).
        app.MapGet("/show_similar_songs/{id}", SongAsync).ExcludeFromDescription();
        app.MapGet("/instruments", (CatalogProvider catalog) => new HtmlResult(InstrumentsPage.Render(catalog.Current))).ExcludeFromDescription();
        app.MapGet("/runs", RunsAsync).ExcludeFromDescription();
    }

    public static HtmlResult ErrorPage(CatalogSnapshot? snapshot, int status, string message)
    {
        var title = status == StatusCodes.Status404NotFound ? "Not found" : status == StatusCodes.Status400BadRequest ? "Bad request" : "Something went wrong";
        return new HtmlResult(
            Layout.Render(title, string.Empty, snapshot, html =>
                html.Element("h1", title).Raw("<p class=\"problem\">").Text(message).Raw("</p><p><a href=\"/\">Back to the songs</a></p>")),
            status);
    }

    private static HtmlResult Home(HttpRequest request, CatalogProvider catalog)
    {
        var snapshot = catalog.Current;
        return SongListRequest.TryParse(request.Query, out var songList, out var error)
            ? new HtmlResult(HomePage.Render(snapshot, songList))
            : ErrorPage(snapshot, StatusCodes.Status400BadRequest, error);
    }

    private static async Task<HtmlResult> SongAsync(string id, HttpRequest request, CatalogProvider catalog, IScaleReader reader, CancellationToken cancellationToken)
    {
        var snapshot = catalog.Current;
        if (!RequestParsing.TryParseSongId(id, out var songId, out var error)
            || !RequestParsing.TryParsePage(request.Query["page"], out var page, out error))
        {
            return ErrorPage(snapshot, StatusCodes.Status400BadRequest, error);
        }

        var song = await reader.GetSongAsync(songId, cancellationToken).ConfigureAwait(false);
        var similar = song is null
            ? null
            : await reader.GetSimilarAsync(songId, (page - 1) * SongPage.PageSize, SongPage.PageSize, cancellationToken).ConfigureAwait(false);
        if (song is null || similar is null)
        {
            return ErrorPage(snapshot, StatusCodes.Status404NotFound, Problems.SongNotFound(songId));
        }

        return new HtmlResult(SongPage.Render(snapshot, song, similar, page));
    }

    private static async Task<HtmlResult> RunsAsync(CatalogProvider catalog, IScaleReader reader, CancellationToken cancellationToken)
    {
        var runs = await reader.GetRunsAsync(RunsPage.RunsShown, cancellationToken).ConfigureAwait(false);
        var similarityRuns = await reader.GetSimilarityRunsAsync(RunsPage.RunsShown, cancellationToken).ConfigureAwait(false);
        return new HtmlResult(RunsPage.Render(catalog.Current, runs, similarityRuns));
    }
}
