using System.Diagnostics;

namespace Scale.Lab;

/// <summary>What a program printed (stdout then stderr) and how it ended.</summary>
public sealed record ProgramResult(int ExitCode, string Output);

/// <summary>Finds and runs the programs the lab is made of (and the chaos experiments drive): no shell, no stdin, output captured.</summary>
public static class ProgramRunner
{
    /// <summary>The program on PATH, or in the sbin folders where Debian puts daemons; null when it is not installed.</summary>
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Concat(["/usr/sbin", "/sbin"])
            .Select(d => Path.Join(d, program)).FirstOrDefault(File.Exists);

    /// <summary>Runs it to the end and returns its exit code and output, whatever the exit code.</summary>
    public static async Task<ProgramResult> RunCapturedAsync(string program, IEnumerable<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Find(program) ?? program, arguments)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return new ProgramResult(process.ExitCode, await output + await error);
    }

    /// <summary>Runs it to the end and returns its output; with <paramref name="check"/>, a non-zero exit throws with the output's last lines.</summary>
    public static async Task<string> RunAsync(string program, string[] arguments, CancellationToken cancellationToken, bool check = true, Dictionary<string, string>? environment = null)
    {
        var result = await RunCapturedAsync(program, arguments, cancellationToken, environment);
        if (check && result.ExitCode != 0)
        {
            var tail = string.Join('\n', result.Output.Split('\n').TakeLast(15));
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', arguments.Take(3))} exited with {result.ExitCode}: {tail}");
        }

        return result.Output;
    }
}

/// <summary>
/// Runs a program and returns how it ended. The lab's clients (network, supervisord) take one, so their tests can
/// replay recorded answers and check the exact commands they issue.
/// </summary>
public interface ICommandRunner
{
    Task<ProgramResult> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken);
}

/// <summary>The real thing: <see cref="ProgramRunner.RunCapturedAsync"/>.</summary>
public sealed class SystemCommandRunner : ICommandRunner
{
    public static SystemCommandRunner Instance { get; } = new();

    public Task<ProgramResult> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ProgramRunner.RunCapturedAsync(program, arguments, cancellationToken);
}
