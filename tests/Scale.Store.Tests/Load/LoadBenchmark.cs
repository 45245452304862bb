using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using Scale.Testing.Postgres;

namespace Scale.Store.Tests.Load;

/// <summary>Timings of one load into one store.</summary>
public sealed record LoadTiming(
    string Backend,
    double BatchSeconds,
    double SetsSeconds,
    double ListsSeconds,
    long ResultRows,
    long Lists,
    long ListEntries,
    long ListBytes,
    double CatchUpSeconds,
    double BatchClientCpu,
    double BatchServerCpu,
    double ListsClientCpu,
    double ListsServerCpu,
    double BatchReplicaCpu,
    double ListsReplicaCpu)
{
    public double TotalSeconds => BatchSeconds + SetsSeconds + ListsSeconds;
}

/// <summary>
/// The bulk-load benchmark (issue 4 §1): the full-scale synthetic results — 176,581 files' songs, instruments, ledger
/// and invalid files in 2,000-file batches, then every eligible song's similar list — loaded through the store into
/// PostgreSQL (a throwaway primary + streaming replica) and, in the same run, into SQLite. bench/pg-load.sh runs it.
/// </summary>
public static class LoadBenchmark
{
    /// <summary>Loads <paramref name="data"/> into an empty store at <paramref name="db"/>.</summary>
    public static async Task<LoadTiming> LoadAsync(string backend, string db, SyntheticResults data, int batchSize, Func<Task>? waitForReplicas, Action<string>? log, CpuMeter? servers = null)
    {
        await using var store = await ScaleStoreFactory.OpenAsync(db, null, CancellationToken.None);
        var run = await store.BeginRunAsync("folder:/lakh", CancellationToken.None);
        var (client0, server0, replica0) = (CpuMeter.Client(), servers?.Servers() ?? 0, Replica(servers));
        var clock = Stopwatch.StartNew();
        var written = 0L;
        var batch = new List<ExtractedFile>(batchSize);
        for (var i = 0; i < data.Files.Count; i++)
        {
            batch.Add(data.Files[i]);
            if (batch.Count == batchSize || i == data.Files.Count - 1)
            {
                var result = await store.WriteBatchAsync(run, batch, i == data.Files.Count - 1 ? ShardSpec.All : null, CancellationToken.None);
                written += result.Written;
                batch.Clear();
            }
        }

        var batchSeconds = clock.Elapsed.TotalSeconds;
        var (client1, server1, replica1) = (CpuMeter.Client(), servers?.Servers() ?? 0, Replica(servers));
        await store.CompleteRunAsync(run, new RunStats { FilesSeen = written, FilesValid = data.Songs, FilesInvalid = data.Invalid, WriteSeconds = batchSeconds }, RunStatus.Completed, null, CancellationToken.None);
        log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{backend}: {written:N0} files in {batchSeconds:F1} s"));

        clock.Restart();
        var sets = await store.GetSongSetsAsync(CancellationToken.None);
        var setsSeconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        var (client2, server2, replica2) = (CpuMeter.Client(), servers?.Servers() ?? 0, Replica(servers));
        var simRun = await store.BeginSimilarityRunAsync(new SimilaritySettings("jaccard", 0.5, data.ListSize, 3), CancellationToken.None);
        long lists = 0;
        var stats = await store.ReplaceSimilaritiesAsync(
            simRun,
            Counted(data.Lists(sets), () => lists++),
            () => new SimilarityStats { Songs = sets.Count, EligibleSongs = lists },
            CancellationToken.None);
        var listsSeconds = clock.Elapsed.TotalSeconds;
        var (client3, server3, replica3) = (CpuMeter.Client(), servers?.Servers() ?? 0, Replica(servers));
        log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{backend}: {lists:N0} lists ({stats.SimilarRows:N0} entries) in {listsSeconds:F1} s"));

        var catchUp = 0.0;
        if (waitForReplicas is not null)
        {
            clock.Restart();
            await waitForReplicas();
            catchUp = clock.Elapsed.TotalSeconds;
        }

        var summary = await store.GetSummaryAsync(CancellationToken.None);
        if (summary.Songs != data.Songs || summary.SongInstruments != data.InstrumentRows || summary.SourceFiles != data.Files.Count || summary.InvalidFiles != data.Invalid)
        {
            throw new InvalidOperationException($"{backend}: the store holds {summary} after the load, not the synthetic results' counts.");
        }

        return new LoadTiming(
            backend, batchSeconds, setsSeconds, listsSeconds, data.ResultRows, lists, stats.SimilarRows, stats.SimilarRows * SimilarListCodec.EntryBytes, catchUp,
            client1 - client0, server1 - server0, client3 - client2, server3 - server2, replica1 - replica0, replica3 - replica2);
    }

