using Scale.Store.Postgres;
using Scale.Store.Sqlite;
using Scale.Store.Telemetry;

namespace Scale.Store;

/// <summary>Chooses the store implementation from what the user gave as the database.</summary>
public static class ScaleStoreFactory
{
    /// <summary>
    /// A store for <paramref name="db"/>, not yet connected (call <see cref="IScaleStore.OpenAsync"/>): a file path or
    /// a SQLite connection string ("Data Source=...") gives the embedded SQLite store; a PostgreSQL connection string
    /// ("Host=h1:5432,h2:5433;Database=...", several hosts for a primary and its replicas) or URI
    /// ("postgres://user:password@h1,h2/db") gives the PostgreSQL store, which writes to whichever host is primary.
    /// </summary>
    public static IScaleStore Create(string db, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(db);
        return IsPostgres(db)
            ? new PostgresScaleStore(db, timeProvider ?? TimeProvider.System)
            : new SqliteScaleStore(db, timeProvider ?? TimeProvider.System);
    }

    /// <summary><see cref="Create"/> then <see cref="IScaleStore.OpenAsync"/> (connect and migrate).</summary>
    public static async Task<IScaleStore> OpenAsync(string db, TimeProvider? timeProvider, CancellationToken cancellationToken)
    {
        var store = Create(db, timeProvider);
        try
        {
            await store.OpenAsync(cancellationToken);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The read side for <paramref name="db"/> (see <see cref="IScaleReader"/>): opens connections as calls need
    /// them, read-only; PostgreSQL reads go to a replica when one is up. The database must exist and have been
    /// migrated (by <c>scale run</c>, <c>scale db migrate</c>). Every read is timed and counted (<see cref="StoreMetrics"/>).
    /// </summary>
    public static IScaleReader CreateReader(string db)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(db);
        return IsPostgres(db)
            ? new InstrumentedScaleReader(new PostgresScaleReader(db), "postgresql")
            : new InstrumentedScaleReader(new SqliteScaleReader(db), "sqlite");
    }

    /// <summary>Where <paramref name="db"/> points, without credentials: postgres://hosts/database, or the SQLite file.</summary>
    public static string Describe(string db)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(db);
        if (IsPostgres(db))
        {
            return PostgresConnections.Describe(db);
        }

        return db.Contains("Data Source=", StringComparison.OrdinalIgnoreCase)
            ? new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(db).DataSource
            : db;
    }

    internal static bool IsPostgres(string db) =>
        db.Contains("Host=", StringComparison.OrdinalIgnoreCase) ||
        db.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ||
        db.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);
}
