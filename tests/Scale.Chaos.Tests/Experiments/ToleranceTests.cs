using System.Text.Json.Nodes;
using Scale.Chaos.Experiments;

namespace Scale.Chaos.Tests.Experiments;

/// <summary>
/// Tolerances judge values whatever .NET type is behind them: an int from a counter, a double from a ratio, a number
/// parsed from JSON (a journal, an http body) must all be judged the same.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ToleranceTests
{
    public static TheoryData<string, JsonNode?, bool> LiteralCases() => new()
    {
        { "true", JsonValue.Create(true), true },
        { "true", JsonValue.Create(false), false },
        { "true", JsonNode.Parse("true"), true },
        { "false", JsonValue.Create(false), true },
        { "0", JsonValue.Create(0), true },
        { "0", JsonValue.Create(0L), true },
        { "0", JsonValue.Create(0.0), true },
        { "0", JsonNode.Parse("0.0"), true },
        { "0", JsonValue.Create(3), false },
        { "3", JsonValue.Create(3), true },
        { "3", JsonValue.Create(3.0), true },
        { "3", JsonNode.Parse("3"), true },
        { "3", JsonNode.Parse("3e0"), true },
        { "3", JsonValue.Create(3.5), false },
        { "3", JsonValue.Create("3"), false },
        { "3", null, false },
        { "\"pg-a\"", JsonValue.Create("pg-a"), true },
        { "\"pg-a\"", JsonValue.Create("pg-b"), false },
        { "\"pg-a\"", null, false },
        { "200", JsonNode.Parse("""{ "status": 200, "body": "ok" }"""), true },
        { "200", JsonNode.Parse("""{ "status": 503, "body": "no" }"""), false },
        { "0", new JsonObject { ["status"] = 0, ["stdout"] = "", ["stderr"] = "" }, true },
        { "0", new JsonObject { ["status"] = 1, ["stdout"] = "", ["stderr"] = "" }, false },
    };

    [Theory]
    [MemberData(nameof(LiteralCases))]
    public void Check_Literal_MetWhenEqual(string tolerance, JsonNode? value, bool met)
    {
        var verdict = Parse(tolerance).Check(value, null);

        Assert.Equal(met, verdict.Met);
        Assert.False(string.IsNullOrEmpty(verdict.Explanation));
    }

    public static TheoryData<string, JsonNode?, bool> RangeCases() => new()
    {
        { "[0.999, 1]", JsonValue.Create(1), true },
        { "[0.999, 1]", JsonValue.Create(0.999), true },
        { "[0.999, 1]", JsonValue.Create(0.9985), false },
        { "[0.999, 1]", JsonNode.Parse("0.9995"), true },
        { "[0.999, 1]", JsonValue.Create(1.0001), false },
        { "[0.999, 1]", JsonValue.Create(1m), true },
        { "[0, 30]", JsonValue.Create(30), true },
        { "[0, 30]", JsonValue.Create(30.1), false },
        { "[0, 30]", JsonValue.Create(-1), false },
        { "[0, 30]", JsonValue.Create(12.5f), true },
        { "[0, 30]", null, false },
        { "[0, 30]", JsonValue.Create("12"), false },
        { "[1, null]", JsonValue.Create(1), true },
        { "[1, null]", JsonValue.Create(1e12), true },
        { "[1, null]", JsonValue.Create(0), false },
        { "[1, null]", JsonValue.Create(0.999), false },
        { "[null, 0.1]", JsonValue.Create(-5), true },
        { "[null, 0.1]", JsonValue.Create(0.2), false },
        { "[200, 299]", JsonNode.Parse("""{ "status": 204 }"""), true },
        { "[200, 299]", JsonNode.Parse("""{ "status": 500 }"""), false },
        { "[\"0\", \"30\"]", JsonValue.Create(15), true },
    };

    [Theory]
    [MemberData(nameof(RangeCases))]
    public void Check_Range_MetInsideInclusiveBounds(string range, JsonNode? value, bool met)
    {
        var tolerance = Parse($$"""{ "type": "range", "range": {{range}} }""");

        Assert.Equal(met, tolerance.Check(value, null).Met);
        Assert.False(tolerance.UsesBefore);
    }

    [Fact]
    public void Describe_OpenEndedRange_SaysInfinity()
    {
        Assert.Equal("[1, ∞]", Parse("""{ "type": "range", "range": [1, null] }""").Describe());
        Assert.Equal("[-∞, 0.1]", Parse("""{ "type": "range", "range": [null, 0.1] }""").Describe());
        Assert.Equal("[0.999, 1]", Parse("""{ "type": "range", "range": [0.999, 1] }""").Describe());
    }

    [Theory]
    [InlineData("""{ "type": "range", "range": [5, 1] }""", "empty")]
    [InlineData("""{ "type": "range", "range": [1] }""", "range")]
    [InlineData("""{ "type": "range" }""", "range")]
    [InlineData("""{ "type": "range", "range": ["low", 1] }""", "number")]
    [InlineData("""{ "type": "within" }""", "within")]
    [InlineData("""{ "range": [0, 1] }""", "unknown tolerance type")]
    public void From_InvalidTolerance_ThrowsChaosException(string json, string detail)
    {
        var error = Assert.Throws<ChaosException>(() => Parse(json));

        Assert.Contains(detail, error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<JsonNode?, JsonNode?, bool> OneOfCases() => new()
    {
        { JsonValue.Create("primary"), null, true },
        { JsonValue.Create("replica"), null, true },
        { JsonValue.Create("leader"), null, false },
        { JsonValue.Create(2), null, true },
        { JsonValue.Create(2.0), null, true },
        { JsonNode.Parse("2"), null, true },
        { JsonValue.Create(3), null, false },
        { null, null, false },
        { JsonNode.Parse("""{ "status": 2 }"""), null, true },
    };

    [Theory]
    [MemberData(nameof(OneOfCases))]
    public void Check_List_MetWhenTheValueIsOneOfIt(JsonNode? value, JsonNode? before, bool met)
    {
        var tolerance = Parse("""["primary", "replica", 2]""");

        Assert.Equal(met, tolerance.Check(value, before).Met);
    }

    [Theory]
    [InlineData(100, 150, true)]
    [InlineData(100, 200, true)]
    [InlineData(100, 250, true)]
    [InlineData(100, 251, false)]
    [InlineData(200, 399, true)]
    [InlineData(200, 401, false)]
    // Under the floor any value passes, even far above 2× a tiny steady state.
    [InlineData(1, 2.5, true)]
    [InlineData(1, 250, true)]
    [InlineData(1, 250.5, false)]
    [InlineData(0, 100, true)]
    public void Check_RelativeToBeforeMaxFactorWithFloor_BoundIsTheLargerOfFactorAndFloor(double before, double value, bool met)
    {
        var tolerance = Parse("""{ "type": "relative-to-before", "max-factor": 2, "floor": 250 }""");

        var verdict = tolerance.Check(JsonValue.Create(value), JsonValue.Create(before));

        Assert.True(tolerance.UsesBefore);
        Assert.Equal(met, verdict.Met);
        Assert.Equal(met, tolerance.Check(JsonNode.Parse(value.ToString(System.Globalization.CultureInfo.InvariantCulture)), JsonNode.Parse(before.ToString(System.Globalization.CultureInfo.InvariantCulture))).Met);
    }

    [Fact]
    public void Check_RelativeToBeforeIntegers_JudgedAsNumbers()
    {
        var tolerance = Parse("""{ "type": "relative-to-before", "max-factor": 2 }""");

        Assert.True(tolerance.Check(JsonValue.Create(20), JsonValue.Create(10)).Met);
        Assert.False(tolerance.Check(JsonValue.Create(21), JsonValue.Create(10L)).Met);
        Assert.False(tolerance.Check(JsonValue.Create(1), JsonValue.Create(0)).Met);
    }

    [Theory]
    [InlineData(10, 15, true)]
    [InlineData(10, 14.9, false)]
    [InlineData(10, 100, true)]
    public void Check_RelativeToBeforeMinFactor_MetWhenRisenEnough(double before, double value, bool met)
    {
        var tolerance = Parse("""{ "type": "relative-to-before", "min-factor": 1.5 }""");

        Assert.Equal(met, tolerance.Check(JsonValue.Create(value), JsonValue.Create(before)).Met);
    }

    [Fact]
    public void Check_RelativeToBeforeWithoutBefore_NotMetAndSaysWhy()
    {
        var tolerance = Parse("""{ "type": "relative-to-before", "max-factor": 2, "floor": 250 }""");

        var verdict = tolerance.Check(JsonValue.Create(1), null);

        Assert.False(verdict.Met);
        Assert.Contains("before", verdict.Explanation, StringComparison.Ordinal);
        Assert.False(tolerance.Check(null, JsonValue.Create(1)).Met);
        Assert.False(tolerance.Check(JsonValue.Create("fast"), JsonValue.Create(1)).Met);
    }

    [Fact]
    public void Check_RelativeToBeforeHttpOutputs_JudgedOnStatus()
    {
        var tolerance = Parse("""{ "type": "relative-to-before", "min-factor": 1 }""");

        Assert.True(tolerance.Check(JsonNode.Parse("""{ "status": 200 }"""), JsonNode.Parse("""{ "status": 200 }""")).Met);
        Assert.False(tolerance.Check(JsonNode.Parse("""{ "status": 100 }"""), JsonNode.Parse("""{ "status": 200 }""")).Met);
    }

    public static TheoryData<JsonNode?, JsonNode?, bool> EqualsBeforeCases() => new()
    {
        { JsonValue.Create("3f2a9c"), JsonValue.Create("3f2a9c"), true },
        { JsonValue.Create("3f2a9c"), JsonValue.Create("3f2a9d"), false },
        { JsonValue.Create(7), JsonValue.Create(7), true },
        { JsonValue.Create(7), JsonNode.Parse("7"), true },
        { JsonValue.Create(7), JsonValue.Create(8), false },
        { JsonValue.Create("3f2a9c"), null, false },
        { null, JsonValue.Create("3f2a9c"), false },
        { null, null, false },
        { JsonNode.Parse("""{ "status": 0, "stdout": "a" }"""), JsonNode.Parse("""{ "status": 0, "stdout": "b" }"""), true },
        { JsonNode.Parse("""{ "status": 1 }"""), JsonNode.Parse("""{ "status": 0 }"""), false },
    };

    [Theory]
    [MemberData(nameof(EqualsBeforeCases))]
    public void Check_EqualsBefore_MetWhenUnchanged(JsonNode? value, JsonNode? before, bool met)
    {
        var tolerance = Parse("""{ "type": "equals-before" }""");

        Assert.True(tolerance.UsesBefore);
        Assert.Equal(met, tolerance.Check(value, before).Met);
    }

    [Fact]
    public void Check_NotMet_ExplanationShowsValueAndBound()
    {
        var verdict = Parse("""{ "type": "range", "range": [0, 30] }""").Check(JsonValue.Create(42.5), null);

        Assert.False(verdict.Met);
        Assert.Contains("42.5", verdict.Explanation, StringComparison.Ordinal);
        Assert.Contains("[0, 30]", verdict.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Show_NumbersOfAnyType_ReadTheSame()
    {
        Assert.Equal("3", Tolerance.Show(JsonValue.Create(3)));
        Assert.Equal("3", Tolerance.Show(JsonValue.Create(3.0)));
        Assert.Equal("3", Tolerance.Show(JsonNode.Parse("3.0")));
        Assert.Equal("0.9995", Tolerance.Show(JsonValue.Create(0.9995)));
        Assert.Equal("pg-a", Tolerance.Show(JsonValue.Create("pg-a")));
        Assert.Equal("no value", Tolerance.Show(null));
    }

    private static Tolerance Parse(string json) => Tolerance.From(JsonNode.Parse(json)!);
}
