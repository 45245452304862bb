using Scale.Cli;

return await ScaleCommandLine.Build().Parse(args).InvokeAsync().ConfigureAwait(false);
