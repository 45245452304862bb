using System.CommandLine;
using Scale.Corpus.Sources;
using Scale.Midi;

namespace Scale.Cli.Commands;

/// <summary>Options several commands share, and what counts as a user error (a message, never a stack trace).</summary>
internal static class CommonOptions
{
    public const string DefaultDatabase = "scale.db";

    public static Option<string> Database() => new("--db")
    {
        Description = "The database: a SQLite file path, or a PostgreSQL connection string or URI (several hosts: primary and replicas). Env: SCALE_DB.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SCALE_DB") is { Length: > 0 } db ? db : DefaultDatabase,
    };

    public static Option<long> MaxFileBytes() => new("--max-file-bytes")
    {
        Description = "Files larger than this are recorded as too-large without being read. Env: SCALE_MAX_FILE_BYTES.",
        DefaultValueFactory = _ => long.TryParse(Environment.GetEnvironmentVariable("SCALE_MAX_FILE_BYTES"), out var v) && v > 0
            ? v
            : MidiExtractorOptions.DefaultMaxFileBytes,
    };

    public static int IntFromEnvironment(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out var value) && value > 0 ? value : fallback;

    /// <summary>A user error's message without .NET's " (Parameter 'x')" suffix.</summary>
    public static string Describe(Exception ex) =>
        ex is ArgumentException { ParamName: { } name } argument
            ? argument.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal)
            : ex.Message;

    /// <summary>Exceptions that mean "the input or the setup is wrong", shown as one line.</summary>
    public static bool IsUserError(Exception ex) => ex is ArgumentException or IOException or UnauthorizedAccessException
        or InvalidDataException or NotSupportedException or CorpusDamagedException or Microsoft.Data.Sqlite.SqliteException
        or Npgsql.NpgsqlException
        or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException;
}
