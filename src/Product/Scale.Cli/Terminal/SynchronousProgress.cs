namespace Scale.Cli.Terminal;

/// <summary>
/// An <see cref="IProgress{T}"/> that calls back on the reporting thread. <see cref="Progress{T}"/> posts to the
/// thread pool, which at thousands of reports a second only adds work and reorders updates.
/// </summary>
internal sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
