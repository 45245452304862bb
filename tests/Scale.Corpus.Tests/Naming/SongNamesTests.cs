using System.Text;
using Scale.Corpus.Naming;
using Scale.Corpus.Tests.Sources;

namespace Scale.Corpus.Tests.Naming;

public sealed class SongNamesTests
{
    [Fact]
    public void Parse_Map_NamesEachMd5ByItsFirstPath()
    {
        var names = Parse("""
            {
              "0a1b2c3d4e5f60718293a4b5c6d7e8f9": ["Beatles/Let_It-Be.mid", "Beatles/Let It Be (2).mid"],
              "ffffffffffffffffffffffffffffffff": ["Queen/Bohemian_Rhapsody.kar"],
              "00000000000000000000000000000000": []
            }
            """);

        Assert.Equal(2, names.Count);
        Assert.Equal("Beatles/Let It Be", names.NameOf("0a1b2c3d4e5f60718293a4b5c6d7e8f9"));
        Assert.Equal("Queen/Bohemian Rhapsody", names.NameOf("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"));
        Assert.Null(names.NameOf("00000000000000000000000000000000"));
        Assert.False(names.TryGetName("11111111111111111111111111111111", out _));
    }

    [Fact]
    public void Parse_ByteOrderMark_IsIgnored()
    {
        var json = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("""{"aa": ["A/B.mid"]}""")).ToArray();

        Assert.Equal("A/B", SongNames.Parse(json, "bom.json").NameOf("aa"));
    }

    [Theory]
    [InlineData("Beatles/Let_It-Be.mid", "Beatles/Let It Be")]
    [InlineData("Artist/Song.v2.MID", "Artist/Song.v2")]
    [InlineData("Artist/Song.midi", "Artist/Song")]
    [InlineData("Some__Band/Track  -  1.mid", "Some Band/Track 1")]
    [InlineData("  _Padded_ .mid", "Padded")]
    [InlineData("Mr. Jones", "Mr. Jones")]
    [InlineData("a.b/NoExtension", "a.b/NoExtension")]
    [InlineData("dir/.mid", "dir/.mid")]
    [InlineData("Ünïcode/Café_del_Mar.mid", "Ünïcode/Café del Mar")]
    public void NameFromPath_LakhPath_DropsExtensionAndSeparators(string path, string name)
    {
        Assert.Equal(name, SongNames.NameFromPath(path));
    }

    [Theory]
    [InlineData("Beatles/Let It Be", "Title", "0/abc.mid", "Beatles/Let It Be")]
    [InlineData(null, "  My\0Title  ", "0/abc.mid", "My Title")]
    [InlineData("  ", "Title", "0/abc.mid", "Title")]
    [InlineData(null, null, "0/0a1b2c.mid", "0a1b2c")]
    [InlineData(null, " ", "dir/My_Song.kar", "My Song")]
    [InlineData(null, null, "plain.mid", "plain")]
    [InlineData(null, null, ".mid", ".mid")]
    public void ChooseName_Candidates_FirstNonBlankWins(string? fromNames, string? title, string key, string expected)
    {
        Assert.Equal(expected, SongNames.ChooseName(fromNames, title, key));
    }

    [Theory]
    [InlineData("""{"aa": ["A.mid"] """, "line 1")]
    [InlineData("""["A.mid"]""", "line 1, byte 1")]
    [InlineData("{\n  \"aa\": \"A.mid\"\n}", "line 2, byte 9")]
    [InlineData("{\n  \"aa\": [\"A.mid\",\n    42]\n}", "line 3, byte 5")]
    [InlineData("""{"aa": ["A.mid"]} {}""", "line 1")]
    [InlineData("", "line 1")]
    public void Parse_Malformed_ThrowsWithSourceAndPosition(string json, string position)
    {
        var ex = Assert.Throws<InvalidDataException>(() => Parse(json));

        Assert.Contains("'test.json'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(position, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_File_ParsesIt()
    {
        using var temp = new TempFolder();
        var path = temp.Write("md5_to_paths.json", Encoding.UTF8.GetBytes("""{"ab": ["X/Y_Z.mid"]}"""));

        var names = await SongNames.LoadAsync(path, CancellationToken.None);

        Assert.Equal("X/Y Z", names.NameOf("ab"));
    }

    [Fact]
    public async Task LoadAsync_MalformedFile_MessageNamesThePath()
    {
        using var temp = new TempFolder();
        var path = temp.Write("md5_to_paths.json", Encoding.UTF8.GetBytes("""{"ab": ["""));

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => SongNames.LoadAsync(path, CancellationToken.None));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_HasNoNames()
    {
        Assert.Equal(0, SongNames.Empty.Count);
        Assert.Null(SongNames.Empty.NameOf("aa"));
    }

    private static SongNames Parse(string json) => SongNames.Parse(Encoding.UTF8.GetBytes(json), "test.json");
}
