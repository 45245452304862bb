using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Scale.Web.Health;

/// <summary>
/// The first thing shutdown does (SIGTERM, Ctrl+C): report not ready, then keep serving for
/// <see cref="ScaleWebOptions.ShutdownDelay"/> so load balancers that probe /readyz stop sending new requests; only
/// then does the host stop Kestrel, which refuses new connections and gives in-flight requests up to
/// <see cref="ScaleWebOptions.ShutdownTimeout"/> to finish.
/// </summary>
internal sealed partial class GracefulShutdown(Readiness readiness, ScaleWebOptions options, ILogger<GracefulShutdown> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        readiness.MarkStopping();
        LogDraining(options.ShutdownDelay.TotalSeconds, options.ShutdownTimeout.TotalSeconds);
        if (options.ShutdownDelay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(options.ShutdownDelay, options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The host's shutdown budget ran out during the delay: stop now.
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        LogStopped();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: not ready from now on; serving {DelaySeconds} s more, then in-flight requests get up to {TimeoutSeconds} s")]
    private partial void LogDraining(double delaySeconds, double timeoutSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped")]
    private partial void LogStopped();
}
