using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using HdrHistogram;

namespace Scale.Load;

/// <summary>
/// Sends HTTP requests on a schedule and measures them honestly. Open model (a rate given): request i is due at
/// start + i / rate and its latency is measured from that moment, so a stalled server that holds up sends shows
/// up in the percentiles instead of hiding (no coordinated omission, as wrk2 and k6's constant-arrival-rate do);
/// sends that leave late are counted, and requests that would queue beyond a bound are dropped and counted.
/// Closed model (no rate): <see cref="LoadOptions.Concurrency"/> clients send back to back, as npm loadtest does.
/// </summary>
public sealed class LoadGenerator : IDisposable
{
    // The whole run: 1 µs to 1 hour at 3 significant digits (0.1 %). Each second of the series: up to 60 s at 2
    // digits (1 %), about 20 KB each instead of 200 KB, so a 300 s run's series stays small.
    private const long HighestMicroseconds = 3_600_000_000;
    private const long SecondHighestMicroseconds = 60_000_000;

    private readonly LoadOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpClient _client;
    private readonly object _gate = new();
    private readonly LongHistogram _total = NewHistogram();
    private readonly LongHistogram _lateness = NewHistogram();
    private readonly Dictionary<int, SecondAccumulator> _seconds = [];
    private readonly Dictionary<string, long> _errors = new(StringComparer.Ordinal);
    private readonly Dictionary<int, long> _statusCodes = [];
    private long _sent;
    private long _completed;
    private long _dropped;
    private long _late;
    private long _maxLatenessTicks;
    private long _lastSend;
    private long _start;

    /// <param name="options">What to send; validated here.</param>
    /// <param name="time">The clock for schedules and measurements (tests inject one).</param>
    /// <param name="handler">The HTTP handler; default: a SocketsHttpHandler with one connection per slot.</param>
    public LoadGenerator(LoadOptions options, TimeProvider? time = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time ?? TimeProvider.System;
        handler ??= new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.Concurrency,
            PooledConnectionLifetime = options.KeepAlive ? TimeSpan.FromMinutes(5) : TimeSpan.Zero,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Timeout,
        };
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Runs to the end (duration or count), then waits for the requests in flight.</summary>
    /// <param name="onSecond">Called about once a second with the second that just ended, as far as it is known (progress).</param>
    /// <param name="cancellationToken">Stops sending; what was measured so far is reported.</param>
    public async Task<LoadReport> RunAsync(Action<LoadSecond>? onSecond = null, CancellationToken cancellationToken = default)
    {
        var startedAt = _time.GetUtcNow();
        // On the real clock only: an injected one has no real latency to protect.
        using var threads = _time == TimeProvider.System ? CompletionThreads.Reserve(_options.Concurrency) : null;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        _start = _time.GetTimestamp();
        using var stopProgress = new CancellationTokenSource();
        var progress = onSecond is null ? Task.CompletedTask : ReportSecondsAsync(onSecond, stopProgress.Token);
        long due;
        try
        {
            due = _options.RequestsPerSecond is { } rate
                ? await RunOpenAsync(rate, cancellationToken)
                : await RunClosedAsync(cancellationToken);
        }
        finally
        {
            await stopProgress.CancelAsync();
            await progress;
        }

        var elapsed = _time.GetElapsedTime(_start);
        // Sends at 0, 1/r ... (n-1)/r cover n/r seconds: the sending window is up to the last send plus one interval.
        var lastSend = Interlocked.Read(ref _lastSend);
        var sendingTime = lastSend == 0 ? TimeSpan.Zero
            : _time.GetElapsedTime(_start, lastSend) + (_options.RequestsPerSecond is { } r ? TimeSpan.FromSeconds(1 / r) : TimeSpan.Zero);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        lock (_gate)
        {
            return new LoadReport
            {
                Options = _options,
                StartedAt = startedAt,
                Elapsed = elapsed,
                SendingTime = sendingTime,
                Due = due,
                Sent = _sent,
                Completed = _completed,
                Dropped = _dropped,
                Late = _late,
                MaxLateness = TimeSpan.FromTicks(_maxLatenessTicks),
                Lateness = LatencySummary.From(_lateness),
                Errors = new Dictionary<string, long>(_errors, StringComparer.Ordinal),
                StatusCodes = new Dictionary<int, long>(_statusCodes),
                Latency = LatencySummary.From(_total),
                Histogram = _total.Copy(),
                Series = _seconds.OrderBy(s => s.Key).Select(s => s.Value.ToSecond(s.Key)).ToList(),
                ProcessorTime = cpu,
            };
        }
    }

    /// <summary>Whole seconds since the run started (0 before it starts): the second being sent now.</summary>
    public int ElapsedSeconds => Volatile.Read(ref _start) == 0 ? 0 : (int)_time.GetElapsedTime(Volatile.Read(ref _start)).TotalSeconds;

