using Microsoft.Data.Sqlite;
using Scale.Corpus.Naming;
using Scale.Corpus.Sources;
using Scale.Pipeline;
using Scale.Store;
using Scale.Synth;

namespace Scale.Web.Tests.Infrastructure;

/// <summary>
/// A real SQLite store filled through the real pipeline: a synthetic Lakh-shaped corpus (2% damaged files, so there
/// are invalid files by reason), extracted by <see cref="ExtractionJob"/> with names from md5_to_paths.json, then
/// similar songs computed here by brute force (all pairs, Jaccard) and written with the store's own
/// <see cref="IScaleStore.ReplaceSimilaritiesAsync"/>. The truth the tests compare with is read back with plain SQL
/// and that brute force, never through the web app's code.
/// </summary>
public sealed class StoreFixture : IAsyncLifetime
{
    /// <summary>Small enough that a song's similar list is longer than what is stored, so Total &gt; Stored shows.</summary>
    public static readonly SimilaritySettings Settings = new("jaccard", Threshold: 0.5, TopK: 6, MinInstruments: 3);

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "scale-web-tests", Guid.NewGuid().ToString("N"));

    public string DbPath => Path.Combine(Folder, "scale.db");

    /// <summary>Every stored song, in id order, as plain SQL reads it.</summary>
    public IReadOnlyList<TruthSong> Songs { get; private set; } = [];

    /// <summary>Each eligible song's similar songs in order (all above the threshold, not only the stored top K).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<TruthSimilar>> Similar { get; private set; } = new Dictionary<string, IReadOnlyList<TruthSimilar>>();

    public TruthSong Song(string id) => Songs.Single(s => s.Id == id);

    public async Task InitializeAsync()
    {
        var corpus = Path.Combine(Folder, "corpus");
        var synth = SyntheticCorpus.Write(new SyntheticCorpusOptions { Files = 400, Seed = 21, OutputDirectory = corpus, AverageFileBytes = 4_000 });
        var names = await SongNames.LoadAsync(synth.PathsJsonPath, CancellationToken.None);
        await using (var store = await ScaleStoreFactory.OpenAsync(DbPath, null, CancellationToken.None))
        {
            await using (var source = CorpusSourceFactory.Open(corpus))
            {
                var result = await new ExtractionJob(store).RunAsync(
                    source,
                    new ExtractionJobOptions { BatchFiles = 100, NameLookup = names.NameOf, FlushInterval = TimeSpan.Zero },
                    CancellationToken.None);
                Assert.Equal(RunStatus.Completed, result.Status);
            }

            await WriteBruteForceSimilaritiesAsync(store);
        }

        Songs = ReadSongs();
        SqliteConnection.ClearAllPools();
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }

    public long Scalar(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        return connection;
    }

    private async Task WriteBruteForceSimilaritiesAsync(IScaleStore store)
    {
        var sets = await store.GetSongSetsAsync(CancellationToken.None);
        var eligible = sets.Where(s => s.Instruments.Count >= Settings.MinInstruments).ToArray();
        var similar = new Dictionary<string, IReadOnlyList<TruthSimilar>>(StringComparer.Ordinal);
        var lists = new List<SimilarSongList>();
        foreach (var song in eligible)
        {
            var mine = song.Instruments.ToArray();
            var ranked = eligible
                .Where(other => other.Key != song.Key)
                .Select(other =>
                {
                    var theirs = other.Instruments.ToArray();
                    var shared = mine.Intersect(theirs).Count();
                    var union = mine.Union(theirs).Count();
                    return (other, shared, similarity: (double)shared / union);
                })
                .Where(x => x.similarity >= Settings.Threshold)
                .OrderByDescending(x => x.similarity).ThenByDescending(x => x.shared).ThenBy(x => x.other.Id, StringComparer.Ordinal)
                .ToArray();
            if (ranked.Length == 0)
            {
                continue;
            }

            similar[song.Id] = [.. ranked.Select(x => new TruthSimilar(x.other.Id, x.similarity, x.shared))];
            var rows = ranked.Take(Settings.TopK).Select(x => new SimilarRow(x.other.Key, x.similarity, x.shared)).ToArray();
            lists.Add(new SimilarSongList(song.Key, ranked.Length, rows));
        }

        var runId = await store.BeginSimilarityRunAsync(Settings, CancellationToken.None);
        await store.ReplaceSimilaritiesAsync(
            runId,
            lists,
            () => new SimilarityStats { Songs = sets.Count, EligibleSongs = eligible.Length, ComputeSeconds = 0.01, WallSeconds = 0.02 },
            CancellationToken.None);
        Similar = similar;
    }

    private List<TruthSong> ReadSongs()
    {
        using var connection = Open();
        var instruments = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT song_id, instrument_code FROM song_instruments ORDER BY song_id, instrument_code";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetString(0);
                if (!instruments.TryGetValue(id, out var codes))
                {
                    instruments[id] = codes = [];
                }

                codes.Add(reader.GetInt32(1));
            }
        }

        var songs = new List<TruthSong>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT id, name FROM songs ORDER BY id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetString(0);
                var codes = instruments.TryGetValue(id, out var list) ? list.ToArray() : [];
                songs.Add(new TruthSong(id, reader.GetString(1), codes, Similar.TryGetValue(id, out var similar) ? similar.Count : null));
            }
        }

        return songs;
    }
}

/// <summary>A song as the tests know it: id, name, instrument codes ascending, and its number of similar songs (null when not eligible or none).</summary>
public sealed record TruthSong(string Id, string Name, int[] Instruments, int? SimilarCount)
{
    public bool Uses(IEnumerable<int> codes) => codes.All(Instruments.Contains);
}

/// <summary>One similar song as the brute force found it.</summary>
public sealed record TruthSimilar(string Id, double Similarity, int Shared);

[CollectionDefinition(Name)]
public sealed class SharedSite : ICollectionFixture<SiteFixture>
{
    public const string Name = "site";
}
