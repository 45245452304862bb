namespace Scale.Deploy.Tests;

/// <summary>One instruction of a Dockerfile: its keyword (upper case) and its arguments, continuation lines joined.</summary>
public sealed record DockerInstruction(string Keyword, string Arguments, int Line);

/// <summary>
/// A Dockerfile read the way BuildKit reads it, for the checks hadolint would make (hadolint is not packaged for
/// Debian 12): comments and blank lines dropped, backslash continuations joined, ARG defaults resolved in FROM.
/// </summary>
public sealed class Dockerfile
{
    private Dockerfile(IReadOnlyList<DockerInstruction> instructions) => Instructions = instructions;

    public IReadOnlyList<DockerInstruction> Instructions { get; }

    /// <summary>The instructions of each stage, in order (a stage starts at FROM).</summary>
    public IReadOnlyList<IReadOnlyList<DockerInstruction>> Stages
    {
        get
        {
            var stages = new List<List<DockerInstruction>>();
            foreach (var instruction in Instructions)
            {
                if (instruction.Keyword == "FROM")
                {
                    stages.Add([]);
                }

                if (stages.Count > 0)
                {
                    stages[^1].Add(instruction);
                }
            }

            return stages;
        }
    }

    /// <summary>ARGs declared before the first FROM, with their defaults.</summary>
    public IReadOnlyDictionary<string, string> GlobalArgs =>
        Instructions.TakeWhile(i => i.Keyword != "FROM").Where(i => i.Keyword == "ARG")
            .Select(i => i.Arguments.Split('=', 2))
            .ToDictionary(parts => parts[0].Trim(), parts => parts.Length > 1 ? parts[1].Trim() : string.Empty, StringComparer.Ordinal);

    public static Dockerfile Parse(string text)
    {
        var instructions = new List<DockerInstruction>();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var current = "";
        var startLine = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.TrimStart();
            if (trimmed.StartsWith('#') || (trimmed.Length == 0 && current.Length == 0))
            {
                continue;
            }

            if (current.Length == 0)
            {
                startLine = i + 1;
            }

            if (line.TrimEnd().EndsWith('\\'))
            {
                current += line.TrimEnd()[..^1] + " ";
                continue;
            }

            current += line;
            var text2 = current.Trim();
            current = "";
            if (text2.Length == 0)
            {
                continue;
            }

            var space = text2.IndexOfAny([' ', '\t']);
            instructions.Add(space < 0
                ? new DockerInstruction(text2.ToUpperInvariant(), string.Empty, startLine)
                : new DockerInstruction(text2[..space].ToUpperInvariant(), text2[(space + 1)..].Trim(), startLine));
        }

        return new Dockerfile(instructions);
    }

    /// <summary>The image a FROM names, its ARG references replaced by their defaults; null for a FROM of an earlier stage.</summary>
    public string ImageOf(DockerInstruction from)
    {
        var words = from.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
        var image = words[0];
        foreach (var (name, value) in GlobalArgs)
        {
            image = image.Replace("${" + name + "}", value, StringComparison.Ordinal).Replace("$" + name, value, StringComparison.Ordinal);
        }

        return image;
    }
}
