using Scale.Midi;

namespace Scale.Store;

/// <summary>
/// The read side of the store, for the web app: safe for many concurrent callers (each call takes a pooled
/// connection), never writes. PostgreSQL's implementation reads from a streaming replica when one is up.
/// </summary>
public interface IScaleReader : IAsyncDisposable
{
    /// <summary>
    /// A token that changes whenever a run or a similarity run finishes: cheap to poll, so caches of the catalogue
    /// know when to reload.
    /// </summary>
    Task<string> GetDataVersionAsync(CancellationToken cancellationToken);

    /// <summary>Every song in id order: what the web app keeps in memory to filter and sort the catalogue.</summary>
    IAsyncEnumerable<CatalogSong> ReadCatalogAsync(CancellationToken cancellationToken);

    /// <summary>One song by id (32 lower-case hex digits), or null.</summary>
    Task<SongDetails?> GetSongAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// A page of a song's stored similar songs (best first), or null when the song does not exist. Total is the
    /// number of songs above the threshold in all; Stored how many of them were kept (at most top K).
    /// </summary>
    Task<SimilarPage?> GetSimilarAsync(string id, int offset, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// For each of <paramref name="instrumentCodes"/>, in the order given, up to <paramref name="limitEach"/> songs that
    /// use it, in id order (an index range scan each). One call for several lists, so a server store answers them in
    /// one round trip.
    /// </summary>
    Task<IReadOnlyList<IReadOnlyList<SongRef>>> GetSongsWithInstrumentsAsync(IReadOnlyList<int> instrumentCodes, int limitEach, CancellationToken cancellationToken);

    /// <summary>Extraction runs, newest first.</summary>
    Task<IReadOnlyList<RunRecord>> GetRunsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Similarity runs, newest first.</summary>
    Task<IReadOnlyList<SimilarityRunRecord>> GetSimilarityRunsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Counts: songs, invalid files by reason, songs per instrument.</summary>
    Task<StoreSummary> GetSummaryAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Checks that a server which can serve reads answers now (readiness): one trivial query on a read connection.
    /// Throws <see cref="StoreUnavailableException"/> when none does.
    /// </summary>
    Task<ReadEndpoint> PingAsync(CancellationToken cancellationToken);
}

/// <summary>The server that answered a <see cref="IScaleReader.PingAsync"/>: where it is (no credentials) and its role, "primary" or "replica".</summary>
public sealed record ReadEndpoint(string Server, string Role);

/// <summary>A song as the catalogue lists it. SimilarCount is null before similarity ran or when the song has too few instruments.</summary>
public sealed record CatalogSong(long Key, string Id, string Name, InstrumentSet Instruments, int? SimilarCount);

/// <summary>A song's id and name.</summary>
public readonly record struct SongRef(string Id, string Name);

/// <summary>Everything stored about one song.</summary>
public sealed record SongDetails(
    long Key,
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
    InstrumentSet Instruments,
    IReadOnlyList<string> Warnings,
    int? SimilarCount);

/// <summary>One similar song on a song's page.</summary>
public sealed record SimilarSongItem(int Rank, string Id, string Name, double Similarity, int Shared, InstrumentSet Instruments);

/// <summary>A page of similar songs.</summary>
/// <param name="Total">Songs above the threshold in all (may exceed what is stored).</param>
/// <param name="Stored">Similar songs stored for the song (at most top K): the pages cover these.</param>
/// <param name="Items">This page's songs, best first.</param>
public sealed record SimilarPage(int Total, int Stored, IReadOnlyList<SimilarSongItem> Items);
