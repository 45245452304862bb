using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Scale.Store;
using Scale.Web.Health;

namespace Scale.Web.Tests.Infrastructure;

/// <summary>The web app in the in-memory test server, its warm-up sent through that server too (optionally through a <see cref="WarmupGate"/>).</summary>
public static class TestApps
{
    public static ScaleWebOptions Options(string db, WarmupGate? gate = null, LogLevel minimumLevel = LogLevel.Warning, ILoggerProvider? logs = null) => new()
    {
        Database = db,
        Urls = null,
        WarmupHandler = services =>
        {
            var server = (TestServer)services.GetRequiredService<IServer>();
            if (gate is null)
            {
                return server.CreateHandler();
            }

            gate.InnerHandler = server.CreateHandler();
            return gate;
        },
        ConfigureBuilder = builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Logging.SetMinimumLevel(minimumLevel);
            if (logs is not null)
            {
                builder.Logging.AddProvider(logs);
            }
        },
    };

    internal static WebWarmup WarmupOf(WebApplication app) => app.Services.GetRequiredService<WebWarmup>();

    /// <summary>A copy of the fixture's store in a folder of its own (deleted by <see cref="IDisposable.Dispose"/>), for tests that break it.</summary>
    public static TempStore CopyStore(StoreFixture store) => new(store.DbPath);
}

/// <summary>A copy of a store that a test may move away and back.</summary>
public sealed class TempStore : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "scale-web-tests", Guid.NewGuid().ToString("N"));

    public TempStore(string source)
    {
        Directory.CreateDirectory(_folder);
        DbPath = Path.Combine(_folder, "scale.db");
        File.Copy(source, DbPath);
    }

    public string DbPath { get; }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Between the warm-up and the server: records every request it sends, and holds them all until <see cref="Open"/>
/// (never, for a warm-up that must run out of time).
/// </summary>
public sealed class WarmupGate : DelegatingHandler
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstRequest = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<(string Method, string PathAndQuery, IReadOnlyList<string> Marks)> Requests { get; } = new();

    /// <summary>Completes when the warm-up sent its first request (and is waiting here).</summary>
    public Task FirstRequest => _firstRequest.Task;

    public void Open() => _open.TrySetResult();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Enqueue((request.Method.Method, request.RequestUri!.PathAndQuery, request.Headers.TryGetValues(WarmupRequests.HeaderName, out var marks) ? [.. marks] : []));
        _firstRequest.TrySetResult();
        await _open.Task.WaitAsync(cancellationToken);
        return await base.SendAsync(request, cancellationToken);
    }
}

/// <summary>
/// The store's reader, until told otherwise: <see cref="Down"/> fails every call as when no database server answers;
/// <see cref="HangQueries"/> makes the per-request reads wait until cancelled (a frozen server); <see cref="HangPings"/>
/// makes pings wait, cancellation or not, until <see cref="ReleasePings"/> (as Npgsql may, facing a frozen server).
/// </summary>
public sealed class SwitchableReader(IScaleReader inner) : IScaleReader
{
    private readonly TaskCompletionSource _queryHung = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _pings = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _down;
    private volatile bool _hangQueries;
    private volatile bool _hangPings;
    private int _pingCalls;

    public bool Down
    {
        get => _down;
        set => _down = value;
    }

    public bool HangQueries
    {
        get => _hangQueries;
        set => _hangQueries = value;
    }

    public bool HangPings
    {
        get => _hangPings;
        set => _hangPings = value;
    }

    /// <summary>Pings asked for, hung or not.</summary>
    public int PingCalls => Volatile.Read(ref _pingCalls);

    /// <summary>Completes when a query first waits in <see cref="HangQueries"/>.</summary>
    public Task QueryHung => _queryHung.Task;

    /// <summary>The hung pings answer (with the real store's answer).</summary>
    public void ReleasePings() => Interlocked.Exchange(ref _pings, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public Task<string> GetDataVersionAsync(CancellationToken cancellationToken) => Down ? Fail<string>() : inner.GetDataVersionAsync(cancellationToken);

    public async IAsyncEnumerable<CatalogSong> ReadCatalogAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var song in (Down ? throw Unavailable() : inner.ReadCatalogAsync(cancellationToken)).ConfigureAwait(false))
        {
            yield return song;
        }
    }

    public Task<SongDetails?> GetSongAsync(string id, CancellationToken cancellationToken) => Query(ct => inner.GetSongAsync(id, ct), cancellationToken);

    public Task<SimilarPage?> GetSimilarAsync(string id, int offset, int limit, CancellationToken cancellationToken) =>
        Query(ct => inner.GetSimilarAsync(id, offset, limit, ct), cancellationToken);

    public Task<IReadOnlyList<IReadOnlyList<SongRef>>> GetSongsWithInstrumentsAsync(IReadOnlyList<int> instrumentCodes, int limitEach, CancellationToken cancellationToken) =>
        Query(ct => inner.GetSongsWithInstrumentsAsync(instrumentCodes, limitEach, ct), cancellationToken);

    public Task<IReadOnlyList<RunRecord>> GetRunsAsync(int limit, CancellationToken cancellationToken) => Query(ct => inner.GetRunsAsync(limit, ct), cancellationToken);

    public Task<IReadOnlyList<SimilarityRunRecord>> GetSimilarityRunsAsync(int limit, CancellationToken cancellationToken) =>
        Down ? Fail<IReadOnlyList<SimilarityRunRecord>>() : inner.GetSimilarityRunsAsync(limit, cancellationToken);

    public Task<StoreSummary> GetSummaryAsync(CancellationToken cancellationToken) => Down ? Fail<StoreSummary>() : inner.GetSummaryAsync(cancellationToken);

    public async Task<ReadEndpoint> PingAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _pingCalls);
        if (HangPings)
        {
            await Volatile.Read(ref _pings).Task; // deaf to cancellation, on purpose
        }

        return Down ? throw Unavailable() : await inner.PingAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private async Task<T> Query<T>(Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        if (HangQueries)
        {
            _queryHung.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return Down ? throw Unavailable() : await read(cancellationToken);
    }

    private static StoreUnavailableException Unavailable() => new("No database server answered (switched off by the test).");

    private static Task<T> Fail<T>() => Task.FromException<T>(Unavailable());
}

/// <summary>Every log entry, for tests that check what is (not) logged.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, string)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue((category, logLevel, formatter(state, exception)));
    }
}
