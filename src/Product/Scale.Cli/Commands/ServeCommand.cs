using System.CommandLine;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scale.Web;
using Scale.Web.Logging;

namespace Scale.Cli.Commands;

/// <summary><c>scale serve [--db scale.db] [--urls http://127.0.0.1:8080]</c>: the web app over a store.</summary>
internal static partial class ServeCommand
{
    /// <summary>What <c>scale serve</c> was asked for, beyond the database and the addresses.</summary>
    internal sealed record ServeSettings(
        TimeSpan ShutdownDelay,
        TimeSpan ShutdownTimeout,
        LogFormat LogFormat,
        RequestLogMode RequestLog,
        bool ReadyRequiresDatabase = false,
        TimeSpan? WarmupTimeout = null)
    {
        public static ServeSettings Default { get; } = new(TimeSpan.Zero, TimeSpan.FromSeconds(30), LogFormat.Auto, RequestLogMode.Errors);
    }

    public static Command Create()
    {
        var db = CommonOptions.Database();
        var urls = new Option<string>("--urls")
        {
            Description = "Where to listen, ';'-separated (e.g. http://0.0.0.0:8080). Env: SCALE_URLS.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_URLS") is { Length: > 0 } value ? value : ScaleWebOptions.DefaultUrls,
        };
        var shutdownDelay = SecondsOption(
            "--shutdown-delay",
            "SCALE_SHUTDOWN_DELAY",
            ServeSettings.Default.ShutdownDelay,
            "After SIGTERM, seconds to keep serving while /readyz reports not ready, so load balancers stop sending requests first.");
        var shutdownTimeout = SecondsOption(
            "--shutdown-timeout",
            "SCALE_SHUTDOWN_TIMEOUT",
            ServeSettings.Default.ShutdownTimeout,
            "Then, seconds in-flight requests get to finish before the server exits.");
        var readyRequiresDatabase = new Option<bool>("--ready-requires-database")
        {
            Description = "Make /readyz answer 503 while no database server answers (off by default: every instance shares the database, so " +
                "following it takes them all out of the load balancer at once). Env: SCALE_READY_REQUIRES_DATABASE=true.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_READY_REQUIRES_DATABASE") is { } value
                && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase)),
        };
        var warmupTimeout = SecondsOption(
            "--warmup-timeout",
            "SCALE_WARMUP_TIMEOUT",
            new ScaleWebOptions().WarmupTimeout,
            "At start, the longest the warm-up (every main route requested before /readyz says ready) may take; then ready anyway. 0 disables it.");
        var logFormat = new Option<string>("--log-format")
        {
            Description = "Logs as text (a terminal), json (one object per line, for collectors) or auto (text on a terminal, else json). Env: SCALE_LOG_FORMAT.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_LOG_FORMAT") ?? "auto",
        };
        var requestLog = new Option<string>("--request-log")
        {
            Description = "Requests to log: errors (5xx and slow ones), all, or none. Env: SCALE_REQUEST_LOG.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_REQUEST_LOG") ?? "errors",
        };
        var command = new Command("serve", "Serve the web app: songs by instrument, similar songs, charts, runs, a JSON API, the original app's routes, /healthz, /readyz and /metrics.")
        {
            db, urls, shutdownDelay, shutdownTimeout, readyRequiresDatabase, warmupTimeout, logFormat, requestLog,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var format = ScaleLogging.ParseFormat(parse.GetValue(logFormat));
            var requests = ScaleLogging.ParseRequestLog(parse.GetValue(requestLog));
            var delay = parse.GetValue(shutdownDelay);
            var timeout = parse.GetValue(shutdownTimeout);
            var warmup = parse.GetValue(warmupTimeout);
            string? error = null;
            if (format is null)
            {
                error = $"--log-format must be auto, text or json, not '{parse.GetValue(logFormat)}'.";
            }
            else if (requests is null)
            {
                error = $"--request-log must be errors, all or none, not '{parse.GetValue(requestLog)}'.";
            }
            else if (!double.IsFinite(delay) || !double.IsFinite(timeout) || delay < 0 || timeout < 0 || delay + timeout > 3600)
            {
                error = "--shutdown-delay and --shutdown-timeout are seconds, at least 0, together at most 3600.";
            }
            else if (!double.IsFinite(warmup) || warmup < 0 || warmup > 600)
            {
                error = "--warmup-timeout is seconds, 0 (no warm-up) to 600.";
            }

            if (error is not null)
            {
                await Console.Error.WriteLineAsync("scale serve: " + error).ConfigureAwait(false);
                return ExitCodes.BadInput;
            }

            var settings = new ServeSettings(
                TimeSpan.FromSeconds(delay),
                TimeSpan.FromSeconds(timeout),
                format!.Value,
                requests!.Value,
                parse.GetValue(readyRequiresDatabase),
                TimeSpan.FromSeconds(warmup));
            return await ServeAsync(parse.GetValue(db)!, parse.GetValue(urls)!, settings, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    public static async Task<int> ServeAsync(string db, string urls, ServeSettings settings, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (string.IsNullOrWhiteSpace(urls))
        {
            await Console.Error.WriteLineAsync("scale serve: --urls must name at least one address, e.g. http://127.0.0.1:8080.").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        // A missing file would otherwise fail at the first query, or worse, look like an empty catalogue.
        if (!IsConnectionString(db) && !File.Exists(db))
        {
            await Console.Error.WriteLineAsync($"scale serve: no database at {db}. Fill one with 'scale run --source ... --db {db}' (or 'scale demo'), or pass --db.").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        WebApplication app;
        try
        {
            app = ScaleWebApp.Build(new ScaleWebOptions
            {
                Database = db,
                Urls = urls,
                ShutdownDelay = settings.ShutdownDelay,
                ShutdownTimeout = settings.ShutdownTimeout,
                LogFormat = settings.LogFormat,
                RequestLog = settings.RequestLog,
                ReadinessRequiresDatabase = settings.ReadyRequiresDatabase,
                WarmupTimeout = settings.WarmupTimeout ?? new ScaleWebOptions().WarmupTimeout,
                // A failed start (address in use, unreadable database) is reported below in one line; the host's
                // own log of it would add a stack trace.
                ConfigureBuilder = builder => builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical),
            });
        }
        catch (Exception ex) when (CommonOptions.IsUserError(ex))
        {
            await Console.Error.WriteLineAsync($"scale serve: {CommonOptions.Describe(ex)}").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        await using (app.ConfigureAwait(false))
        {
            try
            {
                await app.StartAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return ExitCodes.Success;
            }
            catch (Exception ex) when (CommonOptions.IsUserError(ex))
            {
                // Address in use, unreadable or unmigrated database: one line, no stack trace.
                await Console.Error.WriteLineAsync($"scale serve: {CommonOptions.Describe(ex)}").ConfigureAwait(false);
                return ExitCodes.BadInput;
            }

            var addresses = string.Join(", ", app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
            var where = ScaleStoreDescription(db);
            if (ScaleLogging.Resolve(settings.LogFormat) == LogFormat.Json)
            {
                // Collectors read every line as JSON: the start line is a log event too.
                var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Scale.Cli.Serve");
                LogServing(logger, where, addresses);
            }
            else
            {
                Console.WriteLine($"scale serve: {where} on {addresses} (Ctrl+C stops)");
            }

            // Returns when SIGTERM/Ctrl+C (the host's console lifetime) or the token stops the host, after the
            // graceful shutdown: not ready, the shutdown delay, in-flight requests finished.
            await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "scale serve: {Database} on {Addresses}")]
    private static partial void LogServing(ILogger logger, string database, string addresses);

    /// <summary>Never the connection string itself: it may hold a password.</summary>
    private static string ScaleStoreDescription(string db) => Scale.Store.ScaleStoreFactory.Describe(db);

    private static Option<double> SecondsOption(string name, string variable, TimeSpan fallback, string description) => new(name)
    {
        Description = $"{description} Env: {variable}. Default: {fallback.TotalSeconds.ToString(CultureInfo.InvariantCulture)}.",
        DefaultValueFactory = _ => double.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? seconds
            : fallback.TotalSeconds,
    };

    private static bool IsConnectionString(string db) => db.Contains('=', StringComparison.Ordinal) || db.Contains("://", StringComparison.Ordinal);
}
