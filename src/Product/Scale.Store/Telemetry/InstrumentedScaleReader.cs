using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Scale.Store.Telemetry;

/// <summary>
/// Times every read of an <see cref="IScaleReader"/> under a stable operation name and counts its failures
/// (<see cref="StoreMetrics"/>), for both backends alike; <see cref="ScaleStoreFactory.CreateReader"/> wraps every
/// reader in one.
/// </summary>
internal sealed class InstrumentedScaleReader(IScaleReader inner, string system) : IScaleReader
{
    /// <summary>The reader it times.</summary>
    public IScaleReader Inner => inner;

    public Task<string> GetDataVersionAsync(CancellationToken cancellationToken) =>
        TimeAsync("data_version", inner.GetDataVersionAsync, cancellationToken);

    public async IAsyncEnumerable<CatalogSong> ReadCatalogAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var songs = inner.ReadCatalogAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await songs.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    StoreMetrics.RecordQuery(system, "catalog", started, ex);
                    throw;
                }

                if (!more)
                {
                    break;
                }

                yield return songs.Current;
            }
        }
        finally
        {
            await songs.DisposeAsync().ConfigureAwait(false);
        }

        StoreMetrics.RecordQuery(system, "catalog", started, null);
    }

    public Task<SongDetails?> GetSongAsync(string id, CancellationToken cancellationToken) =>
        TimeAsync("song", ct => inner.GetSongAsync(id, ct), cancellationToken);

    public Task<SimilarPage?> GetSimilarAsync(string id, int offset, int limit, CancellationToken cancellationToken) =>
        TimeAsync("similar", ct => inner.GetSimilarAsync(id, offset, limit, ct), cancellationToken);

    public Task<IReadOnlyList<IReadOnlyList<SongRef>>> GetSongsWithInstrumentsAsync(IReadOnlyList<int> instrumentCodes, int limitEach, CancellationToken cancellationToken) =>
        TimeAsync("songs_with_instrument", ct => inner.GetSongsWithInstrumentsAsync(instrumentCodes, limitEach, ct), cancellationToken);

    public Task<IReadOnlyList<RunRecord>> GetRunsAsync(int limit, CancellationToken cancellationToken) =>
        TimeAsync("runs", ct => inner.GetRunsAsync(limit, ct), cancellationToken);

    public Task<IReadOnlyList<SimilarityRunRecord>> GetSimilarityRunsAsync(int limit, CancellationToken cancellationToken) =>
        TimeAsync("similarity_runs", ct => inner.GetSimilarityRunsAsync(limit, ct), cancellationToken);

    public Task<StoreSummary> GetSummaryAsync(CancellationToken cancellationToken) =>
        TimeAsync("summary", inner.GetSummaryAsync, cancellationToken);

    public Task<ReadEndpoint> PingAsync(CancellationToken cancellationToken) =>
        TimeAsync("ping", inner.PingAsync, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private async Task<T> TimeAsync<T>(string operation, Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await read(cancellationToken).ConfigureAwait(false);
            StoreMetrics.RecordQuery(system, operation, started, null);
            return result;
        }
        catch (Exception ex)
        {
            StoreMetrics.RecordQuery(system, operation, started, ex);
            throw;
        }
    }
}
