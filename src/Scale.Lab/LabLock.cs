using System.Globalization;

namespace Scale.Lab;

/// <summary>
/// One `scale lab up` or `down` at a time per lab. Two at once (a user's second terminal, a script and a test) raced on
/// the same namespaces, supervisors and folder, and one of them failed half-way with an exception. The lock is an
/// exclusive open of a file named by the lab's base port, which names its namespaces and links (so two folders on one
/// port still exclude each other); .NET takes an advisory flock for it, which the kernel drops when the holder dies,
/// so a SIGKILLed `up` leaves no stale lock. The file is outside the lab's folder, which `down` deletes.
/// </summary>
public sealed class LabLock : IDisposable
{
    private static readonly TimeSpan RetryEvery = TimeSpan.FromMilliseconds(200);

    private readonly FileStream _file;

    private LabLock(FileStream file) => _file = file;

    /// <summary>The lock file for the lab on <paramref name="basePort"/>.</summary>
    public static string PathFor(int basePort, string? folder = null) =>
        Path.Combine(folder ?? (Directory.Exists("/run/lock") ? "/run/lock" : Path.GetTempPath()),
            string.Create(CultureInfo.InvariantCulture, $"scale-lab-{basePort}.lock"));

    /// <summary>
    /// Takes the lock, waiting (and saying so once through <paramref name="waiting"/>) while another command holds it,
    /// at most <paramref name="timeout"/>; then a <see cref="TimeoutException"/> that says what to do.
    /// </summary>
    public static async Task<LabLock> AcquireAsync(string path, TimeSpan timeout, Action<string> waiting, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(waiting);
        time ??= TimeProvider.System;
        var started = time.GetTimestamp();
        var told = false;
        while (true)
        {
            try
            {
                var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                var holder = new LabLock(file);
                holder.Record(Environment.ProcessId);
                return holder;
            }
            catch (IOException) when (File.Exists(path))
            {
                // Held by another command (the file exists and cannot be opened exclusively).
            }

            if (time.GetElapsedTime(started) >= timeout)
            {
                throw new TimeoutException(string.Create(CultureInfo.InvariantCulture,
                    $"another `scale lab` command ({HolderOf(path)}) is still changing this lab after {timeout.TotalSeconds:0} s; wait for it, or stop it and run `scale lab down`"));
            }

            if (!told)
            {
                waiting(string.Create(CultureInfo.InvariantCulture, $"another `scale lab` command ({HolderOf(path)}) is changing this lab: waiting for it (at most {timeout.TotalSeconds:0} s)"));
                told = true;
            }

            await Task.Delay(RetryEvery, time, cancellationToken);
        }
    }

    public void Dispose() => _file.Dispose();

    /// <summary>
    /// Writes the holder's pid beside the lock (not in it: .NET reads a file under a shared flock, which the holder's
    /// exclusive one refuses).
    /// </summary>
    private void Record(int pid)
    {
        try
        {
            File.WriteAllText(_file.Name + ".pid", pid.ToString(CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            // Only for the message a waiting command prints.
        }
        catch (UnauthorizedAccessException)
        {
            // Idem.
        }
    }

    /// <summary>"pid N" as the holder wrote it, or "pid unknown".</summary>
    private static string HolderOf(string path)
    {
        try
        {
            var pid = File.ReadAllText(path + ".pid").Trim();
            return pid.Length > 0 && pid.All(char.IsAsciiDigit) ? "pid " + pid : "pid unknown";
        }
        catch (IOException)
        {
            return "pid unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "pid unknown";
        }
    }
}
