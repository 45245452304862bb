namespace Scale.Lab;

/// <summary>Where the lab lives and how big it is.</summary>
public sealed record LabOptions
{
    /// <summary>The lab's folder: configuration, data, logs, secrets. Everything the lab makes is inside it.</summary>
    public required string Directory { get; init; }

    /// <summary>The scale program (its .dll) the web instances and the store loading run.</summary>
    public required string ScaleProgram { get; init; }

    /// <summary>Ports are this plus fixed offsets (docs/lab.md), all on 127.0.0.1.</summary>
    public int BasePort { get; init; } = 27000;

    /// <summary>Web instances per zone.</summary>
    public int WebPerZone { get; init; } = 2;

    /// <summary>The corpus loaded into the store: a folder, tarball or s3:// URL; null: a synthetic corpus of <see cref="SyntheticFiles"/> files.</summary>
    public string? Source { get; init; }

    public int SyntheticFiles { get; init; } = 2000;

    /// <summary>
    /// Every alert rule's <c>for:</c> in the lab (null: as in production, 1-5 minutes). The lab compresses time so
    /// that an alert can fire within a two-minute experiment; the expressions and thresholds are production's.
    /// </summary>
    public TimeSpan? AlertFor { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Where the lock that keeps two `up`/`down` apart lives (null: /run/lock, else the temp folder; see <see cref="LabLock"/>).</summary>
    public string? LockFolder { get; init; }

    /// <summary>
    /// Requests per second of <c>/test_db</c> (the original's steady state: two database reads) that `up` sends through
    /// the load balancer before it says the lab is up, until a round is served warm (<see cref="WarmRound"/>); 0 skips it.
    /// </summary>
    public int WarmRequestsPerSecond { get; init; } = 500;

    /// <summary>How long `up` waits for everything to become healthy.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromMinutes(4);

    /// <summary>
    /// The options a running lab was started with (saved in its folder by `up`), over these: `status` and `down`
    /// then see the lab as it is, whatever flags they were given.
    /// </summary>
    public LabOptions WithSaved()
    {
        var path = System.IO.Path.Join(System.IO.Path.GetFullPath(Directory), "lab.json");
        if (!File.Exists(path))
        {
            return this;
        }

        using var saved = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        return this with
        {
            BasePort = saved.RootElement.GetProperty("basePort").GetInt32(),
            WebPerZone = saved.RootElement.GetProperty("webPerZone").GetInt32(),
        };
    }

    /// <summary>Saves what <see cref="WithSaved"/> reads.</summary>
    public void Save(string root) =>
        File.WriteAllText(System.IO.Path.Join(root, "lab.json"), System.Text.Json.JsonSerializer.Serialize(new { basePort = BasePort, webPerZone = WebPerZone }));

    public void Validate()
    {
        if (BasePort is < 1024 or > 64000)
        {
            throw new ArgumentException($"--base-port must be between 1024 and 64000, not {BasePort}");
        }

        if (WebPerZone is < 1 or > 9)
        {
            throw new ArgumentException($"--web-per-zone must be between 1 and 9, not {WebPerZone}");
        }

        if (WarmRequestsPerSecond is < 0 or > 5000)
        {
            throw new ArgumentException($"--warm-rps must be between 0 (no warm-up) and 5000, not {WarmRequestsPerSecond}");
        }

        if (SyntheticFiles < 10)
        {
            throw new ArgumentException($"--files must be at least 10, not {SyntheticFiles}");
        }
    }
}
