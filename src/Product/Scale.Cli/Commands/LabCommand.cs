using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Scale.Lab;
using Scale.Lab.Network;

namespace Scale.Cli.Commands;

/// <summary><c>scale lab up | status | down</c>: a multi-zone Scale on one machine from real parts (docs/lab.md).</summary>
internal static class LabCommand
{
    private static readonly JsonSerializerOptions StatusJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command Create()
    {
        var directory = new Option<string>("--dir")
        {
            Description = "The lab's folder (configuration, data, logs, secrets). Env: SCALE_LAB_DIR.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_LAB_DIR") is { Length: > 0 } dir
                ? dir
                : Path.Join(Path.GetTempPath(), $"scale-lab-{Environment.UserName}"),
        };
        var basePort = new Option<int>("--base-port") { Description = "Ports are this plus fixed offsets: web +80, HAProxy stats +81, Prometheus +90 ... (docs/lab.md).", DefaultValueFactory = _ => 27000 };
        var webPerZone = new Option<int>("--web-per-zone") { Description = "Web instances in each of the zones a, b, c.", DefaultValueFactory = _ => 2 };
        var source = new Option<string?>("--source") { Description = "The corpus to load: a folder, a .tar(.gz) or s3://bucket/prefix. Default: a synthetic corpus." };
        var files = new Option<int>("--files") { Description = "Files in the synthetic corpus.", DefaultValueFactory = _ => 2000 };
        var json = new Option<bool>("--json") { Description = "The status as JSON." };
        var alertFor = new Option<string>("--alert-for")
        {
            Description = "Every alert rule's `for:` in the lab, in seconds, so alerts fire within a short experiment; 'production' keeps the shipped durations (1-5 min).",
            DefaultValueFactory = _ => "15",
        };

        var warmRps = new Option<int>("--warm-rps")
        {
            Description = "Before saying it is up, send /test_db at this many requests/s through HAProxy until a 10 s round is served warm (every second's p99 within 250 ms, nothing failed or dropped; at most 4 rounds). 0 skips it.",
            DefaultValueFactory = _ => 500,
        };

        var up = new Command("up", "Start the lab (installing its Debian packages when missing, as root): etcd, Patroni + PostgreSQL and web instances in zones a, b, c under supervisord, HAProxy in front, Prometheus with Scale's rules, alertmanager; load the store. Prints the URL. Starting twice is harmless.")
        {
            directory, basePort, webPerZone, source, files, alertFor, warmRps,
        };
        up.SetAction(async (parse, cancellationToken) =>
        {
            var alertForText = parse.GetValue(alertFor)!;
            TimeSpan? alertDuration = alertForText == "production" ? null
                : int.TryParse(alertForText, NumberStyles.None, CultureInfo.InvariantCulture, out var alertSeconds) && alertSeconds is >= 1 and <= 3600 ? TimeSpan.FromSeconds(alertSeconds)
                : null;
            if (alertForText != "production" && alertDuration is null)
            {
                await Console.Error.WriteLineAsync($"scale lab up: --alert-for takes seconds (1-3600) or 'production', not '{alertForText}'");
                return ExitCodes.BadInput;
            }

            using var controller = Controller(parse.GetValue(directory)!, parse.GetValue(basePort), parse.GetValue(webPerZone), parse.GetValue(source), parse.GetValue(files), alertDuration, warmRps: parse.GetValue(warmRps));
            try
            {
                var url = await controller.UpAsync(cancellationToken);
                Console.WriteLine(url);
                return ExitCodes.Success;
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or ArgumentException or IOException or UnauthorizedAccessException or Npgsql.NpgsqlException)
            {
                await Console.Error.WriteLineAsync($"scale lab up: {ex.Message}");
                return ExitCodes.Failure;
            }
        });

