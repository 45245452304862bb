using System.Diagnostics;
using System.Globalization;

namespace Scale.Store.Tests;

/// <summary>Runs this test assembly's own entry point (<see cref="Program"/>) as a separate process.</summary>
internal static class ChildProcess
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
    {
        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s\nstdout: {StandardOutput}\nstderr: {StandardError}");
    }

    public static async Task<Result> RunAsync(IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
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
            throw new TimeoutException($"{string.Join(' ', arguments)} did not finish within {timeout}: {await error}");
        }

        return new Result(process.ExitCode, await output, await error, clock.Elapsed);
    }

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        // The test host runs under the dotnet muxer; fall back to PATH.
        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
