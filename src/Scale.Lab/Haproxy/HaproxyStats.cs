using System.Globalization;

namespace Scale.Lab.Haproxy;

/// <summary>
/// One server line of HAProxy's statistics: its backend, name, status (UP, DOWN, MAINT, ...), sessions so far, and
/// whether it is a backup server (used only when no active server of its backend is up).
/// </summary>
public sealed record HaproxyServer(string Backend, string Name, string Status, long TotalSessions, bool Backup = false);

/// <summary>HAProxy's statistics page as CSV (<c>/stats;csv</c>): where it sends traffic and how much each server got.</summary>
public sealed class HaproxyStats(HttpClient http, int statsPort)
{
    /// <summary>Every server of every backend (not the FRONTEND/BACKEND summary lines).</summary>
    public async Task<IReadOnlyList<HaproxyServer>> ServersAsync(CancellationToken cancellationToken) =>
        Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{statsPort}/stats;csv"), cancellationToken));

    /// <summary>
    /// Parses the CSV by its header (<c># pxname,svname,...,stot,...,status,...</c>), not by column positions. The bck
    /// column (1 on a backup server) is optional: without it no server is a backup.
    /// </summary>
    public static IReadOnlyList<HaproxyServer> Parse(string csv)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            return [];
        }

        var header = lines[0].TrimStart('#', ' ').Split(',');
        var backend = Array.IndexOf(header, "pxname");
        var name = Array.IndexOf(header, "svname");
        var status = Array.IndexOf(header, "status");
        var total = Array.IndexOf(header, "stot");
        var backup = Array.IndexOf(header, "bck");
        if (backend < 0 || name < 0 || status < 0 || total < 0)
        {
            throw new FormatException("HAProxy's CSV statistics lack pxname, svname, status or stot");
        }

        var width = new[] { backend, name, status, total }.Max();
        return lines.Skip(1).Select(l => l.Split(','))
            .Where(f => f.Length > width && f[name] is not ("FRONTEND" or "BACKEND"))
            .Select(f => new HaproxyServer(
                f[backend],
                f[name],
                f[status],
                long.TryParse(f[total], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0,
                backup >= 0 && backup < f.Length && f[backup] == "1"))
            .ToList();
    }
}
