namespace Scale.Monitoring.Tests.Infrastructure;

/// <summary>Disposes a list of things together, in reverse order.</summary>
public sealed class Disposables(IEnumerable<IDisposable> items) : IDisposable
{
    private readonly List<IDisposable> _items = [.. items];

    public void Dispose()
    {
        for (var i = _items.Count - 1; i >= 0; i--)
        {
            _items[i].Dispose();
        }
    }
}
