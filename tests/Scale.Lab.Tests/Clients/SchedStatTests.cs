using Scale.Lab.Supervision;
using Scale.Testing;

namespace Scale.Lab.Tests.Clients;

/// <summary>The scheduler's per-thread accounting, as Linux writes it and from this very process.</summary>
public sealed class SchedStatTests : IDisposable
{
    private readonly TempFolder _proc = new("scale-schedstat");

    public void Dispose() => _proc.Dispose();

    [Theory]
    [InlineData("556501414 12217287 223\n", 556501414L, 12217287L)]
    [InlineData("0 0 0", 0L, 0L)]
    public void Parse_KernelLine_RunningAndWaitingNanoseconds(string line, long running, long waiting)
    {
        Assert.Equal((running, waiting), SchedStat.Parse(line));
    }

    [Theory]
    [InlineData("")]
    [InlineData("12")]
    [InlineData("a b c")]
    [InlineData("-1 5 3")]
    public void Parse_NotTheKernelsLine_Null(string line)
    {
        Assert.Null(SchedStat.Parse(line));
    }

    [Fact]
    public void Read_ThreadsOfAProcess_SummedInto_TimeSpans()
    {
        // A /proc of two threads (and one that exited between the listing and the read: no schedstat file).
        WriteThread(4242, 4242, "2000000000 500000000 10\n");
        WriteThread(4242, 4250, "1500000000 3000000000 7\n");
        Directory.CreateDirectory(Path.Join(_proc.Path, "4242", "task", "4251"));

        var schedule = SchedStat.Read(4242, _proc.Path);

        Assert.Equal(new CpuSchedule(TimeSpan.FromSeconds(3.5), TimeSpan.FromSeconds(3.5)), schedule);
        Assert.Null(SchedStat.Read(4243, _proc.Path));
    }

    [Fact]
    public void Read_ThisProcess_HasRunOnACpu()
    {
        var spin = System.Diagnostics.Stopwatch.StartNew();
        while (spin.ElapsedMilliseconds < 50)
        {
            // Burn a little CPU, so the reading cannot be zero.
        }

        var schedule = SchedStat.Read(Environment.ProcessId);

        Assert.NotNull(schedule);
        Assert.True(schedule.Value.Running >= TimeSpan.FromMilliseconds(40), $"ran {schedule.Value.Running}");
        Assert.True(schedule.Value.Waiting >= TimeSpan.Zero);
    }

    [Fact]
    public void Ledger_BootingUntilReadyOrAbandoned_BootsRecordedInOrder()
    {
        var ledger = new IdleBootLedger();
        ledger.Started(["web-a1", "web-a2"]);
        ledger.Started(["web-b1"]);
        Assert.Equal(["web-a1", "web-a2", "web-b1"], ledger.Booting.Order(StringComparer.Ordinal));

        var schedule = new CpuSchedule(TimeSpan.FromSeconds(8.4), TimeSpan.FromSeconds(95.1));
        ledger.Ready("web-a2", TimeSpan.FromSeconds(47.3), schedule);
        // An instance whose threads could not be read (it exited meanwhile) is ready, with no boot to show.
        ledger.Ready("web-a1", TimeSpan.FromSeconds(48.3), null);
        ledger.Abandoned(["web-b1"]);

        Assert.Empty(ledger.Booting);
        Assert.Equal([new IdleBoot("web-a2", TimeSpan.FromSeconds(47.3), schedule)], ledger.Boots);
    }

    private void WriteThread(int pid, int tid, string schedstat)
    {
        var folder = Path.Join(_proc.Path, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "task", tid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Join(folder, "schedstat"), schedstat);
    }
}
