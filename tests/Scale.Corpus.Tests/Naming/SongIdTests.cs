using System.Text;
using Scale.Corpus.Naming;

namespace Scale.Corpus.Tests.Naming;

public sealed class SongIdTests
{
    [Theory]
    [InlineData("", "d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("abc", "900150983cd24fb0d6963f7d28e17f72")]
    [InlineData("The quick brown fox jumps over the lazy dog", "9e107d9d372bb6826bd81d3542a419d6")]
    public void FromBytes_KnownInput_IsItsMd5InLowercaseHex(string text, string md5)
    {
        Assert.Equal(md5, SongId.FromBytes(Encoding.ASCII.GetBytes(text)));
    }

    [Theory]
    [InlineData("d41d8cd98f00b204e9800998ecf8427e", true)]
    [InlineData("D41D8CD98F00B204E9800998ECF8427E", false)]
    [InlineData("d41d8cd98f00b204e9800998ecf8427", false)]
    [InlineData("g41d8cd98f00b204e9800998ecf8427e", false)]
    [InlineData(null, false)]
    public void IsValid_Id_AcceptsOnly32LowercaseHexDigits(string? id, bool expected)
    {
        Assert.Equal(expected, SongId.IsValid(id));
    }
}
