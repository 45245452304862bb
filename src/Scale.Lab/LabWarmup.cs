using System.Globalization;
using System.Text.Json;

namespace Scale.Lab;

/// <summary>
/// What one round of `scale lab up`'s warm-up measured: the lab's steady load (the original's <c>/test_db</c>) sent
/// through the load balancer by <c>scale load --json</c>, judged over its last seconds.
/// </summary>
/// <param name="Seconds">The seconds judged (the round's last ones).</param>
/// <param name="WorstP99Ms">The highest per-second p99 among them.</param>
/// <param name="Errors">Requests that failed in those seconds.</param>
/// <param name="Dropped">Requests due in those seconds that the generator could not send (too many in flight).</param>
public sealed record WarmRound(int Seconds, double WorstP99Ms, long Errors, long Dropped)
{
    /// <summary>
    /// The per-second p99 a warm lab stays under: the floor of the experiments' own latency line ("p99 at most twice
    /// the steady state's, and never held to less than 250 ms"), so a lab that is up is one an experiment can start on.
    /// </summary>
    public const double P99LimitMs = 250;

    /// <summary>Every request answered, none dropped, and each judged second's p99 within <see cref="P99LimitMs"/>.</summary>
    public bool Warm => Errors == 0 && Dropped == 0 && WorstP99Ms <= P99LimitMs;

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"p99 at most {WorstP99Ms:0.#} ms per second over the last {Seconds} s, {Errors} errors, {Dropped} dropped");

    /// <summary>Reads <c>scale load --json</c>'s report (its per-second <c>series</c>) and judges its last <paramref name="lastSeconds"/> seconds.</summary>
    public static WarmRound FromLoadReport(string json, int lastSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lastSeconds);
        using var report = JsonDocument.Parse(json);
        var root = report.RootElement;
        if (!root.TryGetProperty("series", out var series) || series.ValueKind != JsonValueKind.Array || series.GetArrayLength() == 0)
        {
            throw new InvalidOperationException("the load report has no per-second series");
        }

        var seconds = series.EnumerateArray().ToList();
        var judged = seconds.Skip(Math.Max(0, seconds.Count - lastSeconds)).ToList();
        var errors = judged.Sum(s => s.GetProperty("errors").EnumerateObject().Sum(e => e.Value.GetInt64()));
        var dropped = judged.Sum(s => s.GetProperty("dropped").GetInt64());
        return new WarmRound(judged.Count, judged.Max(s => s.GetProperty("p99Ms").GetDouble()), errors, dropped);
    }
}
