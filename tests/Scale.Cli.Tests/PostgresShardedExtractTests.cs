using System.Globalization;
using Npgsql;
using Scale.Testing;
using Scale.Cli.Tests.Infrastructure;
using Scale.Testing.Postgres;

namespace Scale.Cli.Tests;

/// <summary>
/// Issue 4's kill test against real PostgreSQL (a primary and a streaming replica, multi-host connection string):
/// <c>scale extract</c> workers killed with SIGKILL at random moments, several times per trial, then run again;
/// the database must end with exactly the contents of a clean run — no duplicates, no gaps.
/// </summary>
public sealed class PostgresShardedExtractTests(LargeCorpusFixture corpus, PostgresClusterFixture postgres)
    : IClassFixture<LargeCorpusFixture>, IClassFixture<PostgresClusterFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Extract_KilledAtRandomMomentsThenRerun_SameContentsAsACleanRun()
    {
        const int Trials = 4;
        await using var clean = await postgres.CreateDatabaseAsync();
        var reference = await CleanContentsAsync(clean);
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var log = new List<string> { string.Create(CultureInfo.InvariantCulture, $"seed {seed}") };

        for (var trial = 0; trial < Trials; trial++)
        {
            await using var database = await postgres.CreateDatabaseAsync();
            var db = database.MultiHostConnectionString();
            var shard = $"{trial % 2}/2";
            var other = $"{1 - (trial % 2)}/2";
            var kills = random.Next(1, 4);
            for (var k = 0; k < kills; k++)
            {
                var delay = random.Next(300, 2_500);
                using var process = ScaleProcess.Start(_dir.Path, Arguments(db, shard, batch: 40));
                await Task.Delay(delay);
                process.Kill();
                var killed = await process.WaitAsync(TimeSpan.FromSeconds(30));
                log.Add(string.Create(CultureInfo.InvariantCulture, $"trial {trial}: killed {shard} after {delay} ms (exit {killed.ExitCode})"));
            }

            foreach (var s in new[] { shard, other })
            {
                var run = await ScaleProcess.RunAsync(_dir.Path, Arguments(db, s, batch: 500));
                Assert.True(run.ExitCode == 0, string.Join('\n', log) + "\n" + run);
            }

            var contents = await ContentsAsync(database.PrimaryConnectionString);
            Assert.True(
                reference.SequenceEqual(contents),
                $"{string.Join('\n', log)}\ncontents differ from a clean run's (first difference: {reference.Except(contents).Concat(contents.Except(reference)).FirstOrDefault()})");
            Assert.Equal(2L, await ScalarAsync(database.PrimaryConnectionString, "SELECT count(*) FROM shards"));
        }
    }

    private string[] Arguments(string db, string shard, int batch) =>
    [
        "extract", "--source", corpus.Corpus, "--names", Path.Join(corpus.Corpus, "md5_to_paths.json"), "--db", db,
        "--shard", shard, "--batch", batch.ToString(CultureInfo.InvariantCulture),
    ];

    private async Task<IReadOnlyList<string>> CleanContentsAsync(PostgresTestDatabase database)
    {
        var run = await ScaleProcess.RunAsync(_dir.Path, ["run", "--source", corpus.Corpus, "--names", Path.Join(corpus.Corpus, "md5_to_paths.json"), "--db", database.MultiHostConnectionString(), "--no-similar"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        var contents = await ContentsAsync(database.PrimaryConnectionString);
        Assert.Equal(corpus.Truth.Rows.Count, contents.Count(row => row.StartsWith("ledger|", StringComparison.Ordinal)));
        return contents;
    }

    /// <summary>Everything a run stores that does not depend on which run (or process) stored it.</summary>
    private static async Task<IReadOnlyList<string>> ContentsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var rows = new List<string>();
        foreach (var sql in new[]
        {
            $"SELECT 'song', {Arrange.SongColumns} FROM songs ORDER BY id COLLATE \"C\"",
            "SELECT 'instrument', song_id, instrument_code, notes FROM song_instruments ORDER BY song_id COLLATE \"C\", instrument_code",
            "SELECT 'ledger', source, key, song_id, bytes FROM source_files ORDER BY source COLLATE \"C\", key COLLATE \"C\"",
            "SELECT 'invalid', source, key, md5, reason_code, message, bytes FROM invalid_files ORDER BY source COLLATE \"C\", key COLLATE \"C\"",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var fields = new string[reader.FieldCount];
                for (var i = 0; i < fields.Length; i++)
                {
                    fields[i] = reader.IsDBNull(i) ? "∅" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture)!;
                }

                rows.Add(string.Join('|', fields));
            }
        }

        return rows;
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
