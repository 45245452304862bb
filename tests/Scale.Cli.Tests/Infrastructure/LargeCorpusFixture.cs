namespace Scale.Cli.Tests.Infrastructure;

/// <summary>
/// One synthetic corpus of <see cref="Files"/> files, written once for a test class by <c>scale synth</c>: big
/// enough that a run is still going when a test interrupts it after its first batch.
/// </summary>
public sealed class LargeCorpusFixture : IAsyncLifetime, IDisposable
{
    public const int Files = 6_000;
    public const long Seed = 11;

    private readonly TempDirectory _dir = new();

    public string Corpus => _dir.Combine("corpus");

    public SynthTruth Truth { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Arrange.SynthAsync(_dir.Path, Corpus, Files, Seed);
        Truth = SynthTruth.Load(Corpus);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _dir.Dispose();
}
