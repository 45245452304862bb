using Scale.Lab.Network;

namespace Scale.Lab.Tests.Network;

/// <summary>When the delay line lets packets go: ticks are milliseconds here (1000 per second), randomness seeded.</summary>
public sealed class DelayScheduleTests
{
    private static DelaySchedule Create(double delayMs, double jitterMs, int seed = 1) =>
        new(TimeSpan.FromMilliseconds(delayMs), TimeSpan.FromMilliseconds(jitterMs), 1000, new Random(seed));

    [Fact]
    public void Add_NoJitter_DueExactlyTheDelayAfterArrival()
    {
        var schedule = Create(100, 0);

        Assert.Equal(100, schedule.Add(1, 0));
        Assert.Equal(105, schedule.Add(2, 5));
        Assert.Equal(100, schedule.NextDue);
        Assert.Equal(2u, schedule.LastId);
    }

    [Fact]
    public void TryTakeDue_TakesOnlyWhatIsDue_ReportsTheLastId()
    {
        var schedule = Create(100, 0);
        schedule.Add(1, 0);
        schedule.Add(2, 10);
        schedule.Add(3, 20);

        Assert.False(schedule.TryTakeDue(99, out _));
        Assert.True(schedule.TryTakeDue(110, out var last));
        Assert.Equal(2u, last);
        Assert.Equal(1, schedule.Count);
        Assert.Equal(120, schedule.NextDue);
        Assert.True(schedule.TryTakeDue(1000, out last));
        Assert.Equal(3u, last);
        Assert.Null(schedule.NextDue);
    }

    [Fact]
    public void Add_Jitter_DueWithinDelayPlusMinusJitter_SpreadOut_NeverBeforeThePacketAhead()
    {
        var schedule = Create(100, 20, seed: 7);
        var dues = new List<long>();

        // One packet every 50 ms: further apart than the jitter's whole width, so order never holds one back.
        for (uint id = 1; id <= 1000; id++)
        {
            var arrival = id * 50L;
            var due = schedule.Add(id, arrival);
            Assert.InRange(due - arrival, 80, 120);
            dues.Add(due - arrival);
        }

        Assert.True(dues.Min() <= 82 && dues.Max() >= 118, "uniform over ±20 ms");
        Assert.InRange(dues.Average(), 98, 102);
    }

    [Fact]
    public void Add_JitterAtHighRate_KeepsArrivalOrder()
    {
        var schedule = Create(100, 20, seed: 3);
        var previous = long.MinValue;

        // A packet every millisecond: a later packet often draws an earlier time; it waits for the one ahead.
        for (uint id = 1; id <= 1000; id++)
        {
            var due = schedule.Add(id, id);
            Assert.True(due >= previous);
            Assert.InRange(due - id, 80, 120);
            previous = due;
        }
    }

    [Fact]
    public void Clear_ForgetsWaitingPackets_KeepsTheLastId()
    {
        var schedule = Create(100, 0);
        schedule.Add(5, 0);

        schedule.Clear();

        Assert.Equal(0, schedule.Count);
        Assert.Equal(5u, schedule.LastId);
    }

    [Fact]
    public void Constructor_NegativeDelay_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(1, -1));
    }
}
