using System.CommandLine;
using Scale.Cli.Commands;

namespace Scale.Cli;

/// <summary>Composes the scale command line: one subcommand per job, each in Commands/.</summary>
internal static class ScaleCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Scale: finds which General MIDI instruments songs really play and which songs sound alike.")
        {
            InspectCommand.Create(),
            SynthCommand.Create(),
            RunCommand.Create(),
            ExtractCommand.Create(),
            SimilarCommand.Create(),
            ServeCommand.Create(),
            DbCommand.Create(),
            DemoCommand.Create(),
            LoadCommand.Create(),
            LabCommand.Create(),
        };
        if (OperatingSystem.IsLinux())
        {
            // Its lab target drives Linux processes and cgroups.
            root.Subcommands.Add(ChaosCommand.Create());
        }

        return root;
    }
}
