using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Scale.Corpus.Tests.Sources;

/// <summary>
/// A TCP proxy in front of a real HTTP server that counts requests and can break off the body of chosen GET
/// responses half-way, as a dropped connection would. It forwards bytes untouched (so S3 signatures stay valid)
/// except for adding "Connection: close", which makes every request take its own connection and so its own verdict.
/// </summary>
public sealed class FlakyHttpProxy : IAsyncDisposable
{
    private const int MaxHeadBytes = 64 * 1024;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, int> _cuts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly Task _acceptLoop;

    public FlakyHttpProxy(Uri upstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        _upstream = new IPEndPoint(IPAddress.Parse(upstream.Host), upstream.Port);
        _listener.Start();
        Url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _acceptLoop = AcceptLoopAsync();
    }

    public string Url { get; }

    /// <summary>"METHOD /path" of every request, query strings dropped.</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    /// <summary>Breaks off the next <paramref name="times"/> GET responses for a path ending in <paramref name="pathSuffix"/>.</summary>
    public void CutBody(string pathSuffix, int times) => _cuts[pathSuffix] = times;

    public int CountGets(string pathSuffix) =>
        _requests.Count(r => r.StartsWith("GET ", StringComparison.Ordinal) && r.EndsWith(pathSuffix, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(Socket clientSocket)
    {
        using var client = new NetworkStream(clientSocket, ownsSocket: true);
        try
        {
            var (head, rest) = await ReadHeadAsync(client);
            if (head is null)
            {
                return;
            }

            var lines = head.Split("\r\n");
            var requestLine = lines[0].Split(' ');
            var method = requestLine[0];
            var path = requestLine.Length > 1 ? requestLine[1].Split('?')[0] : string.Empty;
            _requests.Enqueue($"{method} {path}");

            var contentLength = 0;
            var forwarded = new StringBuilder();
            forwarded.Append(lines[0]).Append("\r\n");
            foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
            {
                if (line.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                {
                    contentLength = int.Parse(line["Content-Length:".Length..].Trim(), CultureInfo.InvariantCulture);
                }

                forwarded.Append(line).Append("\r\n");
            }

            forwarded.Append("Connection: close\r\n\r\n");

            using var upstreamSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await upstreamSocket.ConnectAsync(_upstream, _stop.Token);
            using var upstream = new NetworkStream(upstreamSocket, ownsSocket: false);
            await upstream.WriteAsync(Encoding.ASCII.GetBytes(forwarded.ToString()), _stop.Token);
            await upstream.WriteAsync(rest, _stop.Token);
            var remaining = contentLength - rest.Length;
            if (remaining > 0)
            {
                var body = new byte[remaining];
                await client.ReadExactlyAsync(body, _stop.Token);
                await upstream.WriteAsync(body, _stop.Token);
            }

            if (method == "GET" && TakeCut(path))
            {
                var (responseHead, responseRest) = await ReadHeadAsync(upstream);
                await client.WriteAsync(Encoding.ASCII.GetBytes(responseHead + "\r\n\r\n"), _stop.Token);
                // Half the body that arrived with the head (at least its first byte), then the connection drops.
                await client.WriteAsync(responseRest.AsMemory(0, Math.Min(responseRest.Length, Math.Max(1, responseRest.Length / 2))), _stop.Token);
                clientSocket.LingerState = new LingerOption(true, 0);
                return;
            }

            await upstream.CopyToAsync(client, _stop.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            // The client or server went away; nothing to tell.
        }
    }

    private bool TakeCut(string path)
    {
        foreach (var (suffix, _) in _cuts)
        {
            if (!path.EndsWith(suffix, StringComparison.Ordinal))
            {
                continue;
            }

            while (_cuts.TryGetValue(suffix, out var left) && left > 0)
            {
                if (_cuts.TryUpdate(suffix, left == int.MaxValue ? left : left - 1, left))
                {
                    return true;
                }
            }
        }

        return false;
    }

    // Reads up to the blank line ending an HTTP head; returns the head (without it) and the bytes read past it.
    private async Task<(string? Head, byte[] Extra)> ReadHeadAsync(Stream stream)
    {
        var buffer = new byte[MaxHeadBytes];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
            if (read == 0)
            {
                return (null, []);
            }

            filled += read;
            var end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return (Encoding.ASCII.GetString(buffer, 0, end), buffer[(end + 4)..filled]);
            }
        }

        throw new IOException("HTTP head too long.");
    }
}