        var status = new Command("status", "Every lab component: its zone, process state, health and role. Exit code 1 when any is unhealthy, 3 when no lab runs.")
        {
            directory, basePort, webPerZone, json,
        };
        status.SetAction(async (parse, cancellationToken) =>
        {
            using var controller = Controller(parse.GetValue(directory)!, parse.GetValue(basePort), parse.GetValue(webPerZone), null, 2000, saved: true);
            var components = await controller.StatusAsync(cancellationToken);
            var network = OperatingSystem.IsLinux() ? await controller.Network.DescribeAsync(cancellationToken) : [];
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { url = controller.Layout.Url, running = components.Count > 0, components, network, cpuGroups = controller.CpuGroups.Describe() }, StatusJson));
            }
            else if (components.Count == 0)
            {
                Console.WriteLine($"no lab is running in {controller.Layout.Root}");
            }
            else
            {
                Console.WriteLine($"lab {controller.Layout.Url} ({controller.Layout.Root})");
                Console.WriteLine($"{"component",-16} {"zone",-7} {"address",-16} {"process",-9} {"health",-8} {"role",-8} detail");
                foreach (var c in components)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{c.Name,-16} {(c.Zone is null ? "-" : $"zone {c.Zone}"),-7} {c.Address,-22} {c.Process,-9} {(c.Healthy ? "healthy" : "UNHEALTHY"),-8} {c.Role ?? "-",-8} {c.Detail}"));
                }

                Console.WriteLine();
                Console.WriteLine($"{"zone",-7} {"namespace",-12} {"address",-14} {"link",-6} faults");
                foreach (var zone in network)
                {
                    Console.WriteLine($"zone {zone.Zone,-2} {(zone.NamespaceExists ? zone.Namespace : "(missing)"),-12} {zone.Address,-14} {(zone.LinkUp ? "up" : "DOWN"),-6} {(zone.Faults.Count == 0 ? "-" : string.Join("; ", zone.Faults))}");
                }

                Console.WriteLine($"bridge {controller.Layout.Network.Bridge} at {controller.Layout.Network.HostAddress} (HAProxy's PostgreSQL frontends); the public URL and monitoring on 127.0.0.1");
                foreach (var line in controller.CpuGroups.Describe())
                {
                    Console.WriteLine(line);
                }
            }

            return components.Count == 0 ? ExitCodes.NoLab : components.All(c => c.Healthy) ? ExitCodes.Success : ExitCodes.Failure;
        });

        var down = new Command("down", "Stop every process the lab started and delete its folder. Harmless when no lab is running.") { directory, basePort };
        down.SetAction(async (parse, cancellationToken) =>
        {
            using var controller = Controller(parse.GetValue(directory)!, parse.GetValue(basePort), 2, null, 2000, saved: true);
            await controller.DownAsync(cancellationToken);
            Console.WriteLine($"lab in {controller.Layout.Root}: down");
            return ExitCodes.Success;
        });

        return new Command("lab", "A multi-zone Scale on this machine for load and chaos experiments: up, status, down.") { up, status, down, DelayLineCommand() };
    }

    // Hidden: the lab runs it inside a zone's namespace (ip netns exec) for latency where the kernel has no netem.
    private static Command DelayLineCommand()
    {
        var queue = new Option<ushort>("--queue") { Description = "The NFQUEUE number (in this network namespace).", Required = true };
        var delayMs = new Option<double>("--delay-ms") { Description = "Delay of every queued packet, in ms." };
        var jitterMs = new Option<double>("--jitter-ms") { Description = "± this much, uniformly, in ms (order is kept)." };
        var detach = new Option<bool>("--detach") { Description = "Start the delay line in a session of its own, wait until its queue is bound, print its pid and return." };
        var stop = new Option<bool>("--stop") { Description = "Stop the delay lines on --queue in this network namespace (they let their waiting packets go)." };
        var command = new Command("delay-line", "Delays every packet an iptables NFQUEUE rule sends to --queue (the lab's latency where the kernel has no netem).")
        {
            queue, delayMs, jitterMs, detach, stop,
        };
        command.Hidden = true;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var number = parse.GetValue(queue);
            if (parse.GetValue(stop))
            {
                var stopped = await DelayLine.StopAsync(number, TimeSpan.FromSeconds(3), cancellationToken);
                Console.WriteLine($"stopped {stopped.Count} delay line(s) on NFQUEUE {number}{(stopped.Count == 0 ? "" : $": pid {string.Join(", ", stopped)}")}");
                return ExitCodes.Success;
            }

            var delay = parse.GetValue(delayMs);
            var jitter = parse.GetValue(jitterMs);
            if (delay is <= 0 or > 60_000 || jitter is < 0 or > 60_000)
            {
                await Console.Error.WriteLineAsync("scale lab delay-line: --delay-ms must be in (0, 60000] and --jitter-ms in [0, 60000]");
                return ExitCodes.BadInput;
            }

            try
            {
                if (parse.GetValue(detach))
                {
                    var pid = await DelayLine.StartDetachedAsync(DelayLine.ThisScaleCommand(), number, delay, jitter, TimeSpan.FromSeconds(20), cancellationToken);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"delay line pid {pid} on NFQUEUE {number}: +{delay} ms ± {jitter} ms"));
                    return ExitCodes.Success;
                }

                // A thread of its own: the loop blocks in poll(2) and releases packets on time.
                await Task.Factory.StartNew(
                    () => DelayLine.Run(number, TimeSpan.FromMilliseconds(delay), TimeSpan.FromMilliseconds(jitter), new Random(), () => Console.WriteLine(DelayLine.ReadyLine), cancellationToken),
                    CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                return ExitCodes.Success;
            }
            catch (NfQueueUnavailableException ex)
            {
                await Console.Error.WriteLineAsync($"scale lab delay-line: {ex.Message}");
                return DelayLine.UnavailableExitCode;
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.Net.Sockets.SocketException or IOException)
            {
                await Console.Error.WriteLineAsync($"scale lab delay-line: {ex.Message}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    // status and down see a running lab as it was started (its saved options); up starts it as asked.
    private static LabController Controller(string directory, int basePort, int webPerZone, string? source, int files, TimeSpan? alertFor = null, bool saved = false, int warmRps = 500)
    {
        var options = new LabOptions
        {
            Directory = directory,
            BasePort = basePort,
            WebPerZone = webPerZone,
            Source = source,
            SyntheticFiles = files,
            AlertFor = alertFor,
            WarmRequestsPerSecond = warmRps,
            ScaleProgram = Assembly.GetEntryAssembly()!.Location,
        };
        return new LabController(saved ? options.WithSaved() : options, Console.Error);
    }
}
