namespace Scale.Pipeline.Tests;

public class ByteBudgetTests
{
    [Fact]
    public async Task AcquireAsync_OverCapacity_WaitsUntilReleased()
    {
        using var budget = new ByteBudget(100);
        await budget.AcquireAsync(80, CancellationToken.None);

        var second = budget.AcquireAsync(40, CancellationToken.None).AsTask();
        await Task.Delay(200);
        Assert.False(second.IsCompleted);

        budget.Release(80);
        await second.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AcquireAsync_ItemLargerThanCapacityWithNothingInFlight_PassesAlone()
    {
        using var budget = new ByteBudget(100);

        await budget.AcquireAsync(1_000, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        var next = budget.AcquireAsync(1, CancellationToken.None).AsTask();
        await Task.Delay(200);
        Assert.False(next.IsCompleted);
        budget.Release(1_000);
        await next.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AcquireAsync_Cancelled_Throws()
    {
        using var budget = new ByteBudget(10);
        await budget.AcquireAsync(10, CancellationToken.None);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => budget.AcquireAsync(5, cancel.Token).AsTask());
    }
}
