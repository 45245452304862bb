using System.Runtime.CompilerServices;

// The fixture's own tests simulate a dead test process (ClusterWatchdog) without dying.
[assembly: InternalsVisibleTo("Scale.Testing.Tests")]
