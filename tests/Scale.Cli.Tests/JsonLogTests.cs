using System.Text.Json;
using Scale.Cli.Tests.Infrastructure;
using Scale.Testing;

namespace Scale.Cli.Tests;

/// <summary>--log-format json (SCALE_LOG_FORMAT): every line a batch command writes is one JSON object for log collectors.</summary>
public sealed class JsonLogTests
{
    private static readonly Dictionary<string, string> Json = new() { ["SCALE_LOG_FORMAT"] = "json" };

    [Fact]
    public async Task Run_EveryLineIsAJsonObject_WithTimestampLevelCategoryMessage()
    {
        using var temp = new TempDirectory();
        await Arrange.SynthAsync(temp.Path, temp.Combine("corpus"), files: 120, seed: 3);

        var run = await ScaleProcess.RunAsync(temp.Path, ["run", "--source", temp.Combine("corpus"), "--db", temp.Combine("scale.db")], Json);

        Assert.True(run.ExitCode == 0, run.ToString());
        var events = Parse(run.StdoutLines).ToArray();
        Assert.All(events, e => Assert.Equal("info", e.GetProperty("level").GetString()));
        Assert.All(events, e => Assert.Equal("scale.run", e.GetProperty("category").GetString()));
        Assert.All(events, e => Assert.True(DateTimeOffset.TryParse(e.GetProperty("timestamp").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _)));
        var messages = events.Select(e => e.GetProperty("message").GetString()!).ToArray();
        Assert.Contains(messages, m => m.StartsWith("Run 1: completed", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Similarity run 1: completed", StringComparison.Ordinal));
        Assert.All(Parse(run.StderrLines), _ => { });
    }

    [Fact]
    public async Task Errors_AreJsonLinesAtLevelError_AndTheExitCodeStays()
    {
        using var temp = new TempDirectory();

        var run = await ScaleProcess.RunAsync(temp.Path, ["run", "--source", temp.Combine("no-such-folder"), "--db", temp.Combine("scale.db")], Json);

        Assert.Equal(2, run.ExitCode);
        var errors = Parse(run.StderrLines).ToArray();
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Equal("error", e.GetProperty("level").GetString()));
        Assert.Contains(errors, e => e.GetProperty("message").GetString()!.StartsWith("scale run: ", StringComparison.Ordinal));
        Assert.False(run.HasStackTrace);
    }

    [Fact]
    public async Task UnknownLogFormat_IsRefusedWithTheChoices()
    {
        using var temp = new TempDirectory();

        var run = await ScaleProcess.RunAsync(temp.Path, ["similar", "--db", temp.Combine("scale.db"), "--log-format", "xml"]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--log-format must be auto, text or json, not 'xml'", run.Stderr, StringComparison.Ordinal);
    }

    private static IEnumerable<JsonElement> Parse(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            JsonElement element;
            try
            {
                element = JsonDocument.Parse(line).RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new Xunit.Sdk.XunitException($"Not a JSON line: {line} ({ex.Message})");
            }

            Assert.Equal(JsonValueKind.Object, element.ValueKind);
            Assert.True(element.TryGetProperty("message", out _), line);
            yield return element;
        }
    }
}
