using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scale.Store;

namespace Scale.Web.Catalog;

/// <summary>
/// What the pages read from memory, all from one data version: the song catalogue, the store's counts (invalid files
/// by reason cost a scan, so they are read once per version, not per request) and the latest similarity run.
/// </summary>
public sealed record CatalogSnapshot(SongCatalog Songs, StoreSummary Summary, SimilarityRunRecord? LastSimilarityRun);

/// <summary>
/// Holds the current <see cref="CatalogSnapshot"/>: loaded before the server takes requests, then reloaded in the
/// background whenever the store's data version changes (polled every <see cref="ScaleWebOptions.CatalogRefreshInterval"/>)
/// and swapped in with one reference write, so a request sees the old snapshot or the new one, never a mix.
/// </summary>
public sealed partial class CatalogProvider : BackgroundService
{
    private readonly IScaleReader _reader;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _refreshInterval;
    private readonly ILogger<CatalogProvider> _logger;
    private readonly SemaphoreSlim _loading = new(1, 1);
    private CatalogSnapshot? _current;
    private long _lastLoadStarted;
    private TimeSpan _lastLoadDuration;

    public CatalogProvider(IScaleReader reader, ScaleWebOptions options, ILogger<CatalogProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _reader = reader;
        _timeProvider = options.TimeProvider;
        _refreshInterval = options.CatalogRefreshInterval;
        _logger = logger;
    }

    /// <summary>The snapshot in force; the host loads the first one before it starts serving.</summary>
    public CatalogSnapshot Current =>
        Volatile.Read(ref _current) ?? throw new InvalidOperationException("The catalogue has not been loaded yet.");

    /// <summary>The snapshot in force, or null before the first load (error pages render without it).</summary>
    public CatalogSnapshot? Latest => Volatile.Read(ref _current);

    /// <summary>Loads the first snapshot: the server does not take requests before this finishes.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reloads when the store's data version differs from the current snapshot's; true when it did.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        await _loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var version = await _reader.GetDataVersionAsync(cancellationToken).ConfigureAwait(false);
            var current = Volatile.Read(ref _current);
            if (current is not null && current.Songs.DataVersion == version)
            {
                return false;
            }

            var started = _timeProvider.GetTimestamp();
            _lastLoadStarted = started;
            var songs = await SongCatalog.LoadAsync(_reader, _timeProvider, cancellationToken).ConfigureAwait(false);
            var summary = await _reader.GetSummaryAsync(cancellationToken).ConfigureAwait(false);
            var similarityRuns = await _reader.GetSimilarityRunsAsync(20, cancellationToken).ConfigureAwait(false);
            var lastSimilarity = similarityRuns.FirstOrDefault(r => r.Status == RunStatus.Completed);
            Volatile.Write(ref _current, new CatalogSnapshot(songs, summary, lastSimilarity));
            var elapsed = _timeProvider.GetElapsedTime(started);
            _lastLoadDuration = elapsed;
            LogLoaded(songs.Count, songs.DataVersion, elapsed.TotalMilliseconds);
            return true;
        }
        finally
        {
            _loading.Release();
        }
    }

    public override void Dispose()
    {
        _loading.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_refreshInterval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                // While a run commits batches the version changes at every poll; a load costs seconds of one core,
                // so reloads are spaced to at least five load times apart (at most ~20% of a core spent on them).
                if (_timeProvider.GetElapsedTime(_lastLoadStarted) < _lastLoadDuration * 5)
                {
                    continue;
                }

                try
                {
                    await RefreshAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The old snapshot keeps serving; the next tick tries again.
                    LogRefreshFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Catalogue loaded: {Songs} songs, data version {Version}, in {Milliseconds:F0} ms")]
    private partial void LogLoaded(int songs, string version, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Catalogue refresh failed; still serving the previous data")]
    private partial void LogRefreshFailed(Exception exception);
}
