using System.Diagnostics;
using System.Globalization;

namespace Scale.Testing.Postgres;

/// <summary>
/// Finds PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup), installing Debian's <c>postgresql</c> package
/// first when they are missing and this process is root. Debian's own cluster (<c>main</c>, port 5432) is left alone:
/// nothing here uses it.
/// </summary>
public static class PostgresInstallation
{
    /// <summary>The major version the tests are written for (Debian 12's).</summary>
    public const int PreferredMajorVersion = 15;

    /// <summary>Environment variable naming another folder holding initdb, pg_ctl and pg_basebackup.</summary>
    public const string BinDirectoryVariable = "SCALE_PG_BIN";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _binDirectory;

    /// <summary>The folder of initdb, pg_ctl and pg_basebackup; installs Debian's postgresql when root and missing.</summary>
    public static async Task<string> EnsureAsync(CancellationToken cancellationToken = default)
    {
        if (_binDirectory is not null)
        {
            return _binDirectory;
        }

        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _binDirectory ??= await LocateOrInstallAsync(cancellationToken).ConfigureAwait(false);
            return _binDirectory;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>SCALE_PG_BIN, else /usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/N/bin; null if none.</summary>
    public static string? FindBinDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(BinDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return HasServerPrograms(fromEnvironment)
                ? fromEnvironment
                : throw new InvalidOperationException(
                    $"{BinDirectoryVariable}='{fromEnvironment}' does not hold initdb, pg_ctl and pg_basebackup.");
        }

        var preferred = $"/usr/lib/postgresql/{PreferredMajorVersion.ToString(CultureInfo.InvariantCulture)}/bin";
        if (HasServerPrograms(preferred))
        {
            return preferred;
        }

        if (!Directory.Exists("/usr/lib/postgresql"))
        {
            return null;
        }

        return Directory.EnumerateDirectories("/usr/lib/postgresql")
            .Select(folder => (Folder: folder, Version: int.TryParse(Path.GetFileName(folder), NumberStyles.None,
                CultureInfo.InvariantCulture, out var version) ? version : -1))
            .Where(candidate => candidate.Version > 0 && HasServerPrograms(Path.Join(candidate.Folder, "bin")))
            .OrderByDescending(candidate => candidate.Version)
            .Select(candidate => Path.Join(candidate.Folder, "bin"))
            .FirstOrDefault();
    }

    private static bool HasServerPrograms(string folder) =>
        File.Exists(Path.Join(folder, "initdb")) && File.Exists(Path.Join(folder, "pg_ctl")) &&
        File.Exists(Path.Join(folder, "pg_basebackup")) && File.Exists(Path.Join(folder, "postgres"));

    private static async Task<string> LocateOrInstallAsync(CancellationToken cancellationToken)
    {
        var found = FindBinDirectory();
        if (found is null)
        {
            if (!PostgresCommands.IsRoot)
            {
                throw new InvalidOperationException(
                    $"The PostgreSQL tests need PostgreSQL {PreferredMajorVersion} server programs (initdb, pg_ctl, " +
                    "pg_basebackup), which are not installed, and only root can install them here. Install them with " +
                    $"'sudo apt-get install postgresql', or point {BinDirectoryVariable} at their folder.");
            }

            await InstallAsync(cancellationToken).ConfigureAwait(false);
            found = FindBinDirectory() ?? throw new InvalidOperationException(
                "apt-get installed postgresql but no /usr/lib/postgresql/N/bin holds initdb, pg_ctl and pg_basebackup.");
        }

        if (PostgresCommands.IsRoot && !await ServerUserExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException(
                $"The tests run as root and PostgreSQL refuses to, so its servers run as the user '{PostgresCommands.ServerUser}', " +
                "which does not exist: install Debian's postgresql package (it creates the user) or create it.");
        }

        return found;
    }

    private static async Task<bool> ServerUserExistsAsync(CancellationToken cancellationToken)
    {
        var result = await PostgresCommands.RunAsync("id", ["-u", PostgresCommands.ServerUser], TimeSpan.FromSeconds(30),
            asServerUser: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result.Succeeded;
    }

    private static async Task InstallAsync(CancellationToken cancellationToken)
    {
        // Test assemblies run as parallel processes: one installs, the others wait and then find it installed.
        using var installLock = await AcquireLockAsync(Path.Join(Path.GetTempPath(), "scale-postgresql-install.lock"),
            TimeSpan.FromMinutes(15), cancellationToken).ConfigureAwait(false);
        if (FindBinDirectory() is not null)
        {
            return;
        }

        var environment = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        var timeout = TimeSpan.FromMinutes(10);
        string[] install = ["install", "-y", "-q", "postgresql"];
        var result = await PostgresCommands.RunAsync("apt-get", install, timeout, asServerUser: false, environment,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            // Missing or stale package lists are the usual reason.
            await PostgresCommands.RunAsync("apt-get", ["update", "-q"], timeout, asServerUser: false, environment,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            result = await PostgresCommands.RunAsync("apt-get", install, timeout, asServerUser: false, environment,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        if (!result.Succeeded)
        {
            throw new InvalidOperationException(
                $"The PostgreSQL tests need Debian's postgresql package, and 'apt-get install -y postgresql' failed " +
                $"with exit code {result.ExitCode}:\n{result.Output}");
        }
    }

    private static async Task<FileStream> AcquireLockAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < timeout)
            {
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
