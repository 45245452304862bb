namespace Scale.Corpus.Tests.Sources;

/// <summary>A temporary folder deleted with the test.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Path = Directory.CreateTempSubdirectory("scale-corpus-tests-").FullName;

    public string Path { get; }

    /// <summary>Writes a file at a '/'-separated path under the folder, creating folders on the way.</summary>
    public string Write(string relative, byte[] data)
    {
        var full = Combine(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, data);
        return full;
    }

    public string Combine(string relative) => System.IO.Path.Join(Path, relative);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Leftovers in /tmp do not fail a test.
        }
    }
}
