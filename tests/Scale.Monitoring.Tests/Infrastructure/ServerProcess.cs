using System.Diagnostics;
using System.Text;
using Scale.Testing;

namespace Scale.Monitoring.Tests.Infrastructure;

/// <summary>A long-running program (prometheus, an exporter) with its output kept for failure messages; disposing kills it.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static ServerProcess Start(string name, string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var process = Process.Start(Tools.StartInfo(program, arguments, environment)) ?? throw new InvalidOperationException($"{program} did not start.");
        process.StandardInput.Close();
        return new ServerProcess(name, process);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            // The end is what explains a failure; keep the last 64 kB.
            if (_output.Length > 64 * 1024)
            {
                _output.Remove(0, _output.Length - 48 * 1024);
            }

            _output.AppendLine(line);
        }
    }
}
