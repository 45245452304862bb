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

/// <summary>A temporary folder, deleted on disposal.</summary>
public sealed class TempFolder(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
