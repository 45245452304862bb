namespace Scale.Lab.Packages;

/// <summary>
/// The Debian packages the lab is made of: finds which are missing and installs them as root, without letting them
/// start their own system services (the lab runs its own haproxy, supervisord, etcd ...).
/// </summary>
public sealed class DebianPackages(ICommandRunner commands, TextWriter log)
{
    /// <summary>The programs the lab needs and the Debian packages they come in.</summary>
    public static IReadOnlyList<(string Program, string Package)> Requirements { get; } =
    [
        ("supervisord", "supervisor"), ("supervisorctl", "supervisor"), ("etcd", "etcd-server"), ("patroni", "patroni"),
        ("haproxy", "haproxy"), ("prometheus", "prometheus"), ("prometheus-alertmanager", "prometheus-alertmanager"),
        ("prometheus-postgres-exporter", "prometheus-postgres-exporter"),
        // The zones' network namespaces, links and faults.
        ("ip", "iproute2"), ("tc", "iproute2"),
        // Latency and loss where the kernel has no netem: the zone's rules and its delay line's NFQUEUE.
        ("iptables", "iptables"),
        // Not the lab's own: the CPU exhaustion experiment (`scale chaos`) runs it inside an instance's cgroup.
        ("stress-ng", "stress-ng"),
    ];

    /// <summary>PostgreSQL's server programs folder (the newest installed), or null.</summary>
    public static string? PostgresBin() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Join(d, "bin")).Where(d => File.Exists(Path.Join(d, "initdb"))).OrderDescending(StringComparer.Ordinal).FirstOrDefault()
            : null;

    /// <summary>The packages whose programs are not on this machine.</summary>
    public static IReadOnlyList<string> Missing(Func<string, string?> find)
    {
        ArgumentNullException.ThrowIfNull(find);
        var missing = Requirements.Where(r => find(r.Program) is null).Select(r => r.Package).ToList();
        if (PostgresBin() is null)
        {
            missing.Add("postgresql");
        }

        return missing.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Installs what is missing (as root); otherwise says which packages to install.</summary>
    public async Task EnsureAsync(bool root, CancellationToken cancellationToken)
    {
        var missing = Missing(ProgramRunner.Find);
        if (missing.Count == 0)
        {
            return;
        }

        if (!root)
        {
            throw new InvalidOperationException($"the lab needs these Debian packages: sudo apt-get install {string.Join(' ', missing)}");
        }

        log.WriteLine($"scale lab: installing {string.Join(", ", missing)}");
        // Packages must not start their own system services: policy-rc.d answering 101 forbids it for the install.
        const string PolicyFile = "/usr/sbin/policy-rc.d";
        var hadPolicy = File.Exists(PolicyFile);
        if (!hadPolicy && !OperatingSystem.IsWindows())
        {
            await File.WriteAllTextAsync(PolicyFile, "#!/bin/sh\nexit 101\n", cancellationToken);
            File.SetUnixFileMode(PolicyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        try
        {
            // A fresh machine has no package lists yet: apt-get install would find nothing.
            if (!Directory.Exists("/var/lib/apt/lists") || !Directory.EnumerateFiles("/var/lib/apt/lists", "*_Packages*").Any())
            {
                await commands.RunAsync("apt-get", ["update", "-qq"], cancellationToken);
            }

            var result = await commands.RunAsync("env", ["DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "--no-install-recommends", .. missing], cancellationToken);
            if (result.ExitCode != 0)
            {
                var tail = string.Join('\n', result.Output.Split('\n').TakeLast(15));
                throw new InvalidOperationException($"apt-get install {string.Join(' ', missing)} failed ({result.ExitCode}): {tail}");
            }
        }
        finally
        {
            if (!hadPolicy)
            {
                File.Delete(PolicyFile);
            }
        }
    }
}
