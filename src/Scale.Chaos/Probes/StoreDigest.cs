using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Scale.Store;

namespace Scale.Chaos.Probes;

/// <summary>What a store holds, reduced to counts and one digest: equal digests mean the same songs, instruments, invalid files and similar lists.</summary>
public sealed record StoreDigestResult(long Songs, long SongInstruments, long SourceFiles, long InvalidFiles, long SimilarEntries, string Digest);

/// <summary>
/// Reads a whole store through the same reader the web app uses (SQLite or PostgreSQL) and digests it in a fixed
/// order, so two stores can be compared whatever their surrogate keys and insertion order.
/// </summary>
public static class StoreDigest
{
    public static async Task<StoreDigestResult> ComputeAsync(string db, CancellationToken cancellationToken)
    {
        await using var reader = ScaleStoreFactory.CreateReader(db);
        {
            var summary = await reader.GetSummaryAsync(cancellationToken);
            var songs = new List<(string Id, string Line)>();
            await foreach (var song in reader.ReadCatalogAsync(cancellationToken))
            {
                songs.Add((song.Id, string.Create(CultureInfo.InvariantCulture, $"{song.Id}\t{song.Name}\t{song.Instruments.Low:x}.{song.Instruments.Middle:x}.{song.Instruments.High:x}")));
            }

            songs.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Add(string line) => hash.AppendData(Encoding.UTF8.GetBytes(line + "\n"));
            Add(string.Create(CultureInfo.InvariantCulture, $"songs {summary.Songs} instruments {summary.SongInstruments} files {summary.SourceFiles} invalid {summary.InvalidFiles}"));
            foreach (var reason in summary.InvalidByReason.OrderBy(r => r.ReasonCode, StringComparer.Ordinal))
            {
                Add(string.Create(CultureInfo.InvariantCulture, $"invalid {reason.ReasonCode} {reason.Files}"));
            }

            long similarEntries = 0;
            foreach (var (id, line) in songs)
            {
                Add(line);
                var page = await reader.GetSimilarAsync(id, 0, 1000, cancellationToken);
                if (page is null)
                {
                    continue;
                }

                Add(string.Create(CultureInfo.InvariantCulture, $"  total {page.Total} stored {page.Stored}"));
                foreach (var item in page.Items)
                {
                    similarEntries++;
                    Add(string.Create(CultureInfo.InvariantCulture, $"  {item.Rank} {item.Id} {item.Similarity:0.000000} {item.Shared}"));
                }
            }

            return new StoreDigestResult(summary.Songs, summary.SongInstruments, summary.SourceFiles, summary.InvalidFiles, similarEntries, Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
    }
}
