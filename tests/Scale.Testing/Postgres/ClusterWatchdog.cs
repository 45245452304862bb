using System.ComponentModel;
using System.Diagnostics;

namespace Scale.Testing.Postgres;

/// <summary>
/// A small shell process that outlives nothing: it waits on a pipe from this process, and when the pipe closes
/// without a "done" (the test process died, even by SIGKILL, so no finalizer or ProcessExit handler ran) it shuts
/// down every postmaster in the cluster folder (SIGQUIT, then SIGKILL) and deletes the folder. It runs in its own
/// session so that a Ctrl+C for the test run does not end it before it has cleaned up.
/// </summary>
internal sealed class ClusterWatchdog : IDisposable
{
    private const string Script = """
        exec >/dev/null 2>&1
        trap '' INT TERM HUP QUIT PIPE
        dir=$1
        IFS= read -r line || line=
        [ "$line" = done ] && exit 0
        alive() { state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1); [ -n "$state" ] && [ "$state" != Z ]; }
        pids=
        for f in "$dir"/*/postmaster.pid; do
          [ -f "$f" ] || continue
          pid=$(head -n 1 "$f")
          case $pid in ''|*[!0-9]*) continue ;; esac
          kill -QUIT "$pid" && pids="$pids $pid"
        done
        for _ in $(seq 1 100); do
          left=
          for pid in $pids; do alive "$pid" && left=1; done
          [ -z "$left" ] && break
          sleep 0.1
        done
        for pid in $pids; do kill -KILL "$pid"; done
        rm -rf -- "$dir"
        """;

    private readonly Process? _process;

    private ClusterWatchdog(Process? process) => _process = process;

    /// <summary>Starts the watchdog for <paramref name="clusterFolder"/>; a machine without setsid/bash gets none
    /// (the ProcessExit handler and disposal still clean up).</summary>
    public static ClusterWatchdog Start(string clusterFolder)
    {
        var startInfo = new ProcessStartInfo("setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var argument in new[] { "bash", "-c", Script, "scale-pg-watchdog", clusterFolder })
        {
            startInfo.ArgumentList.Add(argument);
        }

        try
        {
            return new ClusterWatchdog(Process.Start(startInfo));
        }
        catch (Win32Exception)
        {
            return new ClusterWatchdog(null);
        }
    }

    /// <summary>Closes the pipe without "done", as the death of this process would (for the fixture's own tests).</summary>
    internal void Abandon() => _process?.StandardInput.Close();

    /// <summary>Tells the watchdog the cluster is cleaned up, so it leaves without doing anything.</summary>
    public void Dispose()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            _process.StandardInput.WriteLine("done");
            _process.StandardInput.Close();
            _process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // It is gone already, or was abandoned.
        }
        catch (InvalidOperationException)
        {
            // Likewise.
        }

        _process.Dispose();
    }
}
