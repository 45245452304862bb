using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Scale.Store.Sqlite;

/// <summary>The similarity side of the embedded store: the songs' sets in, the similar-song lists out.</summary>
internal sealed partial class SqliteScaleStore
{
    private const string SelectSongSets = """
        SELECT key, id, instrument_bits_lo, instrument_bits_mid, instrument_bits_hi FROM songs ORDER BY id;
        """;

    private const string InterruptStaleSimilarity = """
        UPDATE similarity_runs SET status = 'interrupted',
                                   error = COALESCE(error, 'The process ended before the run finished (found by a later run).')
        WHERE status = 'running';
        """;

    private const string InsertSimilarityRun = """
        INSERT INTO similarity_runs (started_at, status, measure, threshold, top_k, min_instruments)
        VALUES ($at, 'running', $measure, $threshold, $topK, $min) RETURNING id;
        """;

    private const string InsertSimilarList = """
        INSERT INTO similar_lists (song_key, total, stored, entries) VALUES ($song, $total, $stored, $entries);
        """;

    private const string CompleteSimilarityRun = """
        UPDATE similarity_runs SET finished_at = $at, status = 'completed', songs = $songs, eligible_songs = $eligible,
                                   distinct_sets = $sets, similar_rows = $rows, similar_pairs = $pairs,
                                   compute_seconds = $compute, write_seconds = $write, wall_seconds = $wall, error = NULL
        WHERE id = $run AND status = 'running';
        """;

    private const string FailSimilarityRun = """
        UPDATE similarity_runs SET finished_at = $at, status = $status, error = $error WHERE id = $run;
        """;

    internal const string SelectSimilarityRuns = """
        SELECT id, started_at, finished_at, status, measure, threshold, top_k, min_instruments, songs, eligible_songs,
               distinct_sets, similar_rows, similar_pairs, compute_seconds, write_seconds, wall_seconds, error
        FROM similarity_runs ORDER BY id DESC LIMIT $limit;
        """;

    public async Task<IReadOnlyList<SongSet>> GetSongSetsAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var sets = new List<SongSet>();
            using var command = Command(Connection, null, SelectSongSets);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                sets.Add(new SongSet(reader.GetInt64(0), reader.GetString(1), StoreRows.Set(reader, 2)));
            }

            return sets;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<long> BeginSimilarityRunAsync(SimilaritySettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var connection = Connection;
            using var transaction = connection.BeginTransaction(deferred: false);
            using (var stale = Command(connection, transaction, InterruptStaleSimilarity))
            {
                stale.ExecuteNonQuery();
            }

            long id;
            using (var insert = Command(connection, transaction, InsertSimilarityRun))
            {
                insert.Parameters.AddWithValue("$at", Now());
                insert.Parameters.AddWithValue("$measure", settings.Measure);
                insert.Parameters.AddWithValue("$threshold", settings.Threshold);
                insert.Parameters.AddWithValue("$topK", settings.TopK);
                insert.Parameters.AddWithValue("$min", settings.MinInstruments);
                id = Convert.ToInt64(insert.ExecuteScalar(), CultureInfo.InvariantCulture);
            }

            transaction.Commit();
            return id;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<SimilarityStats> ReplaceSimilaritiesAsync(long runId, IEnumerable<SimilarSongList> lists, Func<SimilarityStats> completedStats, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lists);
        ArgumentNullException.ThrowIfNull(completedStats);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var connection = Connection;
            using var transaction = connection.BeginTransaction(deferred: false);
            using (var clear = Command(connection, transaction, "DELETE FROM similar_lists;"))
            {
                clear.ExecuteNonQuery();
            }

            long rows = 0, pairs = 0, songs = 0;
            using (var insert = Command(connection, transaction, InsertSimilarList))
            {
                var song = insert.Parameters.Add("$song", SqliteType.Integer);
                var total = insert.Parameters.Add("$total", SqliteType.Integer);
                var stored = insert.Parameters.Add("$stored", SqliteType.Integer);
                var entries = insert.Parameters.Add("$entries", SqliteType.Blob);
                foreach (var list in lists)
                {
                    if ((++songs & 1023) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    song.Value = list.SongKey;
                    total.Value = list.Total;
                    stored.Value = list.Rows.Length;
                    entries.Value = SimilarListCodec.Encode(list.Rows.Span);
                    insert.ExecuteNonQuery();
                    rows += list.Rows.Length;
                    pairs += list.Total;
                }
            }

            var final = completedStats() with { SimilarRows = rows, SimilarPairs = pairs };
            using (var complete = Command(connection, transaction, CompleteSimilarityRun))
            {
                var p = complete.Parameters;
                p.AddWithValue("$run", runId);
                p.AddWithValue("$at", Now());
                p.AddWithValue("$songs", final.Songs);
                p.AddWithValue("$eligible", final.EligibleSongs);
                p.AddWithValue("$sets", final.DistinctSets);
                p.AddWithValue("$rows", final.SimilarRows);
                p.AddWithValue("$pairs", final.SimilarPairs);
                p.AddWithValue("$compute", final.ComputeSeconds);
                p.AddWithValue("$write", final.WriteSeconds);
                p.AddWithValue("$wall", final.WallSeconds);
                if (complete.ExecuteNonQuery() != 1)
                {
                    throw new InvalidOperationException(string.Create(
                        CultureInfo.InvariantCulture, $"Similarity run {runId} does not exist or is no longer running (a later run took over)."));
                }
            }

            transaction.Commit();
            return final;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task FailSimilarityRunAsync(long runId, RunStatus status, string errorMessage, CancellationToken cancellationToken)
    {
        if (status is not (RunStatus.Failed or RunStatus.Interrupted))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "A similarity run fails or is interrupted; completing it is ReplaceSimilaritiesAsync.");
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var command = Command(Connection, null, FailSimilarityRun);
            command.Parameters.AddWithValue("$run", runId);
            command.Parameters.AddWithValue("$at", Now());
            command.Parameters.AddWithValue("$status", RunStatuses.ToCode(status));
            command.Parameters.AddWithValue("$error", errorMessage);
            command.ExecuteNonQuery();
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<SimilarityRunRecord>> GetSimilarityRunsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return ReadSimilarityRuns(Connection, limit);
        }
        finally
        {
            _gate.Release();
        }
    }

    internal static List<SimilarityRunRecord> ReadSimilarityRuns(SqliteConnection connection, int limit)
    {
        using var command = Command(connection, null, SelectSimilarityRuns);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var runs = new List<SimilarityRunRecord>();
        while (reader.Read())
        {
            runs.Add(StoreRows.SimilarityRun(reader, ReadTime));
        }

        return runs;
    }

}
