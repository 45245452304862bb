using System.Collections.Concurrent;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;
using Scale.Midi;
using Scale.Store;
using Scale.Web.Api;
using Scale.Web.Catalog;
using Scale.Web.Http;

namespace Scale.Web.Legacy;

/// <summary>
/// The original Flask app's routes, same paths and JSON field names, so its clients and load tests keep working.
/// Differences, all deliberate: no session cookie (the song id comes from the URL), parameterised queries, bad
/// input answers 400/404 instead of a 500, and song lists are capped at <see cref="MaxLegacyRows"/> rows.
/// </summary>
internal static class LegacyEndpoints
{
    /// <summary>The original returned every matching row; for the drum kit that is most of the catalogue.</summary>
    public const int MaxLegacyRows = 1_000;

    /// <summary>The instrument lists the original's home page showed (name → code), in its order.</summary>
    private static readonly (string Name, int Code)[] IndexInstruments =
    [
        ("Electric Grand Piano", 2), ("Violin", 40), ("String Ensemble 1", 48), ("Clarinet", 71), ("Flute", 73),
        ("Bag pipe", 109), ("Steel Drums", 114),
    ];

    private const int Flute = 73;
    private const int BagPipe = 109;
    private const int SongsPerList = 10;
    private const long MaxBodyBytes = 64 * 1024;

    private static readonly ConditionalWeakTable<SongCatalog, ConcurrentDictionary<InstrumentSet, LegacyAnswer>> LegacyAnswers = [];

