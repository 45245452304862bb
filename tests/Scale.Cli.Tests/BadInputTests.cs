using System.Text;
using Scale.Testing;
using Scale.Cli.Tests.Infrastructure;

namespace Scale.Cli.Tests;

/// <summary>Wrong input or setup: exit code 2, one clear message on stderr, no stack trace, nothing written.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Run_WithoutSource_ExitCode2AndSaysSourceIsRequired()
    {
        var run = await ScaleProcess.RunAsync(_dir.Path, ["run"]);

        AssertUserError(run, "--source");
        Assert.False(File.Exists(_dir.Combine("scale.db")), "No database should be created without a source.");
    }

    [Fact]
    public async Task Run_NonexistentSource_ExitCode2AndNamesThePath()
    {
        var missing = _dir.Combine("nonexistent");

        var run = await ScaleProcess.RunAsync(_dir.Path, ["run", "--source", missing, "--db", _dir.Combine("x.db")]);

        AssertUserError(run, missing);
        Assert.False(File.Exists(_dir.Combine("x.db")), "No database should be created for a missing source.");
    }

    [Fact]
    public async Task Run_SourceIsAFileButNotATarball_ExitCode2AndNamesThePath()
    {
        var file = _dir.Write("notes.txt", Encoding.ASCII.GetBytes("a shopping list, not a corpus\n"));

        var run = await ScaleProcess.RunAsync(_dir.Path, ["run", "--source", file, "--db", _dir.Combine("x.db")]);

        AssertUserError(run, file);
    }

    [Fact]
    public async Task Run_UnreachablePostgres_ExitCode2AfterTheRetryBudgetNamingTheDatabase()
    {
        Directory.CreateDirectory(_dir.Combine("corpus"));

        // Port 1 on loopback: nothing listens, so every attempt is refused until the write retry budget is spent.
        var run = await ScaleProcess.RunAsync(_dir.Path, ["run", "--source", _dir.Combine("corpus"), "--db", "Host=127.0.0.1;Port=1;Database=y;Timeout=2"]);

        AssertUserError(run, "PostgreSQL");
        // Not taken for a SQLite file name either.
        Assert.Equal([_dir.Combine("corpus")], Directory.EnumerateFileSystemEntries(_dir.Path));
    }

    [Fact]
    public async Task Run_NamesFileNotJson_ExitCode2AndNamesTheFile()
    {
        Directory.CreateDirectory(_dir.Combine("corpus"));
        var names = _dir.Write("names.json", Encoding.UTF8.GetBytes("{\"0123\": [\"a.mid\""));

        var run = await ScaleProcess.RunAsync(_dir.Path, ["run", "--source", _dir.Combine("corpus"), "--names", names, "--db", _dir.Combine("x.db")]);

        AssertUserError(run, names);
    }

    [Fact]
    public async Task Run_NamesFileMissing_ExitCode2AndNamesTheFile()
    {
        Directory.CreateDirectory(_dir.Combine("corpus"));
        var names = _dir.Combine("no-such-names.json");

        var run = await ScaleProcess.RunAsync(_dir.Path, ["run", "--source", _dir.Combine("corpus"), "--names", names, "--db", _dir.Combine("x.db")]);

        AssertUserError(run, names);
    }

    [Theory]
    [InlineData("--batch", "0")]
    [InlineData("--workers", "0")]
    public async Task Run_NonPositiveSetting_ExitCode2AndNamesTheOption(string option, string value)
    {
        Directory.CreateDirectory(_dir.Combine("corpus"));

        var run = await ScaleProcess.RunAsync(_dir.Path, ["run", "--source", _dir.Combine("corpus"), option, value, "--db", _dir.Combine("x.db")]);

        AssertUserError(run, option);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("-0.5")]
    public async Task Synth_DamagedShareOutsideZeroToOne_ExitCode2AndWritesNothing(string share)
    {
        var output = _dir.Combine("corpus");

        var run = await ScaleProcess.RunAsync(_dir.Path, ["synth", "--files", "10", "--out", output, "--damaged-share", share]);

        AssertUserError(run, "--damaged-share");
        Assert.False(Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any(), "synth wrote files despite the error.");
    }

    private static void AssertUserError(ScaleRun run, string mentioned)
    {
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.False(run.HasStackTrace, run.ToString());
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith("scale ", line, StringComparison.Ordinal);
        Assert.Contains(mentioned, line, StringComparison.Ordinal);
    }
}
