using System.Diagnostics;
using System.Text.Json.Nodes;
using Scale.Chaos.Experiments;

namespace Scale.Chaos.Runner;

/// <summary>Chaos Toolkit's own provider types: http (a request; output status and body) and process (a program; output status, stdout, stderr).</summary>
internal static class ExternalProviders
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false });

    public static async Task<JsonNode?> HttpAsync(Provider provider, CancellationToken cancellationToken)
    {
        var raw = provider.Raw;
        var method = raw["method"]?.GetValue<string>() ?? "GET";
        var timeout = raw["timeout"] is { } t ? Experiment.Number(t, "timeout") : 10;
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(provider.Function));
        if (raw["headers"] is JsonObject headers)
        {
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value?.ToString());
            }
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(timeout));
        try
        {
            using var response = await Http.SendAsync(request, limit.Token);
            var body = await response.Content.ReadAsStringAsync(limit.Token);
            return new JsonObject { ["status"] = (int)response.StatusCode, ["body"] = body.Length > 2000 ? body[..2000] : body };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ChaosException($"{method} {provider.Function}: no answer within {timeout} s");
        }
        catch (HttpRequestException ex)
        {
            throw new ChaosException($"{method} {provider.Function}: {ex.Message}");
        }
    }

    public static async Task<JsonNode?> ProcessAsync(Provider provider, CancellationToken cancellationToken)
    {
        var raw = provider.Raw;
        var info = new ProcessStartInfo(provider.Function)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        switch (raw["arguments"])
        {
            case JsonArray list:
                foreach (var argument in list)
                {
                    info.ArgumentList.Add(argument?.ToString() ?? "");
                }

                break;
            case JsonValue text:
                info.Arguments = text.ToString();
                break;
        }

        var timeout = raw["timeout"] is { } t ? Experiment.Number(t, "timeout") : 60;
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new ChaosException($"{provider.Function} did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new ChaosException($"{provider.Function} could not be started: {ex.Message}");
        }

        using (process)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(timeout));
            var stdout = process.StandardOutput.ReadToEndAsync(limit.Token);
            var stderr = process.StandardError.ReadToEndAsync(limit.Token);
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                // Its own timeout, or the run stopping: either way nothing of it keeps running.
                process.Kill(entireProcessTree: true);
                if (!cancellationToken.IsCancellationRequested)
                {
                    throw new ChaosException($"{provider.Function} did not finish within {timeout} s");
                }

                throw;
            }

            return new JsonObject { ["status"] = process.ExitCode, ["stdout"] = await stdout, ["stderr"] = await stderr };
        }
    }
}