    public static void MapLegacyRoutes(this IEndpointRouteBuilder app)
    {
        var legacy = app.MapGroup(string.Empty).WithTags("Original app");
        legacy.MapGet("/test_db", TestDbAsync)
            .WithSummary("Two store queries per request: 10 songs with Flute (73) and 10 with Bag pipe (109), as [name, id] pairs.");
        legacy.MapGet("/load_index", LoadIndex)
            .WithSummary("10 songs for each of the original home page's 7 instruments, as [name, id] pairs.");
        legacy.MapMethods("/get_songs_for_instruments", [HttpMethods.Get, HttpMethods.Post], GetSongsForInstrumentsAsync)
            .WithSummary("Songs using the instrument(s) in {\"instruments\": \"73\"} (JSON or form; GET takes ?instruments=), most instruments first, at most 1000.")
            .Produces<IReadOnlyList<LegacySongRow>>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        legacy.MapGet("/get_similar_songs", GetSimilarSongsAsync)
            .WithSummary("A song and its similar songs; the song id comes from ?filename= (the original used a session cookie).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Ok<Dictionary<string, string[][]>>> TestDbAsync(IScaleReader reader, CancellationToken cancellationToken)
    {
        // Still the original's two reads (two index range scans), in one round trip to the store.
        var lists = await reader.GetSongsWithInstrumentsAsync([Flute, BagPipe], SongsPerList, cancellationToken).ConfigureAwait(false);
        var (flute, bagPipe) = (lists[0], lists[1]);
        return TypedResults.Ok(new Dictionary<string, string[][]>(StringComparer.Ordinal)
        {
            [GeneralMidi.InstrumentName(Flute)] = [.. flute.Select(s => new[] { s.Name, s.Id })],
            [GeneralMidi.InstrumentName(BagPipe)] = [.. bagPipe.Select(s => new[] { s.Name, s.Id })],
        });
    }

    /// <summary>From the catalogue: it is in id order, as the store's index range scan would be.</summary>
    private static Ok<Dictionary<string, string[][]>> LoadIndex(CatalogProvider catalog)
    {
        var songs = catalog.Current.Songs;
        var lists = new Dictionary<string, string[][]>(StringComparer.Ordinal);
        foreach (var (name, code) in IndexInstruments)
        {
            lists[name] = [.. songs.FirstWithInstrument(code, SongsPerList).Select(i => new[] { songs.NameAt(i), songs.IdAt(i) })];
        }

        return TypedResults.Ok(lists);
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetSongsForInstrumentsAsync(
        HttpContext context, CatalogProvider catalog)
    {
        var (values, error) = await ReadInstrumentsAsync(context).ConfigureAwait(false);
        if (error is not null)
        {
            return Problems.BadRequest(error);
        }

        if (!RequestParsing.TryParseInstruments(values, out var instruments, out error))
        {
            return Problems.BadRequest(error);
        }

        if (instruments.IsEmpty)
        {
            return Problems.BadRequest("Give an instrument: {\"instruments\": \"73\"} (a General MIDI program 0-127, or 128 for the drum kit).");
        }

        // The answer depends only on the catalogue and the instruments: serialised once per data version and
        // instrument set (the most recent 64 sets), since the original's clients ask for the same few again and again.
        var songs = catalog.Current.Songs;
        var answers = LegacyAnswers.GetValue(songs, _ => new ConcurrentDictionary<InstrumentSet, LegacyAnswer>());
        if (!answers.TryGetValue(instruments, out var answer))
        {
            var page = songs.Query(instruments, null, SongSorts.Default, 0, MaxLegacyRows);
            var rows = page.Indexes
                .Select(i => new LegacySongRow(songs.IdAt(i), songs.NameAt(i), songs.InstrumentsAt(i).Count, songs.SimilarCountAt(i) ?? 0))
                .ToArray();
            answer = new LegacyAnswer(JsonSerializer.SerializeToUtf8Bytes<IReadOnlyList<LegacySongRow>>(rows, ScaleJsonContext.Default.IReadOnlyListLegacySongRow), page.Total);
            if (answers.Count >= 64)
            {
                answers.Clear();
            }

            answers[instruments] = answer;
        }

        context.Response.Headers["X-Total-Count"] = answer.Total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Bytes(answer.Json, "application/json; charset=utf-8");
    }

    private static async Task<Results<Ok<LegacySimilarResponse>, ProblemHttpResult>> GetSimilarSongsAsync(
        [Description("The song's id: 32 hexadecimal digits.")] string? filename, CatalogProvider catalog, IScaleReader reader, CancellationToken cancellationToken)
    {
        if (!RequestParsing.TryParseSongId(filename, out var id, out var error))
        {
            return Problems.BadRequest("filename: " + error);
        }

        var similar = await reader.GetSimilarAsync(id, 0, MaxLegacyRows, cancellationToken).ConfigureAwait(false);
        if (similar is null)
        {
            return Problems.NotFound(Problems.SongNotFound(id));
        }

        var snapshot = catalog.Current;
        var index = snapshot.Songs.IndexOf(id);
        var (name, instruments) = index >= 0
            ? (snapshot.Songs.NameAt(index), snapshot.Songs.InstrumentsAt(index))
            : await SongFromStoreAsync(reader, id, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new LegacySimilarResponse(
            [new LegacySongInfo(id, name, instruments.ToArray())],
            [.. similar.Items.Select(s => new LegacySimilarSong(s.Id, s.Name, s.Similarity, s.Instruments.Count, s.Instruments.ToArray()))]));
    }

    private static async Task<(string Name, InstrumentSet Instruments)> SongFromStoreAsync(IScaleReader reader, string id, CancellationToken cancellationToken)
    {
        var song = await reader.GetSongAsync(id, cancellationToken).ConfigureAwait(false);
        return song is null ? (string.Empty, InstrumentSet.Empty) : (song.Name, song.Instruments);
    }

    /// <summary>The "instruments" value as the original's clients sent it: JSON (text, number or list), a form field, or ?instruments=.</summary>
    private static async Task<(StringValues Values, string? Error)> ReadInstrumentsAsync(HttpContext context)
    {
        var request = context.Request;
        if (HttpMethods.IsGet(request.Method))
        {
            return (request.Query["instruments"], null);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        try
        {
            if (request.HasFormContentType)
            {
                var form = await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
                return (form["instruments"], null);
            }

            using var document = await JsonDocument.ParseAsync(request.Body, default, context.RequestAborted).ConfigureAwait(false);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("instruments", out var instruments))
            {
                return (StringValues.Empty, "The body must be a JSON object like {\"instruments\": \"73\"}.");
            }

            return instruments.ValueKind switch
            {
                JsonValueKind.String => (new StringValues(instruments.GetString()), null),
                JsonValueKind.Number => (new StringValues(instruments.GetRawText()), null),
                JsonValueKind.Array when instruments.EnumerateArray().All(e => e.ValueKind is JsonValueKind.String or JsonValueKind.Number) =>
                    (new StringValues([.. instruments.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText())]), null),
                _ => (StringValues.Empty, "instruments must be a code as text or number, or a list of them."),
            };
        }
        catch (JsonException)
        {
            return (StringValues.Empty, "The body is not valid JSON; send {\"instruments\": \"73\"}.");
        }
        catch (InvalidDataException)
        {
            return (StringValues.Empty, "The form could not be read; send instruments=73.");
        }
    }
}

/// <summary>A serialised song list of the original's route and its total before the cap.</summary>
internal sealed record LegacyAnswer(byte[] Json, int Total);
