using Scale.Store.Sqlite;

namespace Scale.Store;

/// <summary>Chooses the store implementation from what the user gave as the database.</summary>
public static class ScaleStoreFactory
{
    /// <summary>
    /// A store for <paramref name="db"/>, not yet connected (call <see cref="IScaleStore.OpenAsync"/>): a file path or
    /// a SQLite connection string ("Data Source=...") gives the embedded SQLite store; a PostgreSQL connection string
    /// ("Host=...") or URI ("postgres://...") is recognised but not supported yet.
    /// </summary>
    /// <exception cref="NotSupportedException">For PostgreSQL.</exception>
    public static IScaleStore Create(string db, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(db);
        if (IsPostgres(db))
        {
            throw new NotSupportedException(
                "PostgreSQL arrives in a later release; for now give a SQLite database file path (e.g. scale.db).");
        }

        return new SqliteScaleStore(db, timeProvider ?? TimeProvider.System);
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
    /// them, read-only. The database must exist and have been migrated (by <c>scale run</c>, <c>scale db migrate</c>).
    /// </summary>
    /// <exception cref="NotSupportedException">For PostgreSQL.</exception>
    public static IScaleReader CreateReader(string db)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(db);
        if (IsPostgres(db))
        {
            throw new NotSupportedException(
                "PostgreSQL arrives in a later release; for now give a SQLite database file path (e.g. scale.db).");
        }

        return new SqliteScaleReader(db);
    }

    internal static bool IsPostgres(string db) =>
        db.Contains("Host=", StringComparison.OrdinalIgnoreCase) ||
        db.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ||
        db.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);
}
