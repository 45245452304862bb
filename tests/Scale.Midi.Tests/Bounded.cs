namespace Scale.Midi.Tests;

/// <summary>Runs work on the thread pool and fails the test if it does not finish in time (a hang).</summary>
internal static class Bounded
{
    public static T Run<T>(Func<T> work, TimeSpan timeout, string what)
    {
        var task = Task.Run(work);
        if (!task.Wait(timeout))
        {
            Assert.Fail($"{what} did not finish within {timeout.TotalSeconds:0} s (a hang).");
        }

        return task.Result;
    }

    /// <summary>Extract under a generous timeout; an exception fails the test with the input named.</summary>
    public static MidiSummary Extract(MidiExtractor extractor, byte[] bytes, string what) =>
        Run(() => extractor.Extract(bytes), TimeSpan.FromSeconds(30), what);
}
