using System.Text.RegularExpressions;

namespace Scale.Midi.Tests;

public partial class MidiCodesTests
{
    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex KebabCase();

    [Fact]
    public void Code_EveryErrorCode_UniqueKebabCase()
    {
        var values = Enum.GetValues<MidiErrorCode>();
        var codes = values.Select(MidiCodes.Code).ToList();

        Assert.All(codes, code => Assert.Matches(KebabCase(), code));
        Assert.Equal(codes.Count, codes.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(values, MidiCodes.AllErrors);
    }

    [Fact]
    public void AllWarnings_EveryFlag_ExactlyOnceWithUniqueKebabCase()
    {
        var flags = Enum.GetValues<MidiWarnings>().Where(f => f != MidiWarnings.None).ToList();

        Assert.All(flags, flag => Assert.True(uint.IsPow2((uint)flag), $"{flag} is not a single bit."));
        Assert.Equal(flags.Order(), MidiCodes.AllWarnings.Select(w => w.Flag).Order());
        Assert.Equal(flags.Count, MidiCodes.AllWarnings.Select(w => w.Code).Distinct(StringComparer.Ordinal).Count());
        Assert.All(MidiCodes.AllWarnings, w => Assert.Matches(KebabCase(), w.Code));
    }

    [Fact]
    public void Codes_EveryFlagSet_OneCodePerFlagThatParsesBack()
    {
        var all = MidiCodes.AllWarnings.Aggregate(MidiWarnings.None, (set, w) => set | w.Flag);

        var codes = MidiCodes.Codes(all);

        Assert.Equal(MidiCodes.AllWarnings.Select(w => w.Code), codes);
        foreach (var (flag, code) in MidiCodes.AllWarnings)
        {
            Assert.Equal([code], MidiCodes.Codes(flag));
            Assert.True(MidiCodes.TryParseWarning(code, out var parsed));
            Assert.Equal(flag, parsed);
        }
    }

    [Fact]
    public void Codes_None_Empty()
    {
        Assert.Empty(MidiCodes.Codes(MidiWarnings.None));
        Assert.False(MidiCodes.TryParseWarning("no-such-warning", out _));
    }

    [Fact]
    public void ReasonCode_MidiError_IsCodeOfItsErrorCode()
    {
        Assert.Equal("invalid-data-byte", new MidiError(MidiErrorCode.InvalidDataByte, "x").ReasonCode);
    }

    [Fact]
    public void Code_ValueOutsideEnum_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MidiCodes.Code((MidiErrorCode)999));
    }
}
