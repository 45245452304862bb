using System.Data.Common;
using Scale.Midi;

namespace Scale.Store;

/// <summary>
/// Rows to records, shared by both backends: their queries select the same columns in the same order, and differ
/// only in how a timestamp comes back (SQLite: ISO 8601 text; PostgreSQL: timestamptz), which the caller passes.
/// </summary>
internal static class StoreRows
{
    /// <summary>Reads the timestamp in column <c>ordinal</c>.</summary>
    internal delegate DateTimeOffset TimeReader(DbDataReader reader, int ordinal);

    /// <summary>The InstrumentSet stored in three signed 64-bit columns starting at <paramref name="ordinal"/>.</summary>
    internal static InstrumentSet Set(DbDataReader reader, int ordinal) => new(
        unchecked((ulong)reader.GetInt64(ordinal)),
        unchecked((ulong)reader.GetInt64(ordinal + 1)),
        unchecked((ulong)reader.GetInt64(ordinal + 2)));

    /// <summary>A row of the runs query: id, source, started_at, finished_at, status, the ten counts and timings, error.</summary>
    internal static RunRecord Run(DbDataReader reader, TimeReader time)
    {
        var stats = new RunStats
        {
            FilesSeen = reader.GetInt64(5),
            FilesSkipped = reader.GetInt64(6),
            FilesValid = reader.GetInt64(7),
            FilesInvalid = reader.GetInt64(8),
            FilesDuplicate = reader.GetInt64(9),
            BytesRead = reader.GetInt64(10),
            ReadSeconds = reader.GetDouble(11),
            ExtractSeconds = reader.GetDouble(12),
            WriteSeconds = reader.GetDouble(13),
            WallSeconds = reader.GetDouble(14),
        };
        return new RunRecord(
            reader.GetInt64(0),
            reader.GetString(1),
            time(reader, 2),
            reader.IsDBNull(3) ? null : time(reader, 3),
            RunStatuses.Parse(reader.GetString(4)),
            stats,
            reader.IsDBNull(15) ? null : reader.GetString(15));
    }

    /// <summary>A row of the similarity runs query (see the backends' SelectSimilarityRuns).</summary>
    internal static SimilarityRunRecord SimilarityRun(DbDataReader reader, TimeReader time)
    {
        var settings = new SimilaritySettings(reader.GetString(4), reader.GetDouble(5), reader.GetInt32(6), reader.GetInt32(7));
        var stats = new SimilarityStats
        {
            Songs = reader.GetInt64(8),
            EligibleSongs = reader.GetInt64(9),
            DistinctSets = reader.GetInt64(10),
            SimilarRows = reader.GetInt64(11),
            SimilarPairs = reader.GetInt64(12),
            ComputeSeconds = reader.GetDouble(13),
            WriteSeconds = reader.GetDouble(14),
            WallSeconds = reader.GetDouble(15),
        };
        return new SimilarityRunRecord(
            reader.GetInt64(0),
            time(reader, 1),
            reader.IsDBNull(2) ? null : time(reader, 2),
            RunStatuses.Parse(reader.GetString(3)),
            settings,
            stats,
            reader.IsDBNull(16) ? null : reader.GetString(16));
    }

    /// <summary>A row of the song query: key, id, name, title, format, tracks, division, ticks, seconds, bytes, notes, warnings, the set, similar total.</summary>
    internal static SongDetails Song(DbDataReader reader)
    {
        var warnings = reader.GetString(11);
        return new SongDetails(
            reader.GetInt64(0),
            reader.GetString(1),
            reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.GetInt32(4),
            reader.GetInt32(5),
            reader.GetInt32(6),
            reader.GetInt64(7),
            reader.IsDBNull(8) ? null : reader.GetDouble(8),
            reader.GetInt64(9),
            reader.GetInt64(10),
            Set(reader, 12),
            warnings.Length == 0 ? [] : warnings.Split(' '),
            reader.IsDBNull(15) ? null : reader.GetInt32(15));
    }
}
