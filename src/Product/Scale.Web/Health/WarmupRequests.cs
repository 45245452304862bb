using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Scale.Web.Health;

/// <summary>
/// Tells the warm-up's own requests (<see cref="WebWarmup"/>) from user traffic: they carry <see cref="HeaderName"/>
/// with a token drawn at random per process, so nobody outside can hide requests with it. Marked requests are left
/// out of the HTTP request metrics (http_server_request_duration_seconds: dashboards and alerts read it, and hundreds
/// of cold requests at start would skew its latency and, with the database down, its error ratio), out of the request
/// log, and out of the exception handler's error log.
/// </summary>
internal static class WarmupRequests
{
    public const string HeaderName = "X-Scale-Warmup";

    public static string Token { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>First in the pipeline, so every middleware after it sees the mark.</summary>
    public static IApplicationBuilder UseWarmupMarker(this IApplicationBuilder app) => app.Use(Mark);

    /// <summary>True for a request the warm-up sent (a feature, not Items: no allocation on user requests).</summary>
    public static bool IsWarmup(HttpContext context) => context.Features.Get<WarmupMark>() is not null;

    private static Task Mark(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Headers.TryGetValue(HeaderName, out var values) && values.Count == 1 && values[0] is { } value
            && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(value.AsSpan()), MemoryMarshal.AsBytes(Token.AsSpan())))
        {
            context.Features.Set(WarmupMark.Instance);
            if (context.Features.Get<IHttpMetricsTagsFeature>() is { } metrics)
            {
                metrics.MetricsDisabled = true;
            }
        }

        return next(context);
    }

    private sealed class WarmupMark
    {
        public static readonly WarmupMark Instance = new();
    }
}
