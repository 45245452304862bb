namespace Scale.Store.Tests;

/// <summary>The one-instrument form of <see cref="IScaleReader.GetSongsWithInstrumentsAsync"/>, for the contract's single-list cases.</summary>
internal static class ScaleReaderTestExtensions
{
    public static async Task<IReadOnlyList<SongRef>> GetSongsWithInstrumentAsync(this IScaleReader reader, int instrumentCode, int limit, CancellationToken cancellationToken) =>
        (await reader.GetSongsWithInstrumentsAsync([instrumentCode], limit, cancellationToken)).Single();
}
