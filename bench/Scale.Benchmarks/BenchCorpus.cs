namespace Scale.Benchmarks;

/// <summary>
/// The MIDI files a benchmark reads: SCALE_BENCH_CORPUS if set, else the team's shared corpus, else the Debian
/// files the tests download (tests/run fetches them into .cache/debian-midi).
/// </summary>
internal static class BenchCorpus
{
    private static readonly string[] Extensions = [".mid", ".midi", ".kar", ".rmi"];

    public static IReadOnlyList<byte[]> Load()
    {
        var folder = Environment.GetEnvironmentVariable("SCALE_BENCH_CORPUS");
        if (string.IsNullOrEmpty(folder))
        {
            folder = new[] { "/work/shared/midi-corpus/real", Path.Combine(RepoRoot(), ".cache", "debian-midi") }.FirstOrDefault(Directory.Exists)
                ?? throw new InvalidOperationException("No corpus: set SCALE_BENCH_CORPUS to a folder of MIDI files, or run tests/run once to download Debian's.");
        }

        return Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(File.ReadAllBytes)
            .ToList();
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Scale.slnx")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
