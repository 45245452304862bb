namespace Scale.Lab.Network;

/// <summary>
/// When each queued packet may go: its arrival plus the delay plus a jitter drawn uniformly from ±jitter (netem's
/// distribution when none is named), but never before the packet queued ahead of it, so the line keeps the order
/// packets came in (netem with jitter would reorder them; TCP would then see spurious losses). Times are in
/// <see cref="System.Diagnostics.Stopwatch"/> ticks.
/// </summary>
/// <remarks>
/// Keeping order means a packet can wait longer than delay + jitter when one ahead of it drew a longer delay: at high
/// packet rates the delay tends to delay + jitter. Without jitter every packet waits exactly the delay.
/// </remarks>
public sealed class DelaySchedule
{
    private readonly Queue<(uint Id, long Due)> _waiting = new();
    private readonly long _delay;
    private readonly long _jitter;
    private readonly Random _random;
    private long _lastDue = long.MinValue;

    public DelaySchedule(TimeSpan delay, TimeSpan jitter, long ticksPerSecond, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(jitter, TimeSpan.Zero);
        _delay = (long)(delay.TotalSeconds * ticksPerSecond);
        _jitter = (long)(jitter.TotalSeconds * ticksPerSecond);
        _random = random;
    }

    /// <summary>Packets waiting.</summary>
    public int Count => _waiting.Count;

    /// <summary>When the first waiting packet is due; null when none waits.</summary>
    public long? NextDue => _waiting.TryPeek(out var first) ? first.Due : null;

    /// <summary>The last packet id queued (0 before any).</summary>
    public uint LastId { get; private set; }

    /// <summary>Queues a packet that arrived at <paramref name="arrival"/>; returns when it is due.</summary>
    public long Add(uint id, long arrival)
    {
        var due = arrival + _delay;
        if (_jitter > 0)
        {
            due += _random.NextInt64(-_jitter, _jitter + 1);
        }

        due = Math.Max(due, _lastDue);
        _lastDue = due;
        _waiting.Enqueue((id, due));
        LastId = id;
        return due;
    }

    /// <summary>Takes every packet due by <paramref name="now"/>; <paramref name="lastId"/> is the last of them.</summary>
    public bool TryTakeDue(long now, out uint lastId)
    {
        lastId = 0;
        var any = false;
        while (_waiting.TryPeek(out var first) && first.Due <= now)
        {
            _waiting.Dequeue();
            lastId = first.Id;
            any = true;
        }

        return any;
    }

    /// <summary>Forgets every waiting packet (they are let go at once).</summary>
    public void Clear() => _waiting.Clear();
}
