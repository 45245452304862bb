using System.Diagnostics;
using System.IO.Compression;
using System.Text;

namespace Scale.Testing;

/// <summary>One MIDI file from a Debian package: the package, its install path, and where it lies in the cache.</summary>
/// <param name="Package">Binary package name, e.g. "mma".</param>
/// <param name="InstallPath">Path the package installs it to, e.g. "/usr/share/games/crimson/music/default.mid"
/// (a gunzipped copy of "x.mid.gz" is named "x.mid").</param>
/// <param name="FullPath">The file in the cache.</param>
public sealed record DebianMidiFile(string Package, string InstallPath, string FullPath)
{
    /// <summary>"package/install/path", with '/' separators: the corpus's own naming (real/debian/&lt;pkg&gt;/...).</summary>
    public string Name => Package + InstallPath;

    public override string ToString() => Name;
}

/// <summary>
/// Real MIDI files, got the way a user gets them: <c>apt-get download</c> of Debian packages that ship music,
/// <c>dpkg -x</c> of each (nothing is installed), and a gunzipped copy of every <c>*.mid.gz</c>. Done once per cache
/// folder (a marker file records it) under a cross-process lock, and once per test process.
/// </summary>
/// <remarks>
/// The cache is SCALE_TEST_CACHE, else &lt;repo root&gt;/.cache/debian-midi (the repo root holds Scale.slnx). The
/// package lists must be current: <c>apt-get update</c> first (CI does). No version is pinned, so the files are the
/// mirror's current ones. SCALE_MIDI_CORPUS may name a folder of more MIDI files (e.g. a local corpus); they are
/// offered by <see cref="LocalFiles"/> and never required.
/// </remarks>
public static class DebianMidiCorpus
{
    /// <summary>Packages that ship real songs (General MIDI music).</summary>
    public static IReadOnlyList<string> SongPackages { get; } =
    [
        "chuck-data", "crimson", "freedink-data", "kobodeluxe-data", "liquidwar-data", "mma", "openttd-openmsx",
        "pd-mrpeach", "pianobooster", "pinball-table-hurd-data", "planetblupi-music-midi", "playmidi", "sfront",
        "simutrans-data", "timidity",
    ];

    /// <summary>Packages whose ".mid" files are MIDI but not General MIDI songs (previews, game note charts).</summary>
    public static IReadOnlyList<string> NonSongPackages { get; } = ["fretsonfire-songs-sectoid", "songwrite"];

    /// <summary>Packages whose ".MID"/".mid" files are not MIDI at all (MapInfo GIS attribute tables).</summary>
    public static IReadOnlyList<string> NotMidiPackages { get; } = ["libterralib-doc"];

    public static IReadOnlyList<string> Packages { get; } =
        [.. SongPackages.Concat(NonSongPackages).Concat(NotMidiPackages).Order(StringComparer.Ordinal)];

    private const string MarkerName = "complete-v2.txt";
    private static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(20);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(15);
    private static readonly Lazy<IReadOnlyList<DebianMidiFile>> Cached = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Every MIDI file (.mid, .midi, .kar, .rmi, .smf, any case) of <see cref="Packages"/>; downloads on first use.</summary>
    public static IReadOnlyList<DebianMidiFile> Files() => Cached.Value;

