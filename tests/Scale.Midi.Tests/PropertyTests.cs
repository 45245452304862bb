using FsCheck.Xunit;
using Scale.Testing;

namespace Scale.Midi.Tests;

/// <summary>
/// Properties over many generated inputs (seeded, so a failure repeats): random well-formed songs match a naive
/// model of the rules; random bytes and mutated songs never make the extractor throw or hang, always give the
/// same answer, and give consistent results; one reused extractor gives what fresh ones give.
/// </summary>
public class PropertyTests
{
    private const int Seed = 20_250_601;

    [Fact]
    public void Extract_RandomWellFormedSongs_MatchModelOfRules()
    {
        var random = new Random(Seed);
        var extractor = new MidiExtractor();
        for (var i = 0; i < 3_000; i++)
        {
            var song = RandomSong.Create(random);
            var what = $"song {i}: {Convert.ToHexString(song.Bytes)}";

            var summary = Bounded.Extract(extractor, song.Bytes, what);

            Assert.True(summary.IsValid, $"{what}: {summary.Error?.Message}");
            Assert.Equal(song.Format, summary.Format);
            Assert.Equal(song.Tracks, summary.Tracks);
            Assert.Equal(song.Division, summary.Division);
            Assert.True(song.NoteCounts.SequenceEqual(summary.NoteCounts), $"{what}\nexpected {string.Join(',', song.NoteCounts)}\nactual   {string.Join(',', summary.NoteCounts)}");
            Assert.Equal(song.Notes, summary.Notes);
            Assert.Equal(song.Ticks, summary.Ticks);
            Assert.NotNull(summary.Seconds);
            Assert.Equal(song.Seconds, summary.Seconds.Value, 1e-9 * Math.Max(1, song.Seconds));
            Assert.Equal(song.Notes == 0 ? MidiWarnings.NoNotes : MidiWarnings.None, summary.Warnings);
        }
    }

    [Property(MaxTest = 2_000)]
    public void Extract_ArbitraryBytes_ConsistentAndDeterministic(byte[] bytes)
    {
        CheckRobust(bytes ?? [], "arbitrary bytes");
    }

    [Fact]
    public void Extract_RandomBytesAfterPlausibleHeader_ConsistentAndDeterministic()
    {
        var random = new Random(Seed + 1);
        for (var i = 0; i < 5_000; i++)
        {
            var body = new byte[random.Next(0, 200)];
            random.NextBytes(body);
            byte[] file =
            [
                .. "MThd"u8, 0, 0, 0, (byte)random.Next(4, 10), 0, (byte)random.Next(4), 0, (byte)random.Next(1, 4),
                (byte)random.Next(256), (byte)random.Next(256), .. "MTrk"u8, 0, 0, 0, (byte)random.Next(256), .. body,
            ];
            CheckRobust(file, $"random track {i}: {Convert.ToHexString(file)}");
        }
    }

    [Fact]
    public void Extract_MutatedSongsAndContainers_ConsistentAndDeterministic()
    {
        var random = new Random(Seed + 2);
        for (var i = 0; i < 6_000; i++)
        {
            var song = RandomSong.Create(random, maxTracks: 3, maxEvents: 20).Bytes;
            var source = random.Next(6) switch
            {
                0 => ErrorCodeTests.Gzip(song),
                1 => Riff(song),
                2 => [.. MacBinaryHeader(), .. song],
                _ => song,
            };
            var mutant = Mutate(source, random);
            CheckRobust(mutant, $"mutant {i}: {Convert.ToHexString(mutant)}");
        }
    }

    [Fact]
    public void Extract_OneExtractorReused_SameResultsAsFreshExtractors()
    {
        var random = new Random(Seed + 3);
        var files = new List<byte[]>();
        for (var i = 0; i < 400; i++)
        {
            var song = RandomSong.Create(random, maxTracks: i % 50 == 0 ? 60 : 5, maxEvents: i % 50 == 0 ? 300 : 40).Bytes;
            files.Add(i % 3 == 0 ? Mutate(song, random) : song);
        }

        files.Add(ManyTracksAndChanges());
        files.Reverse();
        files.AddRange(files.ToList());
        var reused = new MidiExtractor();
        for (var i = 0; i < files.Count; i++)
        {
            var what = $"file {i}: {Convert.ToHexString(files[i])}";
            var fresh = SummaryAssert.Describe(Bounded.Extract(new MidiExtractor(), files[i], what));
            Assert.Equal(fresh, SummaryAssert.Describe(Bounded.Extract(reused, files[i], what)));
        }
    }

    private static void CheckRobust(byte[] file, string what)
    {
        var extractor = new MidiExtractor();
        var first = Bounded.Extract(extractor, file, what);
        SummaryAssert.Consistent(first, what);
        var again = Bounded.Extract(extractor, file, what);
        Assert.Equal(SummaryAssert.Describe(first), SummaryAssert.Describe(again));
    }

    /// <summary>1 to 4 random edits: bit flips, cuts, insertions, deletions, swaps, special bytes, duplicated runs.</summary>
    internal static byte[] Mutate(byte[] source, Random random)
    {
        var bytes = source.ToList();
        var edits = random.Next(1, 5);
        for (var e = 0; e < edits && bytes.Count > 0; e++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 2:
                    var inserted = new byte[random.Next(1, 9)];
                    random.NextBytes(inserted);
                    bytes.InsertRange(at, inserted);
                    break;
                case 3:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 9)));
                    break;
                case 4:
                    var other = random.Next(bytes.Count);
                    (bytes[at], bytes[other]) = (bytes[other], bytes[at]);
                    break;
                case 5:
                    byte[] special = [0x00, 0x7F, 0x80, 0xFF, 0xF0, 0xF7, 0x2F, 0x51];
                    bytes[at] = special[random.Next(special.Length)];
                    break;
                default:
                    var run = bytes.GetRange(at, Math.Min(bytes.Count - at, random.Next(1, 17)));
                    bytes.InsertRange(random.Next(bytes.Count + 1), run);
                    break;
            }
        }

        return [.. bytes];
    }

    private static byte[] Riff(byte[] smf)
    {
        var size = 12 + smf.Length;
        byte[] header =
        [
            .. "RIFF"u8, (byte)size, (byte)(size >> 8), (byte)(size >> 16), (byte)(size >> 24),
            .. "RMID"u8, .. "data"u8, (byte)smf.Length, (byte)(smf.Length >> 8), (byte)(smf.Length >> 16), (byte)(smf.Length >> 24),
        ];
        return [.. header, .. smf];
    }

    private static byte[] MacBinaryHeader()
    {
        var header = new byte[128];
        header[1] = 8;
        "song.mid"u8.CopyTo(header.AsSpan(2));
        return header;
    }

    /// <summary>More tracks, changes, tempos and interleaved notes than the scratch buffers start with.</summary>
    private static byte[] ManyTracksAndChanges()
    {
        var builder = new SmfBuilder(format: 1, division: 480);
        for (var track = 0; track < 70; track++)
        {
            var index = track;
            builder.Track(t =>
            {
                for (var i = 0; i < 40; i++)
                {
                    t.ProgramChange(3, index % 16, (index + i) % 128).Tempo(0, 400_000 + i).Note(1, (index + i) % 16, 60, 90, 2);
                }

                t.EndOfTrack();
            });
        }

        return builder.Build();
    }
}
