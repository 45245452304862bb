namespace Scale.Load;

/// <summary>
/// Keeps pool threads ready for the responses of a run. Why: the pool starts with one thread per core and adds about
/// one a second while all are busy. Any work in the same process that holds them (the chaos runner checks write
/// histories, runs probes and programs beside its load) then delays every response's completion, and that delay counts
/// in the measured latency. Measured on the 2-core lab: the in-process load of a chaos run saw p50 1.1 s for 2 s and
/// p99 0.3-0.8 s five more times in 90 s, while a separate `scale load` on the same service at the same time saw at
/// most 91 ms; with the pool's minimum raised to 64, none of it.
/// </summary>
public static class CompletionThreads
{
    /// <summary>The most threads kept ready, whatever the concurrency (each idle one costs a stack and nothing else).</summary>
    public const int MaxReserved = 64;

    private static readonly Lock Gate = new();

    /// <summary>
    /// Raises the pool's minimum of worker threads to <paramref name="concurrency"/> (at most <see cref="MaxReserved"/>;
    /// never lowers it) until the result is disposed, which restores the minimum it found unless someone changed it
    /// meanwhile: a run leaves the process as it found it.
    /// </summary>
    public static IDisposable Reserve(int concurrency)
    {
        lock (Gate)
        {
            ThreadPool.GetMinThreads(out var workers, out var completionPorts);
            var wanted = Math.Min(Math.Max(concurrency, 1), MaxReserved);
            if (workers >= wanted || !ThreadPool.SetMinThreads(wanted, completionPorts))
            {
                return new Reservation(Restore: null);
            }

            return new Reservation(() =>
            {
                lock (Gate)
                {
                    ThreadPool.GetMinThreads(out var current, out var ports);
                    if (current == wanted)
                    {
                        ThreadPool.SetMinThreads(workers, ports);
                    }
                }
            });
        }
    }

    private sealed class Reservation(Action? Restore) : IDisposable
    {
        private Action? _restore = Restore;

        public void Dispose() => Interlocked.Exchange(ref _restore, null)?.Invoke();
    }
}
