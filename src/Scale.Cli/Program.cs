using System.CommandLine;
using Scale.Cli;

// Ctrl+C and SIGTERM cancel the command's token instead of killing the process, so a run can commit what it has,
// record itself as interrupted and exit with a message; after the grace period the process ends anyway.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) };
return await ScaleCommandLine.Build().Parse(args).InvokeAsync(invocation).ConfigureAwait(false);
