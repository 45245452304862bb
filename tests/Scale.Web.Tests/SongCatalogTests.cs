using Scale.Midi;
using Scale.Store;
using Scale.Web.Catalog;

namespace Scale.Web.Tests;

/// <summary>The in-memory catalogue's queries against a plain LINQ filter and sort over random catalogues.</summary>
public class SongCatalogTests
{
    private static readonly string[] Words = ["love", "Love", "LOVE", "the", "Song", "ça", "Ça va", "Straße", "ÉTÉ", "été", "night", "a", "o'brien", "x\u00e9y", "Ünder"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Query_RandomCatalogue_EqualsLinqForEveryFilterSortAndPage(int seed)
    {
        var random = new Random(seed);
        var songs = RandomSongs(random, 700);
        var catalog = SongCatalog.FromSongs(songs, "v1", DateTimeOffset.UnixEpoch);

        for (var round = 0; round < 60; round++)
        {
            var required = InstrumentSet.Of(Enumerable.Range(0, random.Next(0, 3)).Select(_ => random.Next(0, 12)));
            string? q = random.Next(3) switch { 0 => null, 1 => Words[random.Next(Words.Length)], _ => Words[random.Next(Words.Length)][..1] };
            var sort = (SongSort)random.Next(6);
            var pageSize = random.Next(1, 40);
            var expected = Expected(songs, required, q, sort).ToArray();
            var offset = random.Next(0, expected.Length + 5);

            var page = catalog.Query(required, q, sort, offset, pageSize);

            Assert.Equal(expected.Length, page.Total);
            Assert.Equal(expected.Skip(offset).Take(pageSize).Select(s => s.Id), page.Indexes.Select(catalog.IdAt));
        }
    }

    [Fact]
    public void Query_NameFilter_NeverMatchesAcrossTwoNames()
    {
        var songs = new[] { Song("00", "abc"), Song("01", "def") };
        var catalog = SongCatalog.FromSongs(songs, "v", DateTimeOffset.UnixEpoch);

        Assert.Equal(0, catalog.Query(default, "cd", SongSort.NameAscending, 0, 10).Total);
        Assert.Equal(0, catalog.Query(default, "c\0d", SongSort.NameAscending, 0, 10).Total);
        Assert.Equal(1, catalog.Query(default, "C", SongSort.NameAscending, 0, 10).Total);
        Assert.Equal(1, catalog.Query(default, "DEF", SongSort.NameAscending, 0, 10).Total);
    }

    [Fact]
    public void Counts_PerInstrumentAndPerInstrumentCount()
    {
        var songs = RandomSongs(new Random(5), 300);
        var catalog = SongCatalog.FromSongs(songs, "v", DateTimeOffset.UnixEpoch);

        for (var code = 0; code < GeneralMidi.InstrumentCount; code++)
        {
            Assert.Equal(songs.Count(s => s.Instruments.Contains(code)), catalog.SongsPerInstrument[code]);
        }

        for (var count = 0; count <= GeneralMidi.InstrumentCount; count++)
        {
            Assert.Equal(songs.Count(s => s.Instruments.Count == count), catalog.SongsByInstrumentCount[count]);
        }
    }

    [Fact]
    public void IndexOf_FindsEverySong_AndNotOthers_EvenWhenTheReaderWasNotInIdOrder()
    {
        var songs = RandomSongs(new Random(9), 200).OrderByDescending(s => s.Id, StringComparer.Ordinal).ToArray();
        var catalog = SongCatalog.FromSongs(songs, "v", DateTimeOffset.UnixEpoch);

        foreach (var song in songs)
        {
            Assert.Equal(song.Name, catalog.NameAt(catalog.IndexOf(song.Id)));
        }

        Assert.Equal(-1, catalog.IndexOf(new string('f', 32)));
    }

    private static IEnumerable<CatalogSong> Expected(IEnumerable<CatalogSong> songs, InstrumentSet required, string? q, SongSort sort)
    {
        var matching = songs
            .Where(s => required.ToArray().All(s.Instruments.Contains))
            .Where(s => q is null || s.Name.Contains(q, StringComparison.OrdinalIgnoreCase));
        IOrderedEnumerable<CatalogSong> ByName(IOrderedEnumerable<CatalogSong> ordered) =>
            ordered.ThenBy(s => s.Name, StringComparer.OrdinalIgnoreCase).ThenBy(s => s.Name, StringComparer.Ordinal).ThenBy(s => s.Id, StringComparer.Ordinal);
        return sort switch
        {
            SongSort.NameAscending => ByName(matching.OrderBy(_ => 0)),
            SongSort.NameDescending => ByName(matching.OrderBy(_ => 0)).Reverse(),
            SongSort.InstrumentsAscending => ByName(matching.OrderBy(s => s.Instruments.Count)),
            SongSort.InstrumentsDescending => ByName(matching.OrderByDescending(s => s.Instruments.Count)),
            SongSort.SimilarAscending => ByName(matching.OrderBy(s => s.SimilarCount ?? -1)),
            _ => ByName(matching.OrderByDescending(s => s.SimilarCount ?? -1)),
        };
    }

    private static CatalogSong[] RandomSongs(Random random, int count) =>
        [.. Enumerable.Range(0, count)
            .Select(i => new CatalogSong(
                i,
                Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64())) + Convert.ToHexStringLower(BitConverter.GetBytes(i)),
                string.Join(' ', Enumerable.Range(0, random.Next(1, 4)).Select(_ => Words[random.Next(Words.Length)])),
                InstrumentSet.Of(Enumerable.Range(0, random.Next(0, 7)).Select(_ => random.Next(0, 12))),
                random.Next(4) == 0 ? null : random.Next(0, 5)))
            .OrderBy(s => s.Id, StringComparer.Ordinal)];

    private static CatalogSong Song(string idPrefix, string name) => new(0, idPrefix + new string('0', 30), name, InstrumentSet.Empty, null);
}
