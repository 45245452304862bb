using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Scale.Web.Logging;

/// <summary>
/// A log line per completed request that matters (see <see cref="RequestLogMode"/>): method, route template, path,
/// status, duration and trace id. Server errors log as errors, requests slower than
/// <see cref="ScaleWebOptions.SlowRequestThreshold"/> as warnings; with <see cref="RequestLogMode.All"/> every other
/// request as information.
/// </summary>
internal static partial class RequestLogging
{
    public static IApplicationBuilder UseScaleRequestLogging(this IApplicationBuilder app, ScaleWebOptions options)
    {
        if (options.RequestLog == RequestLogMode.None)
        {
            return app;
        }

        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Scale.Web.Requests");
        var slow = options.SlowRequestThreshold;
        var all = options.RequestLog == RequestLogMode.All;
        return app.Use(async (context, next) =>
        {
            // The warm-up's requests are not user traffic; the warm-up logs a summary of them itself.
            if (Health.WarmupRequests.IsWarmup(context))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var started = Stopwatch.GetTimestamp();
            int? failedWith = null;
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The exception handler outside turns it into this status.
                failedWith = Http.ErrorResponses.StatusCodeOf(ex);
                throw;
            }
            finally
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                var status = failedWith ?? context.Response.StatusCode;
                // /readyz answering 503 (warming up, stopping) is its answer, not a failure: probes every second
                // from each balancer would otherwise fill the error log at every start and shutdown.
                var notReady = failedWith is null && status == StatusCodes.Status503ServiceUnavailable && context.Request.Path == ReadinessPath;
                var level = status >= 500 && !notReady ? LogLevel.Error
                    : elapsed >= slow ? LogLevel.Warning
                    : all ? LogLevel.Information
                    : LogLevel.None;
                if (level != LogLevel.None && logger.IsEnabled(level))
                {
                    var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)";
                    var trace = Activity.Current?.TraceId.ToHexString() ?? context.TraceIdentifier;
                    var milliseconds = Math.Round(elapsed.TotalMilliseconds, 3);
                    LogRequest(logger, level, context.Request.Method, route, context.Request.Path.Value ?? "/", status, milliseconds, trace);
                }
            }
        });
    }

    private static readonly PathString ReadinessPath = new("/readyz");

    [LoggerMessage(EventId = 1, Message = "{Method} {Route} {Status} in {DurationMs} ms (path {Path}, trace {TraceId})")]
    private static partial void LogRequest(ILogger logger, LogLevel level, string method, string route, string path, int status, double durationMs, string traceId);
}
