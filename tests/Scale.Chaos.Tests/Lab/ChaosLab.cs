using Scale.Testing;

namespace Scale.Chaos.Tests.Lab;

/// <summary>
/// One real lab (`scale lab up`: zones a, b, c with 2 web instances each, Patroni + etcd, HAProxy, Prometheus) for
/// the experiments of a test class, stopped afterwards with nothing left running.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ChaosLab : IAsyncLifetime, IDisposable
{
    private readonly TempFolder _work = new("scale-chaos-lab");

    public ChaosLab()
    {
        // Under /tmp, world-traversable, so PostgreSQL (run as the postgres user when the tests run as root) reaches
        // it; a base port below the ephemeral range and apart from the lab tests' (31000).
        File.SetUnixFileMode(_work.Path, (UnixFileMode)0b111_101_101);
        Directory = System.IO.Path.Join(_work.Path, "lab");
        Where = ["--dir", Directory, "--base-port", "32000"];
    }

    public string Directory { get; }

    public string[] Where { get; }

    public string WorkPath => _work.Path;

    public ScaleRun? Up { get; private set; }

    public async Task InitializeAsync() =>
        Up = await ScaleProcess.RunAsync(_work.Path, ["lab", "up", .. Where, "--files", "1000", "--web-per-zone", "2", "--alert-for", "15"], timeout: TimeSpan.FromMinutes(8));

    public async Task DisposeAsync()
    {
        await ScaleProcess.RunAsync(_work.Path, ["lab", "down", .. Where], timeout: TimeSpan.FromMinutes(2));
        Dispose();
    }

    public void Dispose() => _work.Dispose();
}
