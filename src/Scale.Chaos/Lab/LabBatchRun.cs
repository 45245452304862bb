using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Scale.Chaos.Probes;
using Scale.Lab;

namespace Scale.Chaos.Lab;

/// <summary>How the batch experiment runs: corpus size, shards (one worker each), kills, commit batch size.</summary>
public sealed record BatchRunSettings(int Files, int Shards, int Kills, int BatchSize, int MaxRestartsPerShard = 5);

/// <summary>What the batch experiment found: both runs finished or not, their digests, the kills it made.</summary>
public sealed record BatchOutcome(
    bool CleanCompleted,
    bool KilledCompleted,
    int KillsMade,
    int Restarts,
    double CleanSeconds,
    double KilledSeconds,
    StoreDigestResult Clean,
    StoreDigestResult Killed)
{
    public bool Equal => Clean.Digest == Killed.Digest;
}

/// <summary>
/// The batch worker experiment on the lab: the same sharded extraction (`scale extract --shard i/N`, one worker per
/// shard, then `scale similar`) twice into two fresh PostgreSQL databases of the lab: once undisturbed, once with
/// workers SIGKILLed at random moments and restarted, as a Kubernetes Indexed Job restarts a failed index
/// (backoffLimitPerIndex). Exactly-once extraction means both stores end up the same.
/// </summary>
internal sealed class LabBatchRun(LabTarget lab, BatchRunSettings settings, Random random, Action<string, string> onEvent, TextWriter log)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public async Task<BatchOutcome> RunAsync(CancellationToken cancellationToken)
    {
        var corpus = lab.Layout.PathOf("chaos", string.Create(Invariant, $"batch-corpus-{settings.Files}"));
        if (!File.Exists(Path.Join(corpus, "md5_to_paths.json")))
        {
            if (Directory.Exists(corpus))
            {
                Directory.Delete(corpus, recursive: true);
            }

            await ScaleAsync(["synth", "--files", settings.Files.ToString(Invariant), "--out", corpus, "--seed", "7"], cancellationToken);
        }

        var clean = await FreshDatabaseAsync("chaos_batch_clean", cancellationToken);
        var killed = await FreshDatabaseAsync("chaos_batch_killed", cancellationToken);

        log.WriteLine($"  clean run: {settings.Shards} shard workers, then similar songs");
        var cleanClock = Stopwatch.StartNew();
        var (cleanDone, _, _) = await ShardsAsync(corpus, clean, [], cancellationToken);
        var cleanSimilar = cleanDone && await ScaleAsync(["similar", "--db", clean], cancellationToken, check: false) == 0;
        var cleanSeconds = cleanClock.Elapsed.TotalSeconds;

        // Kill moments: spread at random over the middle of the time the clean extraction took.
        var extractSeconds = Math.Max(2, cleanSeconds * 0.8);
        var kills = Enumerable.Range(0, settings.Kills).Select(_ => TimeSpan.FromSeconds(extractSeconds * (0.1 + (0.7 * random.NextDouble())))).Order().ToList();
        log.WriteLine($"  run with kills at {string.Join(", ", kills.Select(k => k.TotalSeconds.ToString("0.0", Invariant)))} s");
        var killedClock = Stopwatch.StartNew();
        var (killedDone, made, restarts) = await ShardsAsync(corpus, killed, kills, cancellationToken);
        var killedSimilar = killedDone && await ScaleAsync(["similar", "--db", killed], cancellationToken, check: false) == 0;
        var killedSeconds = killedClock.Elapsed.TotalSeconds;

        var cleanDigest = await StoreDigest.ComputeAsync(clean, cancellationToken);
        var killedDigest = await StoreDigest.ComputeAsync(killed, cancellationToken);
        return new BatchOutcome(cleanSimilar, killedSimilar, made, restarts, cleanSeconds, killedSeconds, cleanDigest, killedDigest);
    }

    private async Task<(bool Completed, int Kills, int Restarts)> ShardsAsync(string corpus, string db, List<TimeSpan> kills, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var workers = new Process?[settings.Shards];
        var starts = new int[settings.Shards];
        var done = new bool[settings.Shards];
        var failed = false;
        var made = 0;
        var restarts = 0;
        var nextKill = 0;
        for (var i = 0; i < settings.Shards; i++)
        {
            workers[i] = StartShard(corpus, db, i);
            starts[i] = 1;
        }

        try
        {
            while (!done.All(d => d) && !failed)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
                if (nextKill < kills.Count && clock.Elapsed >= kills[nextKill])
                {
                    nextKill++;
                    var running = Enumerable.Range(0, settings.Shards).Where(i => workers[i] is { HasExited: false }).ToList();
                    if (running.Count > 0)
                    {
                        var victim = running[random.Next(running.Count)];
                        var pids = ProcessTree.WithDescendants([workers[victim]!.Id]);
                        ProcessTree.KillAll(pids);
                        made++;
                        onEvent("fault", string.Create(Invariant, $"SIGKILL shard {victim}/{settings.Shards} worker (pid {workers[victim]!.Id})"));
                    }
                }

                for (var i = 0; i < settings.Shards; i++)
                {
                    if (done[i] || workers[i] is not { HasExited: true } worker)
                    {
                        continue;
                    }

                    var code = worker.ExitCode;
                    worker.Dispose();
                    workers[i] = null;
                    if (code == 0)
                    {
                        done[i] = true;
                        continue;
                    }

                    if (starts[i] > settings.MaxRestartsPerShard)
                    {
                        log.WriteLine(string.Create(Invariant, $"  shard {i}/{settings.Shards} failed {starts[i]} times (last exit {code}); giving up"));
                        failed = true;
                        break;
                    }

                    // As the Indexed Job's controller would: the failed index gets a new pod.
                    workers[i] = StartShard(corpus, db, i);
                    starts[i]++;
                    restarts++;
                    onEvent("recovery", string.Create(Invariant, $"shard {i}/{settings.Shards} worker restarted (exit {code})"));
                }
            }
        }
        finally
        {
            foreach (var worker in workers.OfType<Process>())
            {
                if (!worker.HasExited)
                {
                    ProcessTree.KillAll(ProcessTree.WithDescendants([worker.Id]));
                }

                worker.Dispose();
            }
        }

        return (!failed && done.All(d => d), made, restarts);
    }

    private Process StartShard(string corpus, string db, int index)
    {
        // Output goes to a log file of the lab's (through the shell), so a worker never blocks on this process's pipes.
        var info = new ProcessStartInfo("/bin/sh", [
            "-c", "exec \"$@\" >>\"$SCALE_CHAOS_LOG\" 2>&1", "sh", Environment.ProcessPath ?? "dotnet", lab.ScaleProgram,
            "extract", "--source", corpus, "--shard", string.Create(Invariant, $"{index}/{settings.Shards}"), "--db", db,
            "--batch", settings.BatchSize.ToString(Invariant), "--workers", "1",
        ])
        {
            UseShellExecute = false,
        };
        info.Environment["SCALE_LOG_FORMAT"] = "json";
        info.Environment["SCALE_CHAOS_LOG"] = lab.Layout.PathOf("logs", string.Create(Invariant, $"chaos-batch-shard-{index}.log"));
        return Process.Start(info) ?? throw new ChaosException("scale extract did not start");
    }

    private async Task<string> FreshDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(lab.SuperuserConnectionString("postgres"));
        await connection.OpenAsync(cancellationToken);
        // The names are this class's constants, never input.
        foreach (var sql in new[] { $"DROP DATABASE IF EXISTS {name} WITH (FORCE)", $"CREATE DATABASE {name} OWNER scale" })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var db = lab.DatabaseUrl(name);
        await ScaleAsync(["db", "migrate", "--db", db], cancellationToken);
        return db;
    }

    private async Task<int> ScaleAsync(string[] arguments, CancellationToken cancellationToken, bool check = true)
    {
        var result = await ProgramRunner.RunCapturedAsync(Environment.ProcessPath ?? "dotnet", [lab.ScaleProgram, .. arguments], cancellationToken,
            new Dictionary<string, string> { ["SCALE_LOG_FORMAT"] = "json" });
        if (check && result.ExitCode != 0)
        {
            throw new ChaosException($"scale {arguments[0]} exited with {result.ExitCode}: {string.Join('\n', result.Output.Split('\n').TakeLast(8))}");
        }

        return result.ExitCode;
    }
}
