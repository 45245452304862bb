using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;

namespace Scale.Monitoring.Tests.Infrastructure;

/// <summary>
/// Steady test traffic against a web app: one request every <c>interval</c> on a fixed schedule (not waiting for
/// answers, so a slow or failing database does not slow the schedule), rotating over routes that need the database
/// (song pages, similar songs) and routes the in-memory catalogue answers. Counts answers by status.
/// </summary>
public sealed class Traffic : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly string[] _paths;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, int> _outcomes = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<Task> _requests = [];
    private Task? _loop;

    private Traffic(HttpClient http, string[] paths, TimeSpan interval)
    {
        _http = http;
        _paths = paths;
        _interval = interval;
    }

    /// <summary>Answers so far by status code ("200", "503", ...) or exception type.</summary>
    public IReadOnlyDictionary<string, int> Outcomes => _outcomes;

    public static async Task<Traffic> StartAsync(Uri baseUrl, TimeSpan interval)
    {
        var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(15) };
        using var songs = await http.GetFromJsonAsync<JsonDocument>(new Uri("api/songs?pageSize=20", UriKind.Relative));
        var ids = songs!.RootElement.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToArray();
        Assert.NotEmpty(ids);
        var paths = ids.SelectMany(id => new[] { $"songs/{id}", $"api/songs/{id}/similar", "api/instruments", $"api/songs/{id}", "" }).ToArray();
        var traffic = new Traffic(http, paths, interval);
        traffic._loop = Task.Run(traffic.RunAsync);
        return traffic;
    }

    public int Count(string outcome) => _outcomes.TryGetValue(outcome, out var n) ? n : 0;

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        await Task.WhenAll(_requests);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        _http.Dispose();
    }

    public override string ToString() => string.Join(", ", _outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}: {o.Value}"));

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_interval);
        var next = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                _requests.Add(SendAsync(_paths[next++ % _paths.Length]));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SendAsync(string path)
    {
        string outcome;
        try
        {
            using var response = await _http.GetAsync(new Uri(path, UriKind.Relative), CancellationToken.None);
            await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
            outcome = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            outcome = ex.GetType().Name;
        }

        _outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
    }
}
