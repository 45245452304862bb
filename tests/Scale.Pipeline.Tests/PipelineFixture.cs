using System.Globalization;
using Microsoft.Data.Sqlite;
using Scale.Store;
using Scale.Synth;

namespace Scale.Pipeline.Tests;

/// <summary>A synthetic corpus on disk with its ground truth, and a fresh database per test.</summary>
internal sealed class Workspace : IDisposable
{
    public Workspace(int files, long seed = 11)
    {
        Folder = Path.Combine(Path.GetTempPath(), "scale-pipeline-tests", Guid.NewGuid().ToString("N"));
        Corpus = Path.Combine(Folder, "corpus");
        DbPath = Path.Combine(Folder, "scale.db");
        Synth = SyntheticCorpus.Write(new SyntheticCorpusOptions { Files = files, Seed = seed, OutputDirectory = Corpus });
        Manifest = SynthManifest.ReadAsync(Synth.ManifestPath!, CancellationToken.None).GetAwaiter().GetResult();
    }

    public string Folder { get; }

    public string Corpus { get; }

    public string DbPath { get; }

    public SynthResult Synth { get; }

    public IReadOnlyList<SynthManifestEntry> Manifest { get; }

    /// <summary>Keys of every file as a folder source names them.</summary>
    public IReadOnlySet<string> AllKeys => Manifest.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);

    /// <summary>Distinct md5s of files the extractor should accept (valid or recoverable).</summary>
    public IReadOnlySet<string> ExpectedSongs => Manifest.Where(e => e.Expectation.Error is null).Select(e => e.Md5).ToHashSet(StringComparer.Ordinal);

    public Task<IScaleStore> OpenStoreAsync() => ScaleStoreFactory.OpenAsync(DbPath, null, CancellationToken.None);

    public long Scalar(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public List<string> Column(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
