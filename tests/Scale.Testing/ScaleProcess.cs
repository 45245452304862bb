using System.Diagnostics;
using System.Text;

namespace Scale.Testing;

/// <summary>What a finished <c>scale</c> process left: its exit code and everything it wrote.</summary>
public sealed record ScaleRun(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Non-empty lines of standard output.</summary>
    public IReadOnlyList<string> StdoutLines =>
        Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Non-empty lines of standard error.</summary>
    public IReadOnlyList<string> StderrLines =>
        Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>True when either stream holds a .NET stack frame line ("   at Namespace.Type.Method(...)").</summary>
    public bool HasStackTrace =>
        (Stdout + "\n" + Stderr).Split('\n').Any(l => l.StartsWith("   at ", StringComparison.Ordinal));

    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// The real program as a child process: <c>dotnet artifacts/bin/Scale.Cli/&lt;config&gt;/scale.dll ARGS</c>, with
/// standard input closed, both outputs captured, CI=true (plain progress lines), SCALE_LOG_FORMAT=text unless the
/// caller says otherwise, and no other SCALE_*/AWS_* settings inherited from the test run's environment.
/// </summary>
public sealed class ScaleProcess : IDisposable
{
    /// <summary>A bound on every child, so a hung program fails its test instead of the whole run.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(90);

    private static readonly Lazy<string> Dll = new(FindDll);

    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    private ScaleProcess(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>The built program: artifacts/bin/Scale.Cli/&lt;configuration of this test build&gt;/scale.dll.</summary>
    public static string DllPath => Dll.Value;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts <c>scale ARGS</c> in <paramref name="workingDirectory"/>; <paramref name="environment"/> adds or
    /// overrides variables. With <paramref name="defaultSignals"/> the program starts through
    /// <c>env --default-signal=INT,TERM</c>, so it can be interrupted even when the test run was started with
    /// SIGINT ignored (a background job of a shell), which children inherit.
    /// </summary>
    public static ScaleProcess Start(
        string workingDirectory,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        bool defaultSignals = false)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var startInfo = new ProcessStartInfo(defaultSignals ? "env" : "dotnet")
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (defaultSignals)
        {
            // env execs dotnet in its own process: the id stays the program's.
            startInfo.ArgumentList.Add("--default-signal=INT,TERM");
            startInfo.ArgumentList.Add("dotnet");
        }

        startInfo.ArgumentList.Add(DllPath);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var name in startInfo.Environment.Keys.ToList())
        {
            if (name.StartsWith("SCALE_", StringComparison.Ordinal) || name.StartsWith("AWS_", StringComparison.Ordinal))
            {
                startInfo.Environment.Remove(name);
            }
        }

        startInfo.Environment["CI"] = "true";
        startInfo.Environment["TERM"] = "dumb";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        // Output is redirected here, which would make the batch commands and serve write JSON lines (auto); the
        // tests read the text form unless they ask for JSON.
        startInfo.Environment["SCALE_LOG_FORMAT"] = "text";
        if (environment is not null)
        {
            foreach (var (name, value) in environment)
            {
                startInfo.Environment[name] = value;
            }
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("dotnet did not start.");
        // Nothing to read: a program waiting for input would see end of file at once.
        process.StandardInput.Close();
        return new ScaleProcess(process);
    }

    /// <summary>Runs <c>scale ARGS</c> to the end (killed after <paramref name="timeout"/>, which fails the test).</summary>
    public static async Task<ScaleRun> RunAsync(
        string workingDirectory,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        using var process = Start(workingDirectory, arguments, environment);
        return await process.WaitAsync(timeout ?? DefaultTimeout);
    }

    /// <summary>Waits for the end; past <paramref name="timeout"/> the process tree is killed and the test fails.</summary>
    public async Task<ScaleRun> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            await _process.WaitForExitAsync(CancellationToken.None);
            var partial = new ScaleRun(-1, await _stdout, await _stderr);
            throw new TimeoutException($"scale did not finish within {timeout}; killed.\n{partial}");
        }

        return new ScaleRun(_process.ExitCode, await _stdout, await _stderr);
    }

    /// <summary>Sends a signal (e.g. "INT", what Ctrl+C sends) to this process only, with kill(1).</summary>
    public async Task SignalAsync(string signal)
    {
        var startInfo = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
        startInfo.ArgumentList.Add("-s");
        startInfo.ArgumentList.Add(signal);
        startInfo.ArgumentList.Add(_process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var kill = Process.Start(startInfo) ?? throw new InvalidOperationException("kill did not start.");
        var error = await kill.StandardError.ReadToEndAsync();
        await kill.WaitForExitAsync();
        Assert.True(kill.ExitCode == 0 || _process.HasExited, $"kill -s {signal} {_process.Id} failed: {error}");
    }

    /// <summary>Kills the process and its children at once (SIGKILL: no cleanup runs in the program).</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }

    private static string FindDll()
    {
        // A test assembly lives in artifacts/bin/<its name>/<config>/; the program in artifacts/bin/Scale.Cli/<config>/
        // (the test project references Scale.Cli so that it is built).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;
        var dll = Path.Join(Checkout.Root, "artifacts", "bin", "Scale.Cli", configuration, "scale.dll");
        return File.Exists(dll)
            ? dll
            : throw new InvalidOperationException($"The program is not built: '{dll}' is missing.");
    }
}
