using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Scale.Testing;

/// <summary>
/// Programs the tests run: found on PATH, or installed from Debian's packages with apt-get when missing and this
/// process is root (tests/run installs them up front); run to the end with their output; free loopback ports.
/// </summary>
public static class Tools
{
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    public static async Task<string> RequireAsync(string command, string package)
    {
        if (Find(command) is { } found)
        {
            return found;
        }

        await InstallGate.WaitAsync();
        try
        {
            if (Find(command) is { } installedMeanwhile)
            {
                return installedMeanwhile;
            }

            if (Environment.UserName != "root")
            {
                throw new InvalidOperationException($"{command} is missing: install Debian's {package} (sudo apt-get install -y {package}); tests/run does this as root.");
            }

            var result = await RunAsync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", package], TimeSpan.FromMinutes(5), new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" });
            return Find(command) ?? throw new InvalidOperationException($"apt-get install {package} did not provide {command}: {result}");
        }
        finally
        {
            InstallGate.Release();
        }
    }

    /// <summary>Runs a program to the end and returns its exit code and output.</summary>
    public static async Task<ToolResult> RunAsync(
        string program,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var info = StartInfo(program, arguments, environment, workingDirectory);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', info.ArgumentList)} did not finish within {timeout}.");
        }

        return new ToolResult(process.ExitCode, await output, await error);
    }

    /// <summary>How the tests start a program: outputs redirected, standard input to be closed, extra environment.</summary>
    public static ProcessStartInfo StartInfo(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return info;
    }

    /// <summary>A port of 127.0.0.1 that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Whether <paramref name="port"/> of 127.0.0.1 can be listened on now.</summary>
    public static bool PortIsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The full path of <paramref name="command"/> on PATH, or null.</summary>
    public static string? Find(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(directory => Path.Join(directory, command))
            .FirstOrDefault(File.Exists);
}

public sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Both outputs, for messages and searches.</summary>
    public string Output => Stdout + Stderr;

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
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
