using System.Globalization;
using Npgsql;

namespace Scale.Store.Postgres;

/// <summary>
/// Every commit of the PostgreSQL store that writes goes through <see cref="CommitDurablyAsync"/>.
/// <para>
/// With synchronous replication (<c>synchronous_standby_names</c> set) PostgreSQL writes the commit record locally and
/// then waits for the synchronous standby to confirm it. When that wait is cancelled (a cancel request: Npgsql sends one
/// when its Command Timeout expires or a CancellationToken fires; also <c>pg_cancel_backend</c>), PostgreSQL does not
/// fail the COMMIT: it answers success, with only a WARNING "canceling wait for synchronous replication due to user
/// request" (detail "The transaction has already committed locally, but might not have been replicated to the
/// standby."). When the backend is terminated during the wait (<c>pg_terminate_backend</c>, a fast shutdown) it sends
/// "canceling the wait for synchronous replication and terminating connection due to administrator command" and closes
/// the connection. (<c>statement_timeout</c> never ends the wait: PostgreSQL stops that timer before it commits.)
/// Either way the transaction is visible on this server but possibly on no standby, and a failover can lose it.
/// </para>
/// <para>
/// Such a commit is not taken as done: it fails with <see cref="StoreUnavailableException"/> (temporary, and not
/// retried here: every retry would wait for the standby again, and a retry that got through would report the rows as
/// already written). The writes are idempotent (the ledger, <c>ON CONFLICT DO NOTHING</c>, absolute updates), so the
/// resumed run writes each row exactly once whether the failover kept the commit or lost it.
/// </para>
/// </summary>
internal static class DurableCommit
{
    /// <summary>The function in PostgreSQL's syncrep.c that waits for the synchronous standby and raises both warnings.</summary>
    internal const string SyncRepRoutine = "SyncRepWaitForLSN";

    /// <summary>
    /// Commits <paramref name="transaction"/>, and throws <see cref="StoreUnavailableException"/> when PostgreSQL says the
    /// commit was not confirmed by the synchronous standby (see the class), whether the COMMIT then returned or the
    /// connection was closed. <paramref name="what"/> completes "Could not ..." in the message.
    /// </summary>
    public static async Task CommitDurablyAsync(NpgsqlTransaction transaction, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var connection = transaction.Connection
            ?? throw new InvalidOperationException("The transaction has already been committed or rolled back.");
        // Before the commit: a connection the server closed no longer knows its host.
        var server = Server(connection);
        PostgresNotice? unconfirmed = null;
        void OnNotice(object sender, NpgsqlNoticeEventArgs e)
        {
            if (IsUnconfirmedSynchronousCommit(e.Notice))
            {
                unconfirmed ??= e.Notice;
            }
        }

        // Notices are raised while Npgsql reads the COMMIT's response, so whatever arrives here is the COMMIT's.
        connection.Notice += OnNotice;
        try
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (unconfirmed is not null)
        {
            // The backend was terminated during the wait (or the cancelled wait raced a token): the warning came first.
            throw NotConfirmed(what, server, unconfirmed, ex);
        }
        finally
        {
            connection.Notice -= OnNotice;
        }

        if (unconfirmed is not null)
        {
            throw NotConfirmed(what, server, unconfirmed, null);
        }
    }

    /// <summary>
    /// Whether <paramref name="notice"/> is PostgreSQL's warning that it stopped waiting for the synchronous standby.
    /// No SQLSTATE identifies it: the cancelled wait is the generic warning 01000 (what any <c>RAISE WARNING</c> has),
    /// the terminated one 57P01 (also an ordinary shutdown's). So it is matched by the server routine that raises it
    /// (<c>SyncRepWaitForLSN</c>, not translated, the same since synchronous replication came in with PostgreSQL 9.1) and, for a server or proxy that
    /// leaves the routine out, by the English message and detail texts (a server with another <c>lc_messages</c>
    /// translates those).
    /// </summary>
    internal static bool IsUnconfirmedSynchronousCommit(PostgresNotice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        if (!string.Equals(notice.InvariantSeverity, "WARNING", StringComparison.Ordinal)
            && !string.Equals(notice.Severity, "WARNING", StringComparison.Ordinal))
        {
            return false;
        }

        return string.Equals(notice.Routine, SyncRepRoutine, StringComparison.Ordinal)
            || notice.MessageText.Contains("wait for synchronous replication", StringComparison.OrdinalIgnoreCase)
            || (notice.Detail?.Contains("committed locally, but might not have been replicated", StringComparison.OrdinalIgnoreCase) ?? false);
    }

    private static string Server(NpgsqlConnection connection) =>
        connection.Host is { Length: > 0 } host ? string.Create(CultureInfo.InvariantCulture, $"{host}:{connection.Port}") : "the primary";

    private static StoreUnavailableException NotConfirmed(string what, string server, PostgresNotice notice, Exception? inner)
    {
        var message = string.Create(
            CultureInfo.InvariantCulture,
            $"Could not {what}: PostgreSQL on {server} committed it locally, but the commit was not confirmed by the synchronous standby ({OneLine(notice.MessageText)}); ")
            + "it may be lost on failover; the run can be resumed (a rerun writes each row once).";
        return inner is null ? new StoreUnavailableException(message) : new StoreUnavailableException(message, inner);
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
