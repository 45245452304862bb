namespace Scale.Lab.Tests.Clients;

/// <summary>One command a client issued: the program and its arguments, as given.</summary>
public sealed record RecordedCommand(string Program, IReadOnlyList<string> Arguments)
{
    /// <summary>The command as a shell would show it: <c>ip -n scl27000-a link set eth0 up</c>.</summary>
    public string Line => Arguments.Count == 0 ? Program : $"{Program} {string.Join(' ', Arguments)}";

    public override string ToString() => Line;
}

/// <summary>
/// An <see cref="ICommandRunner"/> that runs nothing: it records every call and answers from a script. Answers are
/// found by command prefix (the longest matching prefix wins, e.g. <c>ip -n scl27000-a -j neigh show</c> before
/// <c>ip</c>); a prefix given several answers gives them in turn and then repeats the last one. A command no prefix
/// matches gets <see cref="Unscripted"/> (exit 0, no output: what most iproute2 changes print), or whatever
/// <see cref="Fallback"/> says.
/// </summary>
public sealed class RecordingCommandRunner : ICommandRunner
{
    public static readonly ProgramResult Unscripted = new(0, "");

    private readonly List<(string Prefix, Queue<ProgramResult> Answers)> _script = [];
    private readonly List<RecordedCommand> _calls = [];
    private readonly Lock _lock = new();

    /// <summary>Answers a command no prefix matches; null means <see cref="Unscripted"/>.</summary>
    public Func<RecordedCommand, ProgramResult>? Fallback { get; init; }

    /// <summary>Every command issued so far, in order.</summary>
    public IReadOnlyList<RecordedCommand> Calls
    {
        get
        {
            lock (_lock)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Every command issued so far as a command line.</summary>
    public IReadOnlyList<string> Lines => Calls.Select(c => c.Line).ToList();

    /// <summary>Commands whose line starts with <paramref name="prefix"/>, in order.</summary>
    public IReadOnlyList<string> LinesStartingWith(string prefix) =>
        Lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToList();

    /// <summary>Answers commands starting with <paramref name="prefix"/> (program and arguments, space separated).</summary>
    public RecordingCommandRunner Answer(string prefix, params ProgramResult[] answers)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(answers);
        if (answers.Length == 0)
        {
            throw new ArgumentException("at least one answer", nameof(answers));
        }

        lock (_lock)
        {
            _script.Add((prefix, new Queue<ProgramResult>(answers)));
        }

        return this;
    }

    /// <summary>Answers with exit code 0 and <paramref name="output"/>.</summary>
    public RecordingCommandRunner Answer(string prefix, string output) => Answer(prefix, new ProgramResult(0, output));

    /// <summary>Answers with a failure: <paramref name="exitCode"/> and <paramref name="output"/> (what the program printed on stderr).</summary>
    public RecordingCommandRunner Fail(string prefix, int exitCode, string output) => Answer(prefix, new ProgramResult(exitCode, output));

    public Task<ProgramResult> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(arguments);
        cancellationToken.ThrowIfCancellationRequested();
        var call = new RecordedCommand(program, [.. arguments]);
        lock (_lock)
        {
            _calls.Add(call);
            var line = call.Line;
            var match = _script
                .Where(s => line == s.Prefix || line.StartsWith(s.Prefix + " ", StringComparison.Ordinal))
                .OrderByDescending(s => s.Prefix.Length)
                .Select(s => s.Answers)
                .FirstOrDefault();
            if (match is null)
            {
                return Task.FromResult(Fallback?.Invoke(call) ?? Unscripted);
            }

            return Task.FromResult(match.Count > 1 ? match.Dequeue() : match.Peek());
        }
    }
}
