using Scale.Corpus.Sources;

namespace Scale.Corpus.Tests.Sources;

public sealed class CorpusKeysTests
{
    [Theory]
    [InlineData("a.mid", true)]
    [InlineData("a.MID", true)]
    [InlineData("a/b.Midi", true)]
    [InlineData("song.kar", true)]
    [InlineData("song.RMI", true)]
    [InlineData("song.mid.gz", false)]
    [InlineData("song.mp3", false)]
    [InlineData("mid", false)]
    public void IsMidiFileName_Name_MatchesTheFourExtensions(string name, bool expected)
    {
        Assert.Equal(expected, CorpusKeys.IsMidiFileName(name));
    }

    [Theory]
    [InlineData("./a/b.mid", "a/b.mid")]
    [InlineData("././a.mid", "a.mid")]
    [InlineData("/abs/a.mid", "abs/a.mid")]
    [InlineData("a/./b.mid", "a/./b.mid")]
    [InlineData("plain.mid", "plain.mid")]
    public void FromTarEntryName_Name_StripsLeadingDotSlashAndSlash(string name, string key)
    {
        Assert.Equal(key, CorpusKeys.FromTarEntryName(name));
    }
}
