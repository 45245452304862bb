using System.CommandLine;
using Scale.Store;

namespace Scale.Cli.Commands;

/// <summary><c>scale db migrate [--db DB]</c>: brings the schema up to date (idempotent; safe from several processes at once).</summary>
internal static class DbCommand
{
    public static Command Create()
    {
        var db = CommonOptions.Database();
        var migrate = new Command("migrate", "Create or upgrade the database schema (idempotent; safe to run from several processes at once).")
        {
            db,
        };
        migrate.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                await using var store = ScaleStoreFactory.Create(parse.GetValue(db)!);
                await store.OpenAsync(cancellationToken).ConfigureAwait(false);
                var version = await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"scale db migrate: {store.Description} is at schema version {version}.");
                return ExitCodes.Success;
            }
            catch (Exception ex) when (CommonOptions.IsUserError(ex) || ex is InvalidOperationException)
            {
                await Console.Error.WriteLineAsync($"scale db migrate: {CommonOptions.Describe(ex)}").ConfigureAwait(false);
                return ExitCodes.BadInput;
            }
        });
        return new Command("db", "Database administration.") { migrate };
    }
}
