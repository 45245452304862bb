using System.CommandLine;
using System.Globalization;
using System.Text;
using Scale.Load;

namespace Scale.Cli.Commands;

/// <summary>
/// <c>scale load URL [-t S] [--rps R] [-c C] [-n N] [-k] [-m METHOD] [-T TYPE] [-P BODY] [--json]</c>: steady load
/// with honest latency (docs/load.md). Flags as npm loadtest's, which the original project used.
/// </summary>
internal static class LoadCommand
{
    public static Command Create()
    {
        var url = new Argument<string>("url") { Description = "The URL to load (http:// or https://)." };
        var seconds = new Option<double?>("--maxSeconds", "-t") { Description = "Seconds to send for." };
        var rps = new Option<double?>("--rps")
        {
            Description = "Requests per second on a fixed schedule (open model: latency from each request's intended send time). Without it: -c clients back to back.",
        };
        var concurrency = new Option<int>("--concurrency", "-c")
        {
            Description = "Clients (without --rps), or the most requests in flight (with --rps; loadtest ignores -c then). A due request that finds all busy waits, and the wait counts in its latency.",
            DefaultValueFactory = _ => 10,
        };
        var maxRequests = new Option<long?>("--maxRequests", "-n") { Description = "Stop after this many requests." };
        var keepAlive = new Option<bool>("--keepalive", "-k") { Description = "Reuse connections (default, as loadtest: a new connection per request)." };
        var method = new Option<string>("--method", "-m") { Description = "HTTP method.", DefaultValueFactory = _ => "GET" };
        var contentType = new Option<string>("--contentType", "-T") { Description = "Content type of the body.", DefaultValueFactory = _ => "text/plain" };
        var body = new Option<string?>("--postBody", "-P") { Description = "Request body (text)." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds before a request counts as a timeout error.", DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "Write the report as JSON (loadtest's fields, then the series) on stdout; progress goes to stderr." };
        var quiet = new Option<bool>("--quiet") { Description = "No per-second progress lines." };
        var htmlReport = new Option<string?>("--report") { Description = "Also write an HTML report: latency over time (p50/p90/p99/max per second), rate, errors, the latency distribution." };
        var command = new Command("load", "Send steady HTTP load and measure it honestly: a constant arrival rate, latency from the intended send time (HdrHistogram), late and dropped sends counted, a per-second series.")
        {
            url, seconds, rps, concurrency, maxRequests, keepAlive, method, contentType, body, timeout, json, quiet, htmlReport,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            if (!Uri.TryCreate(parse.GetValue(url), UriKind.Absolute, out var target))
            {
                Console.Error.WriteLine($"scale load: '{parse.GetValue(url)}' is not an absolute URL (e.g. http://127.0.0.1:8080/)");
                return Task.FromResult(ExitCodes.BadInput);
            }

            var options = new LoadOptions
            {
                Target = target,
                Duration = parse.GetValue(seconds) is { } s ? TimeSpan.FromSeconds(s) : null,
                RequestsPerSecond = parse.GetValue(rps),
                Concurrency = parse.GetValue(concurrency),
                MaxRequests = parse.GetValue(maxRequests),
                KeepAlive = parse.GetValue(keepAlive),
                Method = parse.GetValue(method)!.ToUpperInvariant(),
                ContentType = parse.GetValue(contentType)!,
                Body = parse.GetValue(body) is { } text ? Encoding.UTF8.GetBytes(text) : null,
                Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
            };
            return RunAsync(options, parse.GetValue(json), parse.GetValue(quiet), parse.GetValue(htmlReport), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(LoadOptions options, bool json, bool quiet, string? htmlReport, CancellationToken cancellationToken)
    {
        LoadGenerator generator;
        try
        {
            generator = new LoadGenerator(options);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"scale load: {ex.Message}");
            return ExitCodes.BadInput;
        }

        using (generator)
        {
            Action<LoadSecond>? progress = quiet ? null : second => Console.Error.WriteLine(LoadReportWriter.ProgressLine(second, options));
            if (!quiet)
            {
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"scale load: {options.Method} {options.Target}, {(options.RequestsPerSecond is { } r ? $"{r:0.###} requests/s" : $"{options.Concurrency} clients")}, {(options.Duration is { } d ? $"{d.TotalSeconds:0.###} s" : $"{options.MaxRequests} requests")}"));
            }

            // Ctrl+C stops sending; the report covers what was measured.
            var report = await generator.RunAsync(progress, cancellationToken);
            if (json)
            {
                using var stdout = Console.OpenStandardOutput();
                LoadReportWriter.WriteJson(report, stdout);
                stdout.WriteByte((byte)'\n');
            }
            else
            {
                LoadReportWriter.WriteText(report, Console.Out);
            }

            if (htmlReport is not null)
            {
                try
                {
                    LoadHtmlReport.Write(report, htmlReport);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    await Console.Error.WriteLineAsync($"scale load: could not write the report to {htmlReport}: {ex.Message}");
                    return ExitCodes.Failure;
                }
            }

            return ExitCodes.Success;
        }
    }
}
