using System.Reflection;
using System.Runtime.InteropServices;

namespace Scale.Web.Telemetry;

/// <summary>What is running: Scale's version and the commit it was built from (the SDK appends it to the informational version), and the runtime.</summary>
public static class BuildInfo
{
    private static readonly string Informational =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The version without the commit, e.g. 0.1.0.</summary>
    public static string Version { get; } = Informational.Split('+')[0];

    /// <summary>The commit the build came from (short), or "unknown" when built outside git.</summary>
    public static string Commit { get; } = Informational.Split('+') is [_, var commit, ..] && commit.Length > 0
        ? commit[..Math.Min(12, commit.Length)]
        : "unknown";

    /// <summary>e.g. ".NET 10.0.1".</summary>
    public static string Runtime { get; } = RuntimeInformation.FrameworkDescription;
}
