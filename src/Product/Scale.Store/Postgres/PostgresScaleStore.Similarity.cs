using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace Scale.Store.Postgres;

/// <summary>The similarity side of the PostgreSQL store.</summary>
internal sealed partial class PostgresScaleStore
{
    internal const string SelectSimilarityRuns = """
        SELECT id, started_at, finished_at, status, measure, threshold, top_k, min_instruments, songs, eligible_songs,
               distinct_sets, similar_rows, similar_pairs, compute_seconds, write_seconds, wall_seconds, error
        FROM similarity_runs ORDER BY id DESC LIMIT $1;
        """;

    public Task<IReadOnlyList<SongSet>> GetSongSetsAsync(CancellationToken cancellationToken) => WriteAsync<IReadOnlyList<SongSet>>(
        "read the songs' instrument sets",
        async (connection, ct) =>
        {
            var sets = new List<SongSet>();
            await using var command = Command(connection, null, "SELECT key, id, instrument_bits_lo, instrument_bits_mid, instrument_bits_hi FROM songs ORDER BY id COLLATE \"C\";");
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                sets.Add(new SongSet(reader.GetInt64(0), reader.GetString(1), StoreRows.Set(reader, 2)));
            }

            return sets;
        },
        cancellationToken);

    public Task<long> BeginSimilarityRunAsync(SimilaritySettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return WriteAsync(
            "start a similarity run",
            async (connection, ct) =>
            {
                await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                await ExecuteAsync(
                    connection,
                    transaction,
                    "UPDATE similarity_runs SET status = 'interrupted', error = COALESCE(error, 'The process ended before the run finished (found by a later run).') WHERE status = 'running';",
                    ct).ConfigureAwait(false);
                var id = (long)(await ScalarAsync(
                    connection,
                    transaction,
                    "INSERT INTO similarity_runs (started_at, status, measure, threshold, top_k, min_instruments) VALUES ($1, 'running', $2, $3, $4, $5) RETURNING id;",
                    ct,
                    _time.GetUtcNow(),
                    Clean(settings.Measure),
                    settings.Threshold,
                    settings.TopK,
                    settings.MinInstruments).ConfigureAwait(false))!;
                await DurableCommit.CommitDurablyAsync(transaction, "start a similarity run", ct).ConfigureAwait(false);
                return id;
            },
            cancellationToken);
    }

    public async Task<SimilarityStats> ReplaceSimilaritiesAsync(long runId, IEnumerable<SimilarSongList> lists, Func<SimilarityStats> completedStats, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lists);
        ArgumentNullException.ThrowIfNull(completedStats);

        // Not retried as a whole: the lists can be enumerated only once. Connecting is retried; a failure after
        // that rolls the transaction back and the run is marked failed by the caller.
        var connections = Connections;
        await using var connection = await PostgresConnections.WriteRetry.ExecuteAsync(
            async ct => await connections.Primary.OpenConnectionAsync(ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM similar_lists;", cancellationToken).ConfigureAwait(false);
        long rows = 0, pairs = 0;
        await using (var writer = await connection.BeginBinaryImportAsync("COPY similar_lists (song_key, total, stored, entries) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false))
        {
            foreach (var list in lists)
            {
                await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(list.SongKey, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(list.Total, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(list.Rows.Length, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(SimilarListCodec.Encode(list.Rows.Span), NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
                rows += list.Rows.Length;
                pairs += list.Total;
            }

            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        var final = completedStats() with { SimilarRows = rows, SimilarPairs = pairs };
        var updated = await ExecuteAsync(
            connection,
            transaction,
            """
            UPDATE similarity_runs SET finished_at = $2, status = 'completed', songs = $3, eligible_songs = $4,
                                       distinct_sets = $5, similar_rows = $6, similar_pairs = $7, compute_seconds = $8,
                                       write_seconds = $9, wall_seconds = $10, error = NULL
            WHERE id = $1 AND status = 'running';
            """,
            cancellationToken,
            runId,
            _time.GetUtcNow(),
            final.Songs,
            final.EligibleSongs,
            final.DistinctSets,
            final.SimilarRows,
            final.SimilarPairs,
            final.ComputeSeconds,
            final.WriteSeconds,
            final.WallSeconds).ConfigureAwait(false);
        if (updated != 1)
        {
            throw new InvalidOperationException(string.Create(
                CultureInfo.InvariantCulture, $"Similarity run {runId} does not exist or is no longer running (a later run took over)."));
        }

        await DurableCommit.CommitDurablyAsync(transaction, "write the similarity lists", cancellationToken).ConfigureAwait(false);
        return final;
    }

    public Task FailSimilarityRunAsync(long runId, RunStatus status, string errorMessage, CancellationToken cancellationToken)
    {
        if (status is not (RunStatus.Failed or RunStatus.Interrupted))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "A similarity run fails or is interrupted; completing it is ReplaceSimilaritiesAsync.");
        }

        return WriteAsync(
            "mark a similarity run",
            async (connection, ct) =>
            {
                // A transaction of its own, not autocommit, so its commit is checked like every other (DurableCommit).
                await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                var updated = await ExecuteAsync(
                    connection,
                    transaction,
                    "UPDATE similarity_runs SET finished_at = $2, status = $3, error = $4 WHERE id = $1;",
                    ct,
                    runId,
                    _time.GetUtcNow(),
                    RunStatuses.ToCode(status),
                    Clean(errorMessage)).ConfigureAwait(false);
                await DurableCommit.CommitDurablyAsync(transaction, "mark a similarity run", ct).ConfigureAwait(false);
                return updated;
            },
            cancellationToken);
    }

    public Task<IReadOnlyList<SimilarityRunRecord>> GetSimilarityRunsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return WriteAsync("read the similarity runs", (connection, ct) => ReadSimilarityRunsAsync(connection, limit, ct), cancellationToken);
    }

    internal static async Task<IReadOnlyList<SimilarityRunRecord>> ReadSimilarityRunsAsync(NpgsqlConnection connection, int limit, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, SelectSimilarityRuns, limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var runs = new List<SimilarityRunRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            runs.Add(StoreRows.SimilarityRun(reader, ReadTime));
        }

        return runs;
    }

}
