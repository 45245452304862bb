using System.Globalization;
using Scale.Store.Tests.Load;

namespace Scale.Store.Tests;

/// <summary>
/// The test assembly's entry point, for what needs a process of its own: <c>migrate DB</c> (several at once prove that
/// migrations are safe across processes) and <c>load</c>, the bulk-load benchmark bench/pg-load.sh runs. The test
/// runner does not use it.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        try
        {
            switch (args)
            {
                case ["migrate", var db]:
                    await using (var store = ScaleStoreFactory.Create(db))
                    {
                        await store.OpenAsync(CancellationToken.None);
                        var version = await store.MigrateAsync(CancellationToken.None);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"version {version}"));
                    }

                    return 0;
                case ["load", .. var rest]:
                    return await LoadBenchmark.MainAsync(rest);
                default:
                    await Console.Error.WriteLineAsync("usage: Scale.Store.Tests.dll migrate DB | load [--files N] [--batch N] [--out FILE] [--durable|--no-durable] [--skip-sqlite] [--profile] [--set name=value] [--db CONNECTION-STRING]");
                    return 2;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await Console.Error.WriteLineAsync(ex.ToString());
            return 1;
        }
    }
}
