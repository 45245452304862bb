using System.Diagnostics;
using Npgsql;

namespace Scale.Chaos.Probes;

/// <summary>
/// Writes numbered rows to the primary at a steady rate and remembers which ones PostgreSQL acknowledged (the commit
/// returned). Afterwards every acknowledged row must be there: with synchronous replication a failover loses none.
/// The longest time between two acknowledged writes is how long writes were unavailable.
/// </summary>
public sealed class WriteProber : IAsyncDisposable
{
    private const string Table = "chaos_write_probe";
    private readonly string _connectionString;
    private readonly double _rate;
    private readonly TimeProvider _time;
    private readonly List<(long Id, long At)> _acknowledged = [];
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _attempts;
    private long _failures;
    private string? _lastError;

    public WriteProber(string connectionString, double ratePerSecond, TimeProvider? time = null)
    {
        _connectionString = connectionString;
        _rate = ratePerSecond > 0 ? ratePerSecond : throw new ChaosException("the write prober's rate must be positive");
        _time = time ?? TimeProvider.System;
    }

    /// <summary>A fresh run's identifier: rows from earlier runs are left alone.</summary>
    public string RunId { get; } = Guid.NewGuid().ToString("N");

    public long Attempts => Interlocked.Read(ref _attempts);

    public long Failures => Interlocked.Read(ref _failures);

    public string? LastError => Volatile.Read(ref _lastError);

    public long Acknowledged
    {
        get
        {
            lock (_gate)
            {
                return _acknowledged.Count;
            }
        }
    }

    /// <summary>Creates the table when missing and starts writing.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using (var connection = new NpgsqlConnection(_connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand($"CREATE TABLE IF NOT EXISTS {Table} (run text NOT NULL, id bigint NOT NULL, written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run, id))", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        _loop = Task.Run(() => LoopAsync(_stop.Token), CancellationToken.None);
    }

    /// <summary>The longest stretch without an acknowledged write between two moments (timestamps of <see cref="TimeProvider"/>), in seconds.</summary>
    public double LongestGapSeconds(long from, long to)
    {
        lock (_gate)
        {
            var previous = from;
            var longest = 0.0;
            foreach (var (_, at) in _acknowledged)
            {
                if (at < from)
                {
                    continue;
                }

                if (at > to)
                {
                    break;
                }

                longest = Math.Max(longest, _time.GetElapsedTime(previous, at).TotalSeconds);
                previous = at;
            }

            return Math.Max(longest, _time.GetElapsedTime(previous, to).TotalSeconds);
        }
    }

    /// <summary>Acknowledged rows that are not in the table now (read from the primary).</summary>
    public async Task<long> LostAsync(CancellationToken cancellationToken)
    {
        long[] acknowledged;
        lock (_gate)
        {
            acknowledged = _acknowledged.Select(a => a.Id).ToArray();
        }

        var present = new HashSet<long>();
        // The primary may have just changed: a few attempts before calling rows lost.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_connectionString);
                await connection.OpenAsync(cancellationToken);
                await using var select = new NpgsqlCommand($"SELECT id FROM {Table} WHERE run = @run", connection);
                select.Parameters.AddWithValue("run", RunId);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    present.Add(reader.GetInt64(0));
                }

                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && attempt < 10)
            {
                await Task.Delay(TimeSpan.FromSeconds(2), _time, cancellationToken);
            }
        }

        return acknowledged.Count(id => !present.Contains(id));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stop.Dispose();
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(1 / _rate);
        var clock = Stopwatch.StartNew();
        long next = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var wait = (interval * next) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, _time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            var id = next++;
            Interlocked.Increment(ref _attempts);
            try
            {
                await using var connection = new NpgsqlConnection(_connectionString);
                await connection.OpenAsync(cancellationToken);
                await using var insert = new NpgsqlCommand($"INSERT INTO {Table} (run, id) VALUES (@run, @id)", connection);
                insert.Parameters.AddWithValue("run", RunId);
                insert.Parameters.AddWithValue("id", id);
                await insert.ExecuteNonQueryAsync(cancellationToken);
                lock (_gate)
                {
                    _acknowledged.Add((id, _time.GetTimestamp()));
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException or IOException)
            {
                // Unavailable: the gap in acknowledgements measures it. Skipped ids are never retried (a retry could
                // hide a write that was in fact committed and then lost).
                Interlocked.Increment(ref _failures);
                Volatile.Write(ref _lastError, ex.Message);
            }

            if (clock.Elapsed > interval * next)
            {
                // Behind (an attempt waited for its timeout): skip ahead rather than burst.
                next = (long)(clock.Elapsed / interval);
            }
        }
    }
}
