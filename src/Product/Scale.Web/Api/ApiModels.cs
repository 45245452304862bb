using System.Text.Json.Serialization;
using Scale.Midi;

namespace Scale.Web.Api;

/// <summary>An instrument and how many songs use it (<c>GET /api/instruments</c>).</summary>
/// <param name="Code">0-127: General MIDI program; 128: the drum kit (any note on channel 10).</param>
/// <param name="Name">The General MIDI 1 name ("Drum Kit" for 128).</param>
/// <param name="Family">The family's name (Piano, ..., Sound Effects, Drums).</param>
/// <param name="FamilyCode">0-15: General MIDI family (code / 8); 16: drums.</param>
/// <param name="Songs">Songs that use it.</param>
public sealed record InstrumentInfo(int Code, string Name, string Family, int FamilyCode, int Songs);

/// <summary>An instrument inside a song's details.</summary>
public sealed record InstrumentRef(int Code, string Name, string Family, int FamilyCode)
{
    public static InstrumentRef Of(int code)
    {
        var family = GeneralMidi.FamilyOf(code);
        return new InstrumentRef(code, GeneralMidi.InstrumentName(code), GeneralMidi.FamilyName(family), family);
    }
}

/// <summary>A page of songs that use all the requested instruments (<c>GET /api/songs</c>).</summary>
/// <param name="Total">Matching songs in all pages.</param>
/// <param name="Page">This page, from 1.</param>
/// <param name="PageSize">Songs per page (requests above 200 are capped to 200).</param>
/// <param name="Sort">The order used (name, -name, instruments, -instruments, similar, -similar).</param>
/// <param name="DataVersion">The store's data version the catalogue was loaded at.</param>
/// <param name="Items">The songs on this page.</param>
public sealed record SongListResponse(int Total, int Page, int PageSize, string Sort, string DataVersion, IReadOnlyList<SongListItem> Items);

/// <summary>One song of a list.</summary>
/// <param name="Id">The song's id: the MD5 of its file, 32 lower-case hexadecimal digits.</param>
/// <param name="Name">The song's name.</param>
/// <param name="Instruments">Instrument codes, ascending (names: <c>GET /api/instruments</c>).</param>
/// <param name="InstrumentCount">How many instruments the song uses.</param>
/// <param name="SimilarCount">Songs at or above the similarity threshold; null when similarity has not been computed for it.</param>
public sealed record SongListItem(string Id, string Name, IReadOnlyList<int> Instruments, int InstrumentCount, int? SimilarCount);

/// <summary>Everything stored about one song (<c>GET /api/songs/{id}</c>).</summary>
public sealed record SongDetailsResponse(
    string Id,
    string Name,
    string? Title,
    int Format,
    int Tracks,
    int Division,
    long Ticks,
    double? Seconds,
    long Bytes,
    long NoteCount,
    int InstrumentCount,
    IReadOnlyList<InstrumentRef> Instruments,
    IReadOnlyList<string> Warnings,
    int? SimilarCount);

/// <summary>A page of a song's similar songs, most similar first (<c>GET /api/songs/{id}/similar</c>).</summary>
/// <param name="Total">Songs at or above the similarity threshold in all (may exceed <paramref name="Stored"/>).</param>
/// <param name="Stored">Similar songs kept for the song (the top K): the pages cover these.</param>
/// <param name="Page">This page, from 1.</param>
/// <param name="PageSize">Songs per page (requests above 200 are capped to 200).</param>
/// <param name="Items">The similar songs on this page.</param>
public sealed record SimilarSongsResponse(int Total, int Stored, int Page, int PageSize, IReadOnlyList<SimilarSongResponseItem> Items);

/// <summary>One similar song.</summary>
/// <param name="Rank">1 = most similar.</param>
/// <param name="Id">The similar song's id.</param>
/// <param name="Name">The similar song's name.</param>
/// <param name="Similarity">Jaccard index of the two instrument sets (or the weighted measure the run used), 0-1.</param>
/// <param name="Shared">How many instruments the two songs share.</param>
/// <param name="InstrumentCount">How many instruments the similar song uses.</param>
/// <param name="Instruments">The similar song's instrument codes, ascending.</param>
/// <param name="SharedInstruments">The codes both songs use, ascending.</param>
public sealed record SimilarSongResponseItem(
    int Rank,
    string Id,
    string Name,
    double Similarity,
    int Shared,
    int InstrumentCount,
    IReadOnlyList<int> Instruments,
    IReadOnlyList<int> SharedInstruments);

/// <summary>The original app's song row (<c>POST /get_songs_for_instruments</c>), field names as it had them.</summary>
public sealed record LegacySongRow(
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("song_name")] string SongName,
    [property: JsonPropertyName("num_of_inst")] int NumOfInst,
    [property: JsonPropertyName("num_of_simSongs")] int NumOfSimSongs);

/// <summary>The original app's similar songs answer (<c>GET /get_similar_songs</c>).</summary>
public sealed record LegacySimilarResponse(
    [property: JsonPropertyName("song_info")] IReadOnlyList<LegacySongInfo> SongInfo,
    [property: JsonPropertyName("similar_songs")] IReadOnlyList<LegacySimilarSong> SimilarSongs);

public sealed record LegacySongInfo(
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("songname")] string SongName,
    [property: JsonPropertyName("instruments")] IReadOnlyList<int> Instruments);

public sealed record LegacySimilarSong(
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("songname")] string SongName,
    [property: JsonPropertyName("similarity")] double Similarity,
    [property: JsonPropertyName("num_of_inst")] int NumOfInst,
    [property: JsonPropertyName("instrument_code")] IReadOnlyList<int> InstrumentCode);

/// <summary>The JSON types the app writes, generated at build time (no reflection per request).</summary>
[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(IReadOnlyList<InstrumentInfo>))]
[JsonSerializable(typeof(InstrumentInfo))]
[JsonSerializable(typeof(SongListResponse))]
[JsonSerializable(typeof(SongDetailsResponse))]
[JsonSerializable(typeof(SimilarSongsResponse))]
[JsonSerializable(typeof(IReadOnlyList<LegacySongRow>))]
[JsonSerializable(typeof(LegacySimilarResponse))]
[JsonSerializable(typeof(Dictionary<string, string[][]>))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(ReadinessResponse))]
internal sealed partial class ScaleJsonContext : JsonSerializerContext;

/// <summary><c>GET /healthz</c>: the process answers, and what it serves.</summary>
public sealed record HealthResponse(string Status, int Songs, string DataVersion);

/// <summary>
/// /readyz: "ready", "warming up", "loading catalogue", "stopping" or (only with --ready-requires-database) "database
/// unavailable"; the reason when not ready; the database's state, which by default does not decide readiness.
/// </summary>
public sealed record ReadinessResponse(string Status, string? Detail, DatabaseStatusResponse Database);

/// <summary>The last database check: "ok", "unavailable" or "unknown" (not checked yet); why; the server that answered and its role ("primary" or "replica"); when.</summary>
public sealed record DatabaseStatusResponse(string Status, string? Detail, string? Server, string? Role, DateTimeOffset? CheckedAt);
