using Microsoft.Data.Sqlite;
using Scale.Midi;

namespace Scale.Store.Sqlite;

/// <summary>
/// Versioned migrations, recorded in <c>schema_migrations(version, applied_at)</c>. Each runs once, in order, in
/// the same IMMEDIATE transaction that checks the version, so processes opening one file at once cannot race.
/// Never edit a released migration: add the next one.
/// </summary>
internal static class SqliteSchema
{
    internal const string CreateMigrationsTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            applied_at TEXT NOT NULL
        );
        """;

    private const string V1 = """
        CREATE TABLE instrument_families (
            code INTEGER PRIMARY KEY CHECK (code BETWEEN 0 AND 16),
            name TEXT NOT NULL
        );

        CREATE TABLE instruments (
            code        INTEGER PRIMARY KEY CHECK (code BETWEEN 0 AND 128),
            name        TEXT NOT NULL,
            family_code INTEGER NOT NULL REFERENCES instrument_families (code)
        );

        CREATE TABLE runs (
            id              INTEGER PRIMARY KEY,
            source          TEXT NOT NULL,
            started_at      TEXT NOT NULL,
            finished_at     TEXT,
            status          TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
            files_seen      INTEGER NOT NULL DEFAULT 0,
            files_skipped   INTEGER NOT NULL DEFAULT 0,
            files_valid     INTEGER NOT NULL DEFAULT 0,
            files_invalid   INTEGER NOT NULL DEFAULT 0,
            files_duplicate INTEGER NOT NULL DEFAULT 0,
            bytes_read      INTEGER NOT NULL DEFAULT 0,
            read_seconds    REAL NOT NULL DEFAULT 0,
            extract_seconds REAL NOT NULL DEFAULT 0,
            write_seconds   REAL NOT NULL DEFAULT 0,
            wall_seconds    REAL NOT NULL DEFAULT 0,
            error           TEXT
        );
        CREATE INDEX ix_runs_source_status ON runs (source, status);

        -- One row per distinct file content: id is the lower-case hex MD5 of the bytes; key is a compact integer
        -- that similar-song lists refer to (millions of references: an MD5 string each would triple their size).
        -- instrument_bits_lo/mid/hi hold the InstrumentSet (codes 0-63, 64-127, 128) as signed 64-bit integers.
        CREATE TABLE songs (
            key                 INTEGER PRIMARY KEY,
            id                  TEXT NOT NULL UNIQUE CHECK (length(id) = 32),
            name                TEXT NOT NULL,
            title               TEXT,
            format              INTEGER NOT NULL,
            tracks              INTEGER NOT NULL,
            division            INTEGER NOT NULL,
            ticks               INTEGER NOT NULL,
            seconds             REAL,
            bytes               INTEGER NOT NULL,
            note_count          INTEGER NOT NULL,
            instrument_count    INTEGER NOT NULL CHECK (instrument_count BETWEEN 0 AND 129),
            warnings            TEXT NOT NULL DEFAULT '',
            instrument_bits_lo  INTEGER NOT NULL,
            instrument_bits_mid INTEGER NOT NULL,
            instrument_bits_hi  INTEGER NOT NULL,
            first_run_id        INTEGER NOT NULL REFERENCES runs (id)
        );

        CREATE TABLE song_instruments (
            song_id         TEXT NOT NULL REFERENCES songs (id),
            instrument_code INTEGER NOT NULL REFERENCES instruments (code),
            notes           INTEGER NOT NULL,
            PRIMARY KEY (song_id, instrument_code)
        ) WITHOUT ROWID;
        CREATE INDEX ix_song_instruments_instrument ON song_instruments (instrument_code, song_id);

        -- The resume ledger: every key a run finished, valid (song_id set) or not.
        CREATE TABLE source_files (
            source  TEXT NOT NULL,
            key     TEXT NOT NULL,
            song_id TEXT REFERENCES songs (id),
            bytes   INTEGER NOT NULL,
            run_id  INTEGER NOT NULL REFERENCES runs (id),
            PRIMARY KEY (source, key)
        ) WITHOUT ROWID;

        CREATE TABLE invalid_files (
            source      TEXT NOT NULL,
            key         TEXT NOT NULL,
            md5         TEXT CHECK (md5 IS NULL OR length(md5) = 32),
            reason_code TEXT NOT NULL,
            message     TEXT NOT NULL,
            bytes       INTEGER NOT NULL,
            run_id      INTEGER NOT NULL REFERENCES runs (id),
            PRIMARY KEY (source, key)
        ) WITHOUT ROWID;
        CREATE INDEX ix_invalid_files_reason ON invalid_files (reason_code);
        """;

    /// <summary>Similar songs: derived from songs, replaced as a whole by each similarity run.</summary>
    private const string V2 = """
        CREATE TABLE similarity_runs (
            id              INTEGER PRIMARY KEY,
            started_at      TEXT NOT NULL,
            finished_at     TEXT,
            status          TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
            measure         TEXT NOT NULL CHECK (measure IN ('jaccard', 'weighted')),
            threshold       REAL NOT NULL,
            top_k           INTEGER NOT NULL,
            min_instruments INTEGER NOT NULL,
            songs           INTEGER NOT NULL DEFAULT 0,
            eligible_songs  INTEGER NOT NULL DEFAULT 0,
            distinct_sets   INTEGER NOT NULL DEFAULT 0,
            similar_rows    INTEGER NOT NULL DEFAULT 0,
            similar_pairs   INTEGER NOT NULL DEFAULT 0,
            compute_seconds REAL NOT NULL DEFAULT 0,
            write_seconds   REAL NOT NULL DEFAULT 0,
            wall_seconds    REAL NOT NULL DEFAULT 0,
            error           TEXT
        );

        -- One row per eligible song: total = songs above the threshold in all (even beyond top K); entries = its
        -- top K, best first (similarity, then shared count, then id), packed as SimilarListCodec writes them:
        -- per entry the similar song's key (int32), the shared count (uint8) and the similarity (float64), little
        -- endian, 13 bytes. Packed rather than a row per pair because the full Lakh run keeps about 15 million
        -- pairs: as rows they took SQLite tens of seconds and half a gigabyte; as one value per song they are read
        -- back with one primary-key lookup, and written (and later COPYed into PostgreSQL) in about a second.
        CREATE TABLE similar_lists (
            song_key INTEGER PRIMARY KEY REFERENCES songs (key),
            total    INTEGER NOT NULL,
            stored   INTEGER NOT NULL,
            entries  BLOB NOT NULL
        );
        """;

    /// <summary>Completed shards of sharded extractions; sources finished before sharding count as one shard.</summary>
    private const string V3 = """
        CREATE TABLE shards (
            source       TEXT NOT NULL,
            shard_count  INTEGER NOT NULL CHECK (shard_count >= 1),
            shard_index  INTEGER NOT NULL CHECK (shard_index >= 0 AND shard_index < shard_count),
            run_id       INTEGER NOT NULL REFERENCES runs (id),
            completed_at TEXT NOT NULL,
            PRIMARY KEY (source, shard_count, shard_index)
        ) WITHOUT ROWID;

        INSERT INTO shards (source, shard_count, shard_index, run_id, completed_at)
        SELECT source, 1, 0, MAX(id), MAX(finished_at) FROM runs WHERE status = 'completed' GROUP BY source;
        """;

    /// <summary>The migrations in order; version i+1 is element i.</summary>
    internal static IReadOnlyList<Action<SqliteConnection, SqliteTransaction>> Migrations { get; } =
    [
        ApplyV1,
        (connection, transaction) => Execute(connection, transaction, V2),
        (connection, transaction) => Execute(connection, transaction, V3),
    ];

    internal static int LatestVersion => Migrations.Count;

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void ApplyV1(SqliteConnection connection, SqliteTransaction transaction)
    {
        using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = V1;
            create.ExecuteNonQuery();
        }

        using (var family = connection.CreateCommand())
        {
            family.Transaction = transaction;
            family.CommandText = "INSERT INTO instrument_families (code, name) VALUES ($code, $name);";
            var code = family.Parameters.Add("$code", SqliteType.Integer);
            var name = family.Parameters.Add("$name", SqliteType.Text);
            for (var f = 0; f < GeneralMidi.FamilyCount; f++)
            {
                code.Value = f;
                name.Value = GeneralMidi.FamilyName(f);
                family.ExecuteNonQuery();
            }
        }

        using var instrument = connection.CreateCommand();
        instrument.Transaction = transaction;
        instrument.CommandText = "INSERT INTO instruments (code, name, family_code) VALUES ($code, $name, $family);";
        var icode = instrument.Parameters.Add("$code", SqliteType.Integer);
        var iname = instrument.Parameters.Add("$name", SqliteType.Text);
        var ifamily = instrument.Parameters.Add("$family", SqliteType.Integer);
        for (var i = 0; i < GeneralMidi.InstrumentCount; i++)
        {
            icode.Value = i;
            iname.Value = GeneralMidi.InstrumentName(i);
            ifamily.Value = GeneralMidi.FamilyOf(i);
            instrument.ExecuteNonQuery();
        }
    }
}
