using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Scale.Corpus.Sources;
using Scale.Pipeline;
using Scale.Store;
using Scale.Synth;
using Scale.Web.Catalog;

namespace Scale.Web.Tests;

/// <summary>The catalogue follows the store: a finished run changes the data version, and the next poll swaps in a new catalogue.</summary>
public sealed class CatalogRefreshTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "scale-web-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task FinishedRun_NewSongsAppear_AfterThePoll_WithoutARestart()
    {
        var db = Path.Combine(_folder, "scale.db");
        await RunAsync(db, "first", files: 60, seed: 1);
        var app = ScaleWebApp.Build(new ScaleWebOptions
        {
            Database = db,
            Urls = null,
            // Polled by the test itself (RefreshAsync), so it does not wait on a timer.
            CatalogRefreshInterval = TimeSpan.FromHours(1),
            ConfigureBuilder = builder =>
            {
                builder.WebHost.UseTestServer();
                builder.Logging.SetMinimumLevel(LogLevel.Warning);
            },
        });
        await using (app)
        {
            await app.StartAsync();
            using var client = app.GetTestClient();
            var provider = app.Services.GetRequiredService<CatalogProvider>();
            var before = await SongsAsync(client);
            Assert.Equal(Count(db), before);
            Assert.False(await provider.RefreshAsync(CancellationToken.None));

            await RunAsync(db, "second", files: 60, seed: 2);
            Assert.Equal(before, await SongsAsync(client)); // still the old snapshot until the next poll
            Assert.True(await provider.RefreshAsync(CancellationToken.None));

            var after = await SongsAsync(client);
            Assert.Equal(Count(db), after);
            Assert.True(after > before);
            await app.StopAsync();
        }
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task RunAsync(string db, string name, int files, long seed)
    {
        var corpus = Path.Combine(_folder, name);
        SyntheticCorpus.Write(new SyntheticCorpusOptions { Files = files, Seed = seed, OutputDirectory = corpus, AverageFileBytes = 3_000 });
        await using var store = await ScaleStoreFactory.OpenAsync(db, null, CancellationToken.None);
        await using var source = CorpusSourceFactory.Open(corpus);
        var result = await new ExtractionJob(store).RunAsync(source, new ExtractionJobOptions { FlushInterval = TimeSpan.Zero }, CancellationToken.None);
        Assert.Equal(RunStatus.Completed, result.Status);
    }

    private static async Task<int> SongsAsync(HttpClient client)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/songs?pageSize=1", UriKind.Relative)));
        return json.RootElement.GetProperty("total").GetInt32();
    }

    private static long Count(string db)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM songs";
        return (long)command.ExecuteScalar()!;
    }
}