    /// <summary><c>load</c> in Program: the benchmark with its options; writes the markdown note.</summary>
    public static async Task<int> MainAsync(IReadOnlyList<string> args)
    {
        var files = SyntheticResults.LakhFiles;
        var batchSize = 2_000;
        var durable = true;
        var sqlite = true;
        var profile = false;
        string? existing = null;
        string? output = null;
        var settings = new Dictionary<string, string>();
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--files": files = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--batch": batchSize = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--out": output = args[++i]; break;
                case "--no-durable": durable = false; break;
                case "--durable": durable = true; break;
                case "--skip-sqlite": sqlite = false; break;
                case "--profile": profile = true; break;
                case "--db": existing = args[++i]; break;
                case "--set":
                    var pair = args[++i].Split('=', 2);
                    settings[pair[0]] = pair[1];
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        static void Log(string line) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");
        var load = LoadAverage();
        Log($"generating {files:N0} files' results");
        var data = new SyntheticResults(files);
        Log(string.Create(CultureInfo.InvariantCulture, $"{data.Songs:N0} songs, {data.InstrumentRows:N0} song_instruments rows, {data.Invalid:N0} invalid"));

        LoadTiming pg;
        string pgVersion;
        string? statements = null;
        var serverSettings = new Dictionary<string, string>(settings);
        if (profile)
        {
            serverSettings["shared_preload_libraries"] = "'pg_stat_statements'";
            serverSettings["pg_stat_statements.track"] = "all";
        }

        if (existing is not null)
        {
            // A server of the user's (e.g. tools/pg-local.sh up): its database must be empty.
            pgVersion = await VersionAsync(new NpgsqlConnectionStringBuilder(Scale.Store.Postgres.PostgresConnections.ToConnectionString(existing)) { TargetSessionAttributes = "primary" }.ConnectionString);
            pg = await LoadAsync("postgres", existing, data, batchSize, null, Log);
        }
        else
        await using (var cluster = await PostgresCluster.StartNewAsync(new PostgresClusterOptions { Replicas = 1, Durable = durable, Settings = serverSettings, Log = Log }))
        {
            await using var database = await cluster.CreateDatabaseAsync();
            pgVersion = await VersionAsync(database.PrimaryConnectionString);
            var meter = new CpuMeter(() => [.. cluster.Servers.Select(server => server.PostmasterPid).OfType<int>()]);
            pg = await LoadAsync("postgres", database.MultiHostConnectionString(), data, batchSize, () => cluster.WaitForReplayAsync(timeout: TimeSpan.FromMinutes(5)), Log, meter);
            if (profile)
            {
                statements = await StatementsAsync(database.PrimaryConnectionString);
                Console.Error.WriteLine(statements);
            }
        }

        LoadTiming? lite = null;
        if (sqlite)
        {
            using var temp = new TempDb();
            lite = await LoadAsync("sqlite", temp.DbPath, data, batchSize, null, Log);
        }

        var note = Note(data, batchSize, durable, settings, pgVersion, pg, lite, load, LoadAverage());
        if (statements is not null)
        {
            note += Environment.NewLine + statements;
        }

        Console.WriteLine(note);
        if (output is not null)
        {
            await File.WriteAllTextAsync(output, note);
            Log($"wrote {output}");
        }

        return 0;
    }

    /// <summary>CPU seconds of the servers after the first (the replicas).</summary>
    private static double Replica(CpuMeter? servers) => servers?.PerServer().Skip(1).Sum() ?? 0;

    private static IEnumerable<T> Counted<T>(IEnumerable<T> items, Action each)
    {
        foreach (var item in items)
        {
            each();
            yield return item;
        }
    }

    /// <summary>Where the server's time went, from pg_stat_statements (--profile).</summary>
    private static async Task<string> StatementsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand(
            """
            SELECT sum(calls)::bigint, sum(total_exec_time) / 1000, sum(rows)::bigint, q
            FROM (SELECT calls, total_exec_time, rows, regexp_replace(left(query, 90), '\s+', ' ', 'g') AS q
                  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS s
            GROUP BY q ORDER BY 2 DESC LIMIT 16
            """,
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine("Server time by statement (pg_stat_statements on the primary; a batch's temp tables are new each time, so its statements are summed by text):").AppendLine();
        text.AppendLine("| calls | seconds | rows | statement |").AppendLine("|---:|---:|---:|---|");
        while (await reader.ReadAsync())
        {
            text.AppendLine(c, $"| {reader.GetInt64(0):N0} | {reader.GetDouble(1):F2} | {reader.GetInt64(2):N0} | `{reader.GetString(3).Replace("|", "\\|", StringComparison.Ordinal)}` |");
        }

        return text.ToString();
    }

