using System.CommandLine;
using Scale.Cli;

// Ctrl+C and SIGTERM cancel the command's token instead of killing the process, so a run can commit what it has,
// record itself as interrupted and exit with a message; after the grace period the process ends anyway.
// `scale serve` leaves the signals to its web host, which shuts down gracefully within its own configured budget
// (--shutdown-delay + --shutdown-timeout), which may be longer than this one.
var invocation = new InvocationConfiguration
{
    ProcessTerminationTimeout = args is ["serve", ..] ? null : TimeSpan.FromSeconds(30),
};
return await ScaleCommandLine.Build().Parse(args).InvokeAsync(invocation).ConfigureAwait(false);
