using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Scale.Midi;
using Scale.Store;
using Scale.Web.Catalog;
using Scale.Web.Http;

namespace Scale.Web.Api;

/// <summary>
/// The JSON API under /api (documented at /openapi/v1.json). Lists come from the in-memory catalogue; a song and
/// its similar songs come from the store (an index lookup and one stored list each).
/// </summary>
internal static class ApiEndpoints
{
    public static void MapScaleApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Songs");

        api.MapGet("/instruments", GetInstruments)
            .WithSummary("Every instrument (128 General MIDI programs and the drum kit, code 128) and how many songs use it.");
        api.MapGet("/instruments/{code}", GetInstrument)
            .WithSummary("One instrument and how many songs use it.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/songs", GetSongs)
            .WithSummary("Songs that use all the given instruments, filtered by name, sorted, one page.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapGet("/songs/{id}", GetSongAsync)
            .WithSummary("Everything stored about one song.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/songs/{id}/similar", GetSimilarAsync)
            .WithSummary("A song's similar songs, most similar first, one page.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    internal static IReadOnlyList<InstrumentInfo> Instruments(SongCatalog catalog)
    {
        var songs = catalog.SongsPerInstrument;
        var list = new InstrumentInfo[GeneralMidi.InstrumentCount];
        for (var code = 0; code < list.Length; code++)
        {
            var family = GeneralMidi.FamilyOf(code);
            list[code] = new InstrumentInfo(code, GeneralMidi.InstrumentName(code), GeneralMidi.FamilyName(family), family, songs[code]);
        }

        return list;
    }

    internal static SongListResponse SongList(SongCatalog catalog, SongListRequest request)
    {
        var page = catalog.Query(request.Instruments, request.NameContains, request.Sort, request.Offset, request.PageSize);
        var items = new SongListItem[page.Indexes.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var index = page.Indexes[i];
            var instruments = catalog.InstrumentsAt(index);
            items[i] = new SongListItem(catalog.IdAt(index), catalog.NameAt(index), instruments.ToArray(), instruments.Count, catalog.SimilarCountAt(index));
        }

        return new SongListResponse(page.Total, request.Page, request.PageSize, SongSorts.ToQueryValue(request.Sort), catalog.DataVersion, items);
    }

    internal static SongDetailsResponse Details(SongDetails song) => new(
        song.Id,
        song.Name,
        song.Title,
        song.Format,
        song.Tracks,
        song.Division,
        song.Ticks,
        song.Seconds,
        song.Bytes,
        song.NoteCount,
        song.Instruments.Count,
        [.. song.Instruments.ToArray().Select(InstrumentRef.Of)],
        song.Warnings,
        song.SimilarCount);

    /// <summary>The instruments of song <paramref name="id"/>: from the catalogue, or the store for a song newer than it.</summary>
    internal static async Task<InstrumentSet?> InstrumentsOfAsync(CatalogSnapshot snapshot, IScaleReader reader, string id, CancellationToken cancellationToken)
    {
        var index = snapshot.Songs.IndexOf(id);
        if (index >= 0)
        {
            return snapshot.Songs.InstrumentsAt(index);
        }

        var song = await reader.GetSongAsync(id, cancellationToken).ConfigureAwait(false);
        return song?.Instruments;
    }

    internal static SimilarSongResponseItem SimilarItem(SimilarSongItem item, InstrumentSet songInstruments) => new(
        item.Rank,
        item.Id,
        item.Name,
        item.Similarity,
        item.Shared,
        item.Instruments.Count,
        item.Instruments.ToArray(),
        item.Instruments.Intersect(songInstruments).ToArray());

    private static Ok<IReadOnlyList<InstrumentInfo>> GetInstruments(CatalogProvider catalog) =>
        TypedResults.Ok(Instruments(catalog.Current.Songs));

    private static Results<Ok<InstrumentInfo>, ProblemHttpResult> GetInstrument(
        [Description("0-127 (General MIDI program) or 128 (drum kit).")] string code, CatalogProvider catalog)
    {
        if (code.Length == 0 || code.Length > 9 || !code.All(char.IsAsciiDigit))
        {
            return Problems.BadRequest($"An instrument code is a whole number; got '{RequestParsing.Shorten(code)}'.");
        }

        if (!RequestParsing.TryParseInstrumentCode(code, out var value))
        {
            return Problems.NotFound($"No instrument has code {code}: codes are 0-127 (General MIDI programs) and 128 (drum kit).");
        }

        return TypedResults.Ok(Instruments(catalog.Current.Songs)[value]);
    }

    private static Results<Ok<SongListResponse>, ProblemHttpResult> GetSongs(
        [FromQuery, Description("Instrument codes (0-127 General MIDI programs, 128 drum kit), repeated or comma-separated: songs must use all of them.")] string[]? instrument,
        [FromQuery, Description("Only songs whose name contains this (case-insensitive), at most 200 characters.")] string? q,
        [FromQuery, Description("name, -name, instruments, -instruments (default), similar or -similar.")] string? sort,
        [FromQuery, Description("Page number, 1 to 1,000,000 (default 1).")] string? page,
        [FromQuery, Description("Songs per page (default 50; above 200 is capped to 200).")] string? pageSize,
        CatalogProvider catalog)
    {
        if (!SongListRequest.TryParse(instrument, q, sort, page, pageSize, out var request, out var error))
        {
            return Problems.BadRequest(error);
        }

        return TypedResults.Ok(SongList(catalog.Current.Songs, request));
    }

    private static async Task<Results<Ok<SongDetailsResponse>, ProblemHttpResult>> GetSongAsync(
        [Description("The song's id: 32 hexadecimal digits (the MD5 of its file).")] string id, IScaleReader reader, CancellationToken cancellationToken)
    {
        if (!RequestParsing.TryParseSongId(id, out var songId, out var error))
        {
            return Problems.BadRequest(error);
        }

        var song = await reader.GetSongAsync(songId, cancellationToken).ConfigureAwait(false);
        return song is null ? Problems.NotFound(Problems.SongNotFound(songId)) : TypedResults.Ok(Details(song));
    }

    private static async Task<Results<Ok<SimilarSongsResponse>, ProblemHttpResult>> GetSimilarAsync(
        [Description("The song's id: 32 hexadecimal digits (the MD5 of its file).")] string id,
        [FromQuery, Description("Page number, 1 to 1,000,000 (default 1).")] string? page,
        [FromQuery, Description("Songs per page (default 50; above 200 is capped to 200).")] string? pageSize,
        CatalogProvider catalog,
        IScaleReader reader,
        CancellationToken cancellationToken)
    {
        if (!RequestParsing.TryParseSongId(id, out var songId, out var error)
            || !RequestParsing.TryParsePage(page, out var pageNumber, out error)
            || !RequestParsing.TryParsePageSize(pageSize, RequestParsing.DefaultPageSize, out var size, out error))
        {
            return Problems.BadRequest(error);
        }

        var similar = await reader.GetSimilarAsync(songId, (pageNumber - 1) * size, size, cancellationToken).ConfigureAwait(false);
        if (similar is null)
        {
            return Problems.NotFound(Problems.SongNotFound(songId));
        }

        var instruments = await InstrumentsOfAsync(catalog.Current, reader, songId, cancellationToken).ConfigureAwait(false) ?? InstrumentSet.Empty;
        var items = similar.Items.Select(item => SimilarItem(item, instruments)).ToArray();
        return TypedResults.Ok(new SimilarSongsResponse(similar.Total, similar.Stored, pageNumber, size, items));
    }
}
