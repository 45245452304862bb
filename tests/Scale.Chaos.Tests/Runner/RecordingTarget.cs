using System.Collections.Concurrent;
using System.Diagnostics;
using Scale.Chaos.Targets;

namespace Scale.Chaos.Tests.Runner;

/// <summary>
/// A target of the tests' own that records what the runner asks of it: three web and three database instances in
/// zones a/b/c, pg-a the primary. Killing the primary leaves none for <see cref="PrimaryOutage"/>, then pg-b is
/// promoted; terminating a zone leaves its instances unready for <see cref="ZoneOutage"/>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class RecordingTarget : IChaosTarget, IIdlePriorityCpu
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly object _gate = new();
    private TimeSpan? _primaryBackAt;
    private string? _primary = "pg-a";
    private string? _downZone;
    private TimeSpan _zoneBackAt;

    public string Name => "test";

    /// <summary>What the target says it ran at idle priority so far (null: it cannot tell, the machine's CPU is used as read).</summary>
    public Func<TimeSpan?> IdlePriority { get; init; } = () => null;

    public TimeSpan? IdlePriorityCpuTime() => IdlePriority();

    /// <summary>The instances the target says booted at idle priority so far (asked at each look of a readiness wait).</summary>
    public Func<IReadOnlyList<IdlePriorityBoot>> Boots { get; init; } = () => [];

    public IReadOnlyList<IdlePriorityBoot> IdlePriorityBoots() => Boots();

    /// <summary>The instances the target says are booting at idle priority now.</summary>
    public Func<IReadOnlyCollection<string>> Booting { get; init; } = () => [];

    public IReadOnlyCollection<string> IdlePriorityBooting() => Booting();

    public bool DryRun { get; init; }

    public Uri? ServiceUrl { get; init; }

    public TimeSpan PrimaryOutage { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan ZoneOutage { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Instances reported unready whatever happens (a broken steady state).</summary>
    public IReadOnlySet<string> Unready { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Thrown by <see cref="TerminateZoneAsync"/> when set (a target that breaks in a way the runner does not expect).</summary>
    public Exception? TerminateZoneThrows { get; init; }

    /// <summary>Called by <see cref="TerminateZoneAsync"/> with the zone (a test's service reacting to the fault).</summary>
    public Action<string>? OnTerminateZone { get; init; }

    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>The first number each <see cref="KillBatchWorkersAsync"/> drew from the run's random source.</summary>
    public ConcurrentQueue<int> Draws { get; } = new();

    public IReadOnlyList<string> Actions => Calls.Where(c => !c.StartsWith("instances", StringComparison.Ordinal) && !c.StartsWith("roles", StringComparison.Ordinal)).ToList();

    public Task<IReadOnlyList<TargetInstance>> InstancesAsync(CancellationToken cancellationToken)
    {
        Calls.Enqueue("instances");
        lock (_gate)
        {
            var zoneDown = _downZone is not null && _clock.Elapsed < _zoneBackAt;
            IReadOnlyList<TargetInstance> instances = [.. new[] { "a", "b", "c" }.SelectMany(zone => new[]
            {
                new TargetInstance($"web-{zone}1", "web", zone, Ready(zone, $"web-{zone}1"), null),
                new TargetInstance($"pg-{zone}", "database", zone, Ready(zone, $"pg-{zone}"), $"pg-{zone}" == _primary ? "primary" : "replica"),
            }), new TargetInstance("extract-0", "batch", "a", true, null)];
            return Task.FromResult(instances);

            bool Ready(string zone, string name) => !(zoneDown && zone == _downZone) && !Unready.Contains(name);
        }
    }

    public Task<DatabaseRoles> DatabaseRolesAsync(CancellationToken cancellationToken)
    {
        Calls.Enqueue("roles");
        lock (_gate)
        {
            if (_primary is null && _primaryBackAt is { } back && _clock.Elapsed >= back)
            {
                _primary = "pg-b";
            }

            return Task.FromResult(new DatabaseRoles(_primary, _primary is null ? [] : new[] { "pg-a", "pg-b", "pg-c" }.Where(n => n != _primary).ToList()));
        }
    }

    public Task<FaultReport> TerminateZoneAsync(string zone, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"terminate_zone {zone}");
        if (TerminateZoneThrows is { } exception)
        {
            throw exception;
        }

        lock (_gate)
        {
            _downZone = zone;
            _zoneBackAt = _clock.Elapsed + ZoneOutage;
        }

        OnTerminateZone?.Invoke(zone);

        return Task.FromResult(new FaultReport("terminate_zone", [$"web-{zone}1", $"pg-{zone}"], $"zone {zone} terminated"));
    }

    public Task<FaultReport> KillPrimaryAsync(CancellationToken cancellationToken)
    {
        Calls.Enqueue("kill_primary");
        lock (_gate)
        {
            var killed = _primary ?? "none";
            _primary = null;
            _primaryBackAt = _clock.Elapsed + PrimaryOutage;
            return Task.FromResult(new FaultReport("kill_primary", [killed], $"primary {killed} killed"));
        }
    }

    public Task<FaultReport> KillBatchWorkersAsync(int count, Random random, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"kill_batch_workers {count}");
        Draws.Enqueue(random.Next(1_000_000));
        return Task.FromResult(new FaultReport("kill_batch_workers", ["extract-0"], $"{count} batch workers killed")
        {
            Measurements = new Dictionary<string, double>(StringComparer.Ordinal) { ["killed"] = count },
        });
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
