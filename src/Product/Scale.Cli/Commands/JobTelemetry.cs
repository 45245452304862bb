using System.CommandLine;
using System.Globalization;
using Scale.Cli.Terminal;
using Scale.Pipeline.Telemetry;
using Scale.Web.Logging;
using Scale.Web.Telemetry;

namespace Scale.Cli.Commands;

/// <summary>
/// <c>--metrics-urls</c>, <c>--metrics-linger</c> and <c>--log-format</c> of the batch commands (run, extract,
/// similar): while the job runs, /metrics serves its progress for Prometheus, and with JSON logs every line the
/// command writes is a JSON object (see docs/observability.md).
/// </summary>
internal sealed class JobTelemetry
{
    public Option<string?> Urls { get; } = new("--metrics-urls")
    {
        Description = "Serve Prometheus metrics at <url>/metrics while the job runs (e.g. http://0.0.0.0:9464). Env: SCALE_METRICS_URLS. Default: off.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_METRICS_URLS"),
    };

    public Option<double> Linger { get; } = new("--metrics-linger")
    {
        Description = "Seconds to keep serving /metrics after the job ends, so the last scrape sees the final counts (set it to the scrape interval). Env: SCALE_METRICS_LINGER. Default: 0.",
        DefaultValueFactory = _ => double.TryParse(Environment.GetEnvironmentVariable("SCALE_METRICS_LINGER"), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) ? seconds : 0,
    };

    public Option<string> LogFormat { get; } = new("--log-format")
    {
        Description = "Output as text, or json (one object per line, for collectors), or auto (text on a terminal, else json). Env: SCALE_LOG_FORMAT.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_LOG_FORMAT") ?? "auto",
    };

    public IEnumerable<Option> All => [Urls, Linger, LogFormat];

    /// <summary>Runs <paramref name="job"/>, with the metrics server around it when asked for.</summary>
    public async Task<int> RunAsync(ParseResult parse, string command, Func<Task<int>> job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(job);
        var urls = parse.GetValue(Urls);
        var linger = parse.GetValue(Linger);
        if (ScaleLogging.ParseFormat(parse.GetValue(LogFormat)) is not { } format)
        {
            await Console.Error.WriteLineAsync($"scale {command}: --log-format must be auto, text or json, not '{parse.GetValue(LogFormat)}'.").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        if (ScaleLogging.Resolve(format) != Scale.Web.Logging.LogFormat.Json)
        {
            return await RunWithMetricsAsync(urls, linger, command, job, cancellationToken).ConfigureAwait(false);
        }

        var (stdout, stderr) = (Console.Out, Console.Error);
        using var info = new JsonLineWriter(stdout, $"scale.{command}", "info");
        using var errors = new JsonLineWriter(stderr, $"scale.{command}", "error");
        Console.SetOut(info);
        Console.SetError(errors);
        try
        {
            return await RunWithMetricsAsync(urls, linger, command, job, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }

    private static async Task<int> RunWithMetricsAsync(string? urls, double linger, string command, Func<Task<int>> job, CancellationToken cancellationToken)
    {
        if (!double.IsFinite(linger) || linger < 0 || linger > 3600)
        {
            await Console.Error.WriteLineAsync($"scale {command}: --metrics-linger is seconds between 0 and 3600.").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        BatchMetrics.Command = command;
        if (string.IsNullOrWhiteSpace(urls))
        {
            return await job().ConfigureAwait(false);
        }

        MetricsServer server;
        try
        {
            server = await MetricsServer.StartAsync(urls, "batch", [BatchMetrics.MeterName], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (CommonOptions.IsUserError(ex) || ex is InvalidOperationException or FormatException)
        {
            await Console.Error.WriteLineAsync($"scale {command}: cannot serve metrics at {urls}: {CommonOptions.Describe(ex)}").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        await using (server.ConfigureAwait(false))
        {
            Console.WriteLine($"scale {command}: metrics on {string.Join(", ", server.Addresses.Select(a => a.TrimEnd('/') + ScaleMetrics.EndpointPath))}");
            var exitCode = await job().ConfigureAwait(false);
            if (linger > 0 && !cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(linger), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C during the linger: stop now; the job already finished.
                }
            }

            return exitCode;
        }
    }
}
