namespace Scale.Lab.Tests;

/// <summary>The lock that keeps two `scale lab up`/`down` apart: a real file and the kernel's flock, in a folder of the test's own.</summary>
public sealed class LabLockTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("scale-lab-lock-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Held_ASecondWaits_SaysWhoHoldsIt_ThenGivesUpWithWhatToDo()
    {
        var path = LabLock.PathFor(27000, _folder);
        using var first = await LabLock.AcquireAsync(path, TimeSpan.FromSeconds(1), _ => throw new InvalidOperationException("the first must not wait"));
        var said = new List<string>();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => LabLock.AcquireAsync(path, TimeSpan.FromSeconds(0.6), said.Add));

        var waiting = Assert.Single(said);
        Assert.Contains($"pid {Environment.ProcessId}", waiting, StringComparison.Ordinal);
        Assert.Contains("waiting for it", waiting, StringComparison.Ordinal);
        Assert.Contains($"pid {Environment.ProcessId}", error.Message, StringComparison.Ordinal);
        Assert.Contains("scale lab down", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Released_TheWaiterGoesOn()
    {
        var path = LabLock.PathFor(27001, _folder);
        var first = await LabLock.AcquireAsync(path, TimeSpan.FromSeconds(1), _ => { });
        var said = new List<string>();
        var second = LabLock.AcquireAsync(path, TimeSpan.FromSeconds(30), said.Add);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(second.IsCompleted);

        first.Dispose();
        using var got = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(said);
    }

    [Fact]
    public async Task OtherPorts_AreOtherLabs_NoWait()
    {
        using var a = await LabLock.AcquireAsync(LabLock.PathFor(27000, _folder), TimeSpan.FromSeconds(1), _ => throw new InvalidOperationException("no wait"));
        using var b = await LabLock.AcquireAsync(LabLock.PathFor(28000, _folder), TimeSpan.FromSeconds(1), _ => throw new InvalidOperationException("no wait"));
        Assert.NotEqual(LabLock.PathFor(27000, _folder), LabLock.PathFor(28000, _folder));
    }

    [Fact]
    public async Task AKilledHolder_LeavesNoStaleLock()
    {
        // The kernel drops a flock with its holder: a process holding it (flock(1) on the same file) is killed.
        var path = LabLock.PathFor(27002, _folder);
        using var holder = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("flock", ["-x", path, "sleep", "60"]) { UseShellExecute = false })!;
        var said = new List<string>();
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        var waiter = LabLock.AcquireAsync(path, TimeSpan.FromSeconds(30), said.Add);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(waiter.IsCompleted);

        holder.Kill(entireProcessTree: true);
        using var got = await waiter.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(said);
    }
}
