using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Scale.Testing.Network;

/// <summary>
/// A TCP port on 127.0.0.1 that forwards every connection to a target, as a load balancer in front of a server does,
/// and can cut every connection it carries at once (what HAProxy's shutdown-sessions does when the server it sends a
/// session to is marked down). New connections are forwarded again right after a cut.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _pairs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public TcpForwarder(IPEndPoint target)
    {
        _target = target;
        _listener.Start();
        _accepting = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string HostAndPort => $"127.0.0.1:{Port}";

    /// <summary>Connections being forwarded now.</summary>
    public int Open => _pairs.Count;

    /// <summary>Closes every forwarded connection (both sides, with a reset); later connections are forwarded again.</summary>
    public void CutAll()
    {
        foreach (var (client, server) in _pairs)
        {
            Close(client, server);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(_target, _stop.Token);
            }
            catch (SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            _pairs[client] = server;
            _ = PumpAsync(client, server);
        }
    }

    private async Task PumpAsync(TcpClient client, TcpClient server)
    {
        try
        {
            await Task.WhenAny(
                client.GetStream().CopyToAsync(server.GetStream(), _stop.Token),
                server.GetStream().CopyToAsync(client.GetStream(), _stop.Token));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Cut, or one side went away.
        }
        finally
        {
            Close(client, server);
        }
    }

    private void Close(TcpClient client, TcpClient server)
    {
        if (_pairs.TryRemove(client, out _))
        {
            foreach (var side in new[] { client, server })
            {
                try
                {
                    // A reset, not an orderly close: what a session cut by a load balancer looks like to the client.
                    side.Client.LingerState = new LingerOption(true, 0);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // Already closed.
                }

                side.Dispose();
            }
        }
    }
}
