namespace Scale.Pipeline;

/// <summary>
/// Bounds the bytes read ahead of the workers. A file larger than the whole budget is still let through when
/// nothing else is in flight, so one huge file cannot stall the job.
/// </summary>
internal sealed class ByteBudget(long capacity) : IDisposable
{
    private readonly SemaphoreSlim _changed = new(0);
    private long _inFlight;

    public async ValueTask AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            var current = Interlocked.Read(ref _inFlight);
            if ((current == 0 || current + bytes <= capacity) &&
                Interlocked.CompareExchange(ref _inFlight, current + bytes, current) == current)
            {
                return;
            }

            if (current != 0 && current + bytes > capacity)
            {
                await _changed.WaitAsync(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public void Release(long bytes)
    {
        Interlocked.Add(ref _inFlight, -bytes);
        if (_changed.CurrentCount == 0)
        {
            _changed.Release();
        }
    }

    public void Dispose() => _changed.Dispose();
}
