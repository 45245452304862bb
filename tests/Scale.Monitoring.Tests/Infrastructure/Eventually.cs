using System.Diagnostics;
using Scale.Testing;

namespace Scale.Monitoring.Tests.Infrastructure;

/// <summary>Polling for a condition, for tests that wait on real servers.</summary>
public static class Eventually
{
    /// <summary>
    /// Polls <paramref name="condition"/> every <paramref name="poll"/> (default 500 ms) until it holds; fails the test
    /// after <paramref name="timeout"/>, or at once when <paramref name="process"/> exited (with its output).
    /// </summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, ScaleProcess? process = null, TimeSpan? poll = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout || process is { HasExited: true })
            {
                var detail = process is { HasExited: true } ? "\n" + await process.WaitAsync(TimeSpan.FromSeconds(5)) : string.Empty;
                Assert.Fail($"Timed out after {timeout.TotalSeconds:F0} s waiting for: {what}{detail}");
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(500));
        }
    }
}