    /// <summary>
    /// The seconds [<paramref name="fromSecond"/>, <paramref name="toSecond"/>) of the run so far, merged: what was
    /// due, answered and failed, and the latency of those answered. A second's requests may still be in flight, so a
    /// caller that wants final numbers leaves a second or two (the timeout at most) behind the one being sent.
    /// </summary>
    public LoadWindow Window(int fromSecond, int toSecond)
    {
        var histogram = new LongHistogram(SecondHighestMicroseconds, 2);
        long due = 0, completed = 0, dropped = 0, errors = 0;
        lock (_gate)
        {
            for (var second = Math.Max(0, fromSecond); second < toSecond; second++)
            {
                if (_seconds.TryGetValue(second, out var s))
                {
                    due += s.Due;
                    completed += s.Completed;
                    dropped += s.Dropped;
                    errors += s.Errors.Values.Sum();
                    histogram.Add(s.Histogram);
                }
            }
        }

        return new LoadWindow(fromSecond, toSecond, due, completed, dropped, errors, LatencySummary.From(histogram));
    }

    private Task<long> RunOpenAsync(double rate, CancellationToken cancellationToken)
    {
        if (_time != TimeProvider.System)
        {
            // An injected clock: wait on its timers.
            return ScheduleAsync(rate, wait => new ValueTask(Task.Delay(wait, _time, cancellationToken)), cancellationToken);
        }

        // The real clock: schedule on a thread of its own that sleeps to each due time. Timer-based waits (Task.Delay)
        // wake up a millisecond or more late, and that lateness would count in every latency; a thread sleep
        // (nanosleep, PreciseSleep) overshoots by tens of microseconds (measured: docs/load.md).
        return Task.Factory.StartNew(
            () => ScheduleAsync(rate, wait =>
            {
                PreciseSleep.For(wait);
                return ValueTask.CompletedTask;
            }, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
            TaskScheduler.Default).Unwrap();
    }

    private async Task<long> ScheduleAsync(double rate, Func<TimeSpan, ValueTask> waitFor, CancellationToken cancellationToken)
    {
        var slots = new SemaphoreSlim(_options.Concurrency, _options.Concurrency);
        var maxWaiting = _options.MaxWaiting ?? Math.Max(_options.Concurrency, (int)Math.Ceiling(rate));
        var waiting = 0;
        var inFlight = new List<Task>();
        var secondsPerRequest = 1.0 / rate;
        var last = LastIndex(rate);
        var slack = TimeSpan.FromMilliseconds(_time == TimeProvider.System ? 0.05 : 1);
        long index = 0;
        try
        {
            while (index < last && !cancellationToken.IsCancellationRequested)
            {
                var dueOffset = TimeSpan.FromSeconds(index * secondsPerRequest);
                var wait = dueOffset - _time.GetElapsedTime(_start);
                if (wait > slack)
                {
                    await waitFor(wait);
                    continue;
                }

                var now = _time.GetElapsedTime(_start);
                while (index < last && TimeSpan.FromSeconds(index * secondsPerRequest) <= now + slack)
                {
                    var intended = _start + (long)(index * secondsPerRequest * _time.TimestampFrequency);
                    var second = (int)(index * secondsPerRequest);
                    Count(second, s => s.Due++);
                    if (Volatile.Read(ref waiting) >= maxWaiting)
                    {
                        Interlocked.Increment(ref _dropped);
                        Count(second, s => s.Dropped++);
                    }
                    else
                    {
                        Interlocked.Increment(ref waiting);
                        // Started here: its synchronous part (tens of microseconds) is cheaper than a hop to the pool.
                        inFlight.Add(SendWhenFreeAsync(slots, intended, second, index, () => Interlocked.Decrement(ref waiting)));
                    }

                    index++;
                }

                if (inFlight.Count > 4 * _options.Concurrency)
                {
                    inFlight.RemoveAll(t => t.IsCompleted);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped early: report what was measured.
        }

        await Task.WhenAll(inFlight);
        return index;
    }

    private long LastIndex(double rate)
    {
        var byTime = _options.Duration is { } duration ? (long)Math.Round(duration.TotalSeconds * rate) : long.MaxValue;
        return Math.Min(byTime, _options.MaxRequests ?? long.MaxValue);
    }

    private async Task SendWhenFreeAsync(SemaphoreSlim slots, long intended, int second, long index, Action leftQueue)
    {
        try
        {
            await slots.WaitAsync();
        }
        finally
        {
            leftQueue();
        }

        try
        {
            var lateness = _time.GetTimestamp() - intended;
            var latenessTicks = (long)(lateness * (double)TimeSpan.TicksPerSecond / _time.TimestampFrequency);
            if (latenessTicks > _options.LateAfter.Ticks)
            {
                Interlocked.Increment(ref _late);
            }

            InterlockedMax(ref _maxLatenessTicks, latenessTicks);
            lock (_gate)
            {
                _lateness.RecordValue(Math.Clamp(latenessTicks / 10, 0, HighestMicroseconds));
            }

            await SendOneAsync(intended, second, index);
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task<long> RunClosedAsync(CancellationToken cancellationToken)
    {
        var end = _options.Duration is { } duration ? _start + (long)(duration.TotalSeconds * _time.TimestampFrequency) : long.MaxValue;
        var max = _options.MaxRequests ?? long.MaxValue;
        long claimed = 0;
        var clients = Enumerable.Range(0, _options.Concurrency).Select(_ => Task.Run(async () =>
        {
            long index;
            while (!cancellationToken.IsCancellationRequested && _time.GetTimestamp() < end && (index = Interlocked.Increment(ref claimed)) <= max)
            {
                var sentAt = _time.GetTimestamp();
                var second = (int)_time.GetElapsedTime(_start).TotalSeconds;
                Count(second, s => s.Due++);
                await SendOneAsync(sentAt, second, index - 1);
            }
        }, CancellationToken.None));
        await Task.WhenAll(clients);
        return Math.Min(Interlocked.Read(ref claimed), Interlocked.Read(ref _sent));
    }

    private async Task SendOneAsync(long measuredFrom, int second, long index)
    {
        Interlocked.Increment(ref _sent);
        InterlockedMax(ref _lastSend, _time.GetTimestamp());
        Count(second, s => s.Sent++);
        string? error;
        int? status = null;
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        // A timeout is measured when it fires, not once its cancellation has unwound through the handler (exceptions
        // take real time, and on an injected clock time moves on meanwhile).
        long timedOutAt = 0;
        using var onTimeout = timeout.Token.Register(() => Volatile.Write(ref timedOutAt, _time.GetTimestamp()));
        try
        {
            using var request = new HttpRequestMessage(new HttpMethod(_options.Method), _options.Targets is { Count: > 0 } targets ? targets[(int)(index % targets.Count)] : _options.Target);
            if (!_options.KeepAlive)
            {
                request.Headers.ConnectionClose = true;
            }

            if (_options.Body is { } body)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(_options.ContentType);
            }

            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            // The whole body, as a browser would wait for it.
            await using (var content = await response.Content.ReadAsStreamAsync(timeout.Token))
            {
                await content.CopyToAsync(Stream.Null, timeout.Token);
            }

            status = (int)response.StatusCode;
            error = status >= 500 ? "http 5xx" : status >= 400 ? "http 4xx" : null;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            error = "timeout";
        }
        catch (HttpRequestException)
        {
            error = "connection";
        }
        catch (IOException)
        {
            error = "connection";
        }

        var endedAt = error == "timeout" && Volatile.Read(ref timedOutAt) is > 0 and var firedAt ? firedAt : _time.GetTimestamp();
        var micros = Math.Clamp((long)(_time.GetElapsedTime(measuredFrom, endedAt).Ticks / 10), 1, HighestMicroseconds);
        lock (_gate)
        {
            _completed++;
            _total.RecordValue(micros);
            var accumulator = Second(second);
            accumulator.Completed++;
            accumulator.Histogram.RecordValue(Math.Min(micros, SecondHighestMicroseconds));
            if (status is { } code)
            {
                _statusCodes[code] = _statusCodes.GetValueOrDefault(code) + 1;
            }

            if (error is not null)
            {
                _errors[error] = _errors.GetValueOrDefault(error) + 1;
                accumulator.Errors[error] = accumulator.Errors.GetValueOrDefault(error) + 1;
            }
        }
    }

    private async Task ReportSecondsAsync(Action<LoadSecond> onSecond, CancellationToken cancellationToken)
    {
        var reported = 0;
        try
        {
            while (true)
            {
                var next = TimeSpan.FromSeconds(reported + 1) - _time.GetElapsedTime(_start);
                if (next > TimeSpan.Zero)
                {
                    await Task.Delay(next, _time, cancellationToken);
                }

                LoadSecond second;
                lock (_gate)
                {
                    second = Second(reported).ToSecond(reported);
                }

                onSecond(second);
                reported++;
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended.
        }
    }

    private void Count(int second, Action<SecondAccumulator> update)
    {
        lock (_gate)
        {
            update(Second(second));
        }
    }

    private SecondAccumulator Second(int second)
    {
        if (!_seconds.TryGetValue(second, out var accumulator))
        {
            accumulator = new SecondAccumulator();
            _seconds[second] = accumulator;
        }

        return accumulator;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static LongHistogram NewHistogram() => new(HighestMicroseconds, 3);

    private sealed class SecondAccumulator
    {
        public long Due;
        public long Sent;
        public long Completed;
        public long Dropped;
        public readonly Dictionary<string, long> Errors = new(StringComparer.Ordinal);
        public readonly LongHistogram Histogram = new(SecondHighestMicroseconds, 2);

        public LoadSecond ToSecond(int second) =>
            new(second, Due, Sent, Completed, Dropped, new Dictionary<string, long>(Errors, StringComparer.Ordinal), LatencySummary.From(Histogram));
    }
}