    private static async Task<string> VersionAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SHOW server_version", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static string Note(SyntheticResults data, int batchSize, bool durable, Dictionary<string, string> settings, string pgVersion, LoadTiming pg, LoadTiming? lite, string loadBefore, string loadAfter)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(c, $"# Bulk load into PostgreSQL and SQLite — {DateTime.UtcNow:yyyy-MM-dd}");
        text.AppendLine();
        text.AppendLine(c, $"`bench/pg-load.sh`: the full-scale synthetic results ({data.Files.Count:N0} files: {data.Songs:N0} songs, {data.InstrumentRows:N0} `song_instruments` rows, {data.Invalid:N0} invalid files; {pg.Lists:N0} similar lists of {data.ListSize} entries) written through `IScaleStore` in {batchSize:N0}-file batches, then one `ReplaceSimilaritiesAsync`.");
        text.AppendLine();
        text.AppendLine(c, $"- Machine: {Environment.ProcessorCount} cores (shared), load average {loadBefore} before, {loadAfter} after.");
        text.AppendLine(c, $"- PostgreSQL {pgVersion}: a throwaway primary + 1 streaming replica on loopback (tests/Scale.Testing/Postgres), fsync {(durable ? "on" : "off")}{(settings.Count == 0 ? string.Empty : ", " + string.Join(", ", settings.Select(s => $"{s.Key} = {s.Value}")))}; the store gets the multi-host connection string (writes to the primary). Npgsql, binary COPY.");
        text.AppendLine("- SQLite: one file, WAL, synchronous=NORMAL (the store's settings), same process, same data, after PostgreSQL.");
        text.AppendLine();
        text.AppendLine("| phase | PostgreSQL s | SQLite s | PostgreSQL / SQLite | PostgreSQL rows/s | SQLite rows/s |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        void Row(string phase, double pgSeconds, double? liteSeconds, long rows)
        {
            var ratio = liteSeconds is { } l && l > 0 ? (pgSeconds / l).ToString("F2", c) : "—";
            var liteRate = liteSeconds is { } s && s > 0 ? (rows / s).ToString("N0", c) : "—";
            text.AppendLine(c, $"| {phase} | {pgSeconds:F1} | {(liteSeconds is { } x ? x.ToString("F1", c) : "—")} | {ratio} | {(rows == 0 ? "—" : (rows / pgSeconds).ToString("N0", c))} | {(rows == 0 ? "—" : liteRate)} |");
        }

        Row($"extraction results: {data.Files.Count / batchSize + 1} batches ({pg.ResultRows:N0} rows)", pg.BatchSeconds, lite?.BatchSeconds, pg.ResultRows);
        Row("song sets read back (`GetSongSetsAsync`)", pg.SetsSeconds, lite?.SetsSeconds, 0);
        Row($"similar lists: {pg.Lists:N0} rows, {pg.ListEntries:N0} entries, {pg.ListBytes / 1e6:N0} MB", pg.ListsSeconds, lite?.ListsSeconds, pg.Lists);
        Row("**total**", pg.TotalSeconds, lite?.TotalSeconds, pg.ResultRows + pg.Lists);
        text.AppendLine();
        text.AppendLine(pg.BatchServerCpu > 0
            ? "CPU seconds (less moved by the machine's load than wall time; PostgreSQL's servers: primary and replica, every process):"
            : "CPU seconds (the servers' are measured only for the cluster the benchmark starts itself, so 0 here):");
        text.AppendLine();
        text.AppendLine("| phase | PostgreSQL: client | primary | replica | PostgreSQL: all | SQLite (in process) |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        text.AppendLine(c, $"| extraction results | {pg.BatchClientCpu:F1} | {pg.BatchServerCpu - pg.BatchReplicaCpu:F1} | {pg.BatchReplicaCpu:F1} | {pg.BatchClientCpu + pg.BatchServerCpu:F1} | {(lite is null ? "—" : lite.BatchClientCpu.ToString("F1", c))} |");
        text.AppendLine(c, $"| similar lists | {pg.ListsClientCpu:F1} | {pg.ListsServerCpu - pg.ListsReplicaCpu:F1} | {pg.ListsReplicaCpu:F1} | {pg.ListsClientCpu + pg.ListsServerCpu:F1} | {(lite is null ? "—" : lite.ListsClientCpu.ToString("F1", c))} |");
        text.AppendLine();
        text.AppendLine(c, $"Similar-list entries per second: PostgreSQL {pg.ListEntries / pg.ListsSeconds:N0}{(lite is null ? string.Empty : $", SQLite {lite.ListEntries / lite.ListsSeconds:N0}")}. The replica had replayed everything {pg.CatchUpSeconds:F1} s after the last commit.");
        text.AppendLine();
        text.AppendLine(c, $"Goal (issue 4): under 60 s for PostgreSQL. {(pg.TotalSeconds < 60 ? "Met" : "Missed")}: {pg.TotalSeconds:F1} s.");
        return text.ToString();
    }
}
