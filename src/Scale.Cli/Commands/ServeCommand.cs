using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scale.Web;

namespace Scale.Cli.Commands;

/// <summary><c>scale serve [--db scale.db] [--urls http://127.0.0.1:8080]</c>: the web app over a store.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var db = CommonOptions.Database();
        var urls = new Option<string>("--urls")
        {
            Description = "Where to listen, ';'-separated (e.g. http://0.0.0.0:8080). Env: SCALE_URLS.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_URLS") is { Length: > 0 } value ? value : ScaleWebOptions.DefaultUrls,
        };
        var command = new Command("serve", "Serve the web app: songs by instrument, similar songs, charts, runs, a JSON API and the original app's routes.")
        {
            db, urls,
        };
        command.SetAction((parse, cancellationToken) => ServeAsync(parse.GetValue(db)!, parse.GetValue(urls)!, cancellationToken));
        return command;
    }

    public static async Task<int> ServeAsync(string db, string urls, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(urls))
        {
            await Console.Error.WriteLineAsync("scale serve: --urls must name at least one address, e.g. http://127.0.0.1:8080.").ConfigureAwait(false);
            return 2;
        }

        // A missing file would otherwise fail at the first query, or worse, look like an empty catalogue.
        if (!IsConnectionString(db) && !File.Exists(db))
        {
            await Console.Error.WriteLineAsync($"scale serve: no database at {db}. Fill one with 'scale run --source ... --db {db}' (or 'scale demo'), or pass --db.").ConfigureAwait(false);
            return 2;
        }

        WebApplication app;
        try
        {
            app = ScaleWebApp.Build(new ScaleWebOptions
            {
                Database = db,
                Urls = urls,
                // A failed start (address in use, unreadable database) is reported below in one line; the host's
                // own log of it would add a stack trace.
                ConfigureBuilder = builder => builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical),
            });
        }
        catch (Exception ex) when (CommonOptions.IsUserError(ex))
        {
            await Console.Error.WriteLineAsync($"scale serve: {CommonOptions.Describe(ex)}").ConfigureAwait(false);
            return 2;
        }

        await using (app.ConfigureAwait(false))
        {
            try
            {
                await app.StartAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return 0;
            }
            catch (Exception ex) when (CommonOptions.IsUserError(ex))
            {
                // Address in use, unreadable or unmigrated database: one line, no stack trace.
                await Console.Error.WriteLineAsync($"scale serve: {CommonOptions.Describe(ex)}").ConfigureAwait(false);
                return 2;
            }

            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            Console.WriteLine($"scale serve: {db} on {string.Join(", ", addresses)} (Ctrl+C stops)");
            // Returns when Ctrl+C/SIGTERM cancels the token or the host is told to stop, then stops the server gracefully.
            await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
        }

        return 0;
    }

    private static bool IsConnectionString(string db) => db.Contains('=', StringComparison.Ordinal) || db.Contains("://", StringComparison.Ordinal);
}
