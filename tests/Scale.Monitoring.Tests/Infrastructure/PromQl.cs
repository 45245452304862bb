using System.Text;

namespace Scale.Monitoring.Tests.Infrastructure;

/// <summary>Just enough PromQL handling to test our own expressions: Grafana's variables, and the operands of a condition.</summary>
public static class PromQl
{
    private static readonly string[] Comparisons = [">=", "<=", "==", "!=", ">", "<"];
    private static readonly string[] SetOperators = ["and", "or", "unless"];

    /// <summary>Grafana's built-in interval variables as a dashboard would resolve them for this Prometheus (1 s scrapes).</summary>
    public static string WithGrafanaVariables(string expression) => expression
        .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
        .Replace("$__interval", "15s", StringComparison.Ordinal)
        .Replace("$__range", "5m", StringComparison.Ordinal);

    /// <summary>
    /// The parts of an alert condition that must return data when everything is healthy: the left operand of each
    /// top-level comparison, in each operand of a top-level and/or/unless. "x > 0.05 and on (i) y > 0" gives x, y.
    /// </summary>
    public static IReadOnlyList<string> DataOperands(string condition)
    {
        var result = new List<string>();
        foreach (var part in SplitTopLevel(condition, SetOperators, words: true))
        {
            var sides = SplitTopLevel(part, Comparisons, words: false);
            var left = sides[0].Trim();
            // "and on (job, instance) y": the matcher belongs to the operator, not to y.
            result.Add(StripLeadingMatcher(left));
        }

        return result;
    }

    private static string StripLeadingMatcher(string operand)
    {
        foreach (var keyword in new[] { "on", "ignoring" })
        {
            if (operand.StartsWith(keyword, StringComparison.Ordinal) && operand.Length > keyword.Length && (operand[keyword.Length] == ' ' || operand[keyword.Length] == '('))
            {
                var open = operand.IndexOf('(', StringComparison.Ordinal);
                var close = operand.IndexOf(')', open);
                return operand[(close + 1)..].Trim();
            }
        }

        return operand;
    }

    /// <summary>Splits at <paramref name="operators"/> outside parentheses, braces, brackets and strings.</summary>
    private static List<string> SplitTopLevel(string text, string[] operators, bool words)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        var depth = 0;
        char? quote = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote is { } q)
            {
                current.Append(c);
                if (c == '\\' && i + 1 < text.Length)
                {
                    current.Append(text[++i]);
                }
                else if (c == q)
                {
                    quote = null;
                }

                continue;
            }

            if (c is '"' or '\'' or '`')
            {
                quote = c;
                current.Append(c);
                continue;
            }

            depth += c is '(' or '{' or '[' ? 1 : c is ')' or '}' or ']' ? -1 : 0;
            if (depth == 0 && Match(text, i, operators, words) is { } op)
            {
                parts.Add(current.ToString());
                current.Clear();
                i += op.Length - 1;
                continue;
            }

            current.Append(c);
        }

        parts.Add(current.ToString());
        return parts;
    }

    private static string? Match(string text, int at, string[] operators, bool words)
    {
        foreach (var op in operators)
        {
            if (string.CompareOrdinal(text, at, op, 0, op.Length) != 0)
            {
                continue;
            }

            if (words)
            {
                var before = at == 0 || !char.IsLetterOrDigit(text[at - 1]) && text[at - 1] != '_';
                var afterIndex = at + op.Length;
                var after = afterIndex >= text.Length || !char.IsLetterOrDigit(text[afterIndex]) && text[afterIndex] != '_';
                if (before && after)
                {
                    return op;
                }
            }
            else
            {
                // "=~" and "!~" only occur inside braces; "==" and "!=" are listed before "=" could match.
                return op;
            }
        }

        return null;
    }
}
