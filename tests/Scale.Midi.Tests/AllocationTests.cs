using Scale.Testing;

namespace Scale.Midi.Tests;

/// <summary>
/// The extractor's memory stays a bounded multiple of the file's size even for files built to make it record as
/// much as possible (its scratch state grows with program changes, tempo changes, tracks and note spans).
/// </summary>
public class AllocationTests
{
    /// <summary>The documented worst case (docs/instrument-semantics.md, "Memory"): 24 bytes per file byte plus 64 KiB.</summary>
    private const int BytesPerFileByte = 24;
    private const long Constant = 64 * 1024;

    public static TheoryData<string> Shapes => ["program-changes", "tempo-changes", "empty-tracks", "note-spans", "ordinary-song"];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Extract_PathologicalFile_AllocatesABoundedMultipleOfItsSize(string shape)
    {
        var file = Build(shape);
        var extractor = new MidiExtractor();

        var before = GC.GetAllocatedBytesForCurrentThread();
        var summary = extractor.Extract(file);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(summary.IsValid, summary.Error?.Message);
        Assert.True(
            allocated <= (BytesPerFileByte * (long)file.Length) + Constant,
            $"{shape}: {allocated:N0} bytes allocated for a {file.Length:N0}-byte file ({(double)allocated / file.Length:F1}x)");
    }

    [Fact]
    public void Extract_SecondFileOnSameInstance_AllocatesLittleMoreThanTheSummary()
    {
        var file = Build("ordinary-song");
        var extractor = new MidiExtractor();
        extractor.Extract(file);

        var before = GC.GetAllocatedBytesForCurrentThread();
        extractor.Extract(file);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The summary, its 129 note counts and the title: no per-event allocation once scratch buffers exist.
        Assert.InRange(allocated, 1, 2_048);
    }

    private static byte[] Build(string shape)
    {
        var builder = new SmfBuilder(format: 1);
        switch (shape)
        {
            case "program-changes":
                // Two tracks, so channels are shared and every change is recorded; running status makes each 2 bytes.
                builder.Track(t =>
                {
                    t.ProgramChange(0, 0, 1);
                    for (var i = 0; i < 200_000; i++)
                    {
                        t.Raw(0x00, (byte)(i & 0x7F));
                    }

                    t.EndOfTrack();
                });
                builder.Track(t => t.Note(0, 0, 60, 100, 10).EndOfTrack());
                break;
            case "tempo-changes":
                builder.Track(t =>
                {
                    for (var i = 0; i < 50_000; i++)
                    {
                        t.Tempo(1, 400_000 + i);
                    }

                    t.EndOfTrack();
                });
                builder.Track(t => t.Note(0, 0, 60, 100, 10).EndOfTrack());
                break;
            case "empty-tracks":
                for (var i = 0; i < 20_000; i++)
                {
                    builder.Track(t => t.EndOfTrack());
                }

                builder.Track(t => t.Note(0, 0, 60, 100, 10).EndOfTrack());
                break;
            case "note-spans":
                // Many short tracks, each sounding one note on each of 15 melodic channels.
                for (var i = 0; i < 2_000; i++)
                {
                    builder.Track(t =>
                    {
                        for (var channel = 0; channel < 16; channel++)
                        {
                            t.NoteOn(0, channel, 60, 100);
                        }

                        t.EndOfTrack();
                    });
                }

                break;
            default:
                builder.Track(t => t.TrackName(0, "Song").Tempo(0, 500_000).EndOfTrack());
                for (var channel = 0; channel < 8; channel++)
                {
                    var c = channel;
                    builder.Track(t =>
                    {
                        t.ProgramChange(0, c, c * 8);
                        for (var i = 0; i < 500; i++)
                        {
                            t.Note(10, c, 40 + (i % 40), 90, 10);
                        }

                        t.EndOfTrack();
                    });
                }

                break;
        }

        return builder.Build();
    }
}