    /// <summary>SCALE_TEST_CACHE, else &lt;repo root&gt;/.cache/debian-midi.</summary>
    public static string CacheDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("SCALE_TEST_CACHE");
        return string.IsNullOrWhiteSpace(fromEnvironment)
            ? Path.Join(RepositoryRoot(), ".cache", "debian-midi")
            : Path.GetFullPath(fromEnvironment);
    }

    /// <summary>The folder holding Scale.slnx, above the test assembly.</summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Join(directory.FullName, "Scale.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException(
            $"Cannot find the repository (a folder with Scale.slnx) above '{AppContext.BaseDirectory}'; set SCALE_TEST_CACHE.");
    }

    /// <summary>The MIDI files under SCALE_MIDI_CORPUS (recursively), or none when it is not set.</summary>
    public static IReadOnlyList<string> LocalFiles()
    {
        var folder = Environment.GetEnvironmentVariable("SCALE_MIDI_CORPUS");
        if (string.IsNullOrWhiteSpace(folder))
        {
            return [];
        }

        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"SCALE_MIDI_CORPUS names '{folder}', which is not a folder.");
        }

        return [.. EnumerateMidiFiles(folder).Order(StringComparer.Ordinal)];
    }

    /// <summary>True for .mid, .midi, .kar, .rmi and .smf, in any letter case.</summary>
    public static bool IsMidiFileName(string path)
    {
        var extension = Path.GetExtension(path);
        return extension.Equals(".mid", StringComparison.OrdinalIgnoreCase) ||
               extension.Equals(".midi", StringComparison.OrdinalIgnoreCase) ||
               extension.Equals(".kar", StringComparison.OrdinalIgnoreCase) ||
               extension.Equals(".rmi", StringComparison.OrdinalIgnoreCase) ||
               extension.Equals(".smf", StringComparison.OrdinalIgnoreCase);
    }

    private static List<DebianMidiFile> Load()
    {
        var cache = CacheDirectory();
        Directory.CreateDirectory(cache);
        var extracted = Path.Join(cache, "x");
        var marker = Path.Join(cache, MarkerName);
        var expected = string.Join('\n', Packages) + "\n";

        using (AcquireLock(Path.Join(cache, "download.lock")))
        {
            if (!File.Exists(marker) || File.ReadAllText(marker) != expected)
            {
                Populate(cache, extracted);
                File.WriteAllText(marker, expected);
            }
        }

        var files = new List<DebianMidiFile>();
        foreach (var package in Packages)
        {
            var root = Path.Join(extracted, package);
            foreach (var path in EnumerateMidiFiles(root))
            {
                var installPath = "/" + Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
                files.Add(new DebianMidiFile(package, installPath, path));
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return files;
    }

    private static void Populate(string cache, string extracted)
    {
        var debs = Path.Join(cache, "debs");
        foreach (var stale in new[] { debs, extracted })
        {
            if (Directory.Exists(stale))
            {
                Directory.Delete(stale, recursive: true);
            }
        }

        Directory.CreateDirectory(debs);
        var download = Run("apt-get", ["download", .. Packages], debs);
        if (download.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'apt-get download {string.Join(' ', Packages)}' failed with exit code {download.ExitCode} " +
                "(run apt-get update first: the package lists may be missing or stale).\n" + download.Output);
        }

        foreach (var package in Packages)
        {
            var deb = Directory.EnumerateFiles(debs, package + "_*.deb").SingleOrDefault()
                ?? throw new InvalidOperationException(
                    $"apt-get download left no .deb for '{package}' in {debs} (run apt-get update first).\n" + download.Output);
            var target = Path.Join(extracted, package);
            Directory.CreateDirectory(target);
            var unpack = Run("dpkg", ["-x", deb, target], debs);
            if (unpack.ExitCode != 0)
            {
                throw new InvalidOperationException($"'dpkg -x {deb}' failed with exit code {unpack.ExitCode}.\n" + unpack.Output);
            }

            GunzipMidiCopies(target);
            KeepOnlyMidiFiles(target);
        }

        // The packages' other files (game data, audio, docs: hundreds of MB) and the .debs are not needed again.
        Directory.Delete(debs, recursive: true);
    }

    private static void KeepOnlyMidiFiles(string root)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        foreach (var path in Directory.EnumerateFiles(root, "*", options).ToList())
        {
            if (!IsMidiFileName(path) || IsLink(path))
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>Writes "x.mid" next to every regular file "x.mid.gz" (as the shared corpus has them, gunzipped).</summary>
    private static void GunzipMidiCopies(string root)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        foreach (var path in Directory.EnumerateFiles(root, "*", options).ToList())
        {
            if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) || !IsMidiFileName(path[..^3]) || IsLink(path))
            {
                continue;
            }

            using var input = File.OpenRead(path);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            using var output = File.Create(path[..^3]);
            gzip.CopyTo(output);
        }
    }

    private static IEnumerable<string> EnumerateMidiFiles(string root)
    {
        if (!Directory.Exists(root))
        {
            return [];
        }

        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        return Directory.EnumerateFiles(root, "*", options).Where(p => IsMidiFileName(p) && !IsLink(p));
    }

    /// <summary>Symbolic links in a package point into the installed system (or to another copy): skipped.</summary>
    private static bool IsLink(string path) => new FileInfo(path).LinkTarget is not null;

    private static FileStream AcquireLock(string path)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (clock.Elapsed < LockTimeout)
            {
                Thread.Sleep(250);
            }
        }
    }

    private static (int ExitCode, string Output) Run(string program, IEnumerable<string> arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Cannot run '{program}' (a Debian system with dpkg and apt is required): {ex.Message}", ex);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{program}' did not finish within {CommandTimeout}.\n{output}");
        }

        process.WaitForExit();
        return (process.ExitCode, output.ToString());
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
