using System.Net;

namespace Scale.Testing.Network;

/// <summary>A small HTTP server standing in for a real one (a web instance, Patroni's REST API, a site under load).</summary>
public static class HttpStandIn
{
    /// <summary>
    /// Listens on a free 127.0.0.1 port and answers every request with <paramref name="answer"/> until the listener is
    /// closed. A port taken between choosing and binding it is tried again with another.
    /// </summary>
    public static (HttpListener Listener, int Port) Start(Func<HttpListenerContext, Task> answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        for (var attempt = 0; ; attempt++)
        {
            var port = Tools.FreePort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
                continue;
            }

            _ = Task.Run(async () =>
            {
                while (listener.IsListening)
                {
                    try
                    {
                        await answer(await listener.GetContextAsync());
                    }
                    catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                    {
                        return;
                    }
                }
            });
            return (listener, port);
        }
    }
}
