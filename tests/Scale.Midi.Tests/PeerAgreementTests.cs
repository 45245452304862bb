using System.Globalization;
using System.Text;
using Scale.Testing;
using Xunit.Abstractions;

namespace Scale.Midi.Tests;

/// <summary>
/// The extractor's instrument sets against peers that implement the same semantics on another parser, for every
/// corpus file both parse. Files where they differ must be listed, with the reason, in
/// <see cref="KnownNAudioDisagreements"/> / <see cref="KnownMidoDisagreements"/> (mirrored in docs/peer-disagreements.md).
/// </summary>
public class PeerAgreementTests(ITestOutputHelper output)
{
    /// <summary>Path suffix → why NAudio's reading differs from ours (mirrored in docs/peer-disagreements.md).
    /// The shared corpus's edge/ files are only compared when SCALE_MIDI_CORPUS points at them.</summary>
    internal static readonly Dictionary<string, string> KnownNAudioDisagreements = new(StringComparer.Ordinal)
    {
        [ExtraTrack] = ExtraTrackReason,
        ["drywetmidi/Invalid/Invalid Chunk Size/MORRISSETTE.You oughta know K.mid"] =
            "a stray End of Track 40 bytes into the only track, before every note: we stop there (data-after-end-of-track, " +
            "so no notes); NAudio with strictChecking false reads on to the chunk's end",
        ["drywetmidi/Invalid/Unexpected Running Status/balloons.mid"] =
            "a Set Tempo with 2 data bytes: we skip it by its length (bad-tempo); NAudio throws on it inside, skips the " +
            "exception (non-strict) and resumes in the middle of the event, misreading what follows (an extra program 0). " +
            "Turning that meta event into a text event makes NAudio agree",
        ["jazz-soft-test-midi-files/test-illegal-message-f1-xx.mid"] = SystemCommonReason,
        ["jazz-soft-test-midi-files/test-illegal-message-f2-xx-xx.mid"] = SystemCommonReason,
        ["jazz-soft-test-midi-files/test-illegal-message-f3-xx.mid"] = SystemCommonReason,
    };

    /// <summary>Path suffix → why mido's reading differs from ours.</summary>
    internal static readonly Dictionary<string, string> KnownMidoDisagreements = new(StringComparer.Ordinal)
    {
        [ExtraTrack] = ExtraTrackReason,
    };

    private const string ExtraTrack = "drywetmidi/Invalid/Extra Track Chunk/arkanoid_modified.mid";

    private const string ExtraTrackReason =
        "the header declares 0 tracks and one MTrk chunk follows: we read every MTrk chunk (track-count-mismatch), " +
        "the peer reads only as many as declared";

    private const string SystemCommonReason =
        "a system common message (F1/F2/F3) with its data bytes inside a track: we skip it with its data " +
        "(system-message-in-track); NAudio rejects the status and reads its data bytes as a running-status event. mido agrees with us";

    [Fact]
    public void Extract_DebianCorpus_AgreesWithNAudioWhereBothParse()
    {
        var files = DebianMidiCorpus.Files().Select(f => (f.Name, f.FullPath)).ToList();
        var report = Compare(files, path => NAudioPeer.Instruments(File.ReadAllBytes(path)), KnownNAudioDisagreements);
        output.WriteLine(report.Describe("NAudio.Midi 2.2.1", "Debian corpus"));
        Assert.True(report.BothParsed >= 200, $"Only {report.BothParsed} Debian files parsed by both; the comparison says little.");
        report.AssertClean();
    }

    [Fact]
    public void Extract_LocalCorpus_AgreesWithNAudioWhereBothParse()
    {
        var files = DebianMidiCorpus.LocalFiles();
        if (files.Count == 0)
        {
            output.WriteLine("SCALE_MIDI_CORPUS is not set: no local corpus to compare (optional).");
            return;
        }

        var report = Compare([.. files.Select(f => (f, f))], path => NAudioPeer.Instruments(File.ReadAllBytes(path)), KnownNAudioDisagreements);
        output.WriteLine(report.Describe("NAudio.Midi 2.2.1", Environment.GetEnvironmentVariable("SCALE_MIDI_CORPUS")!));
        report.AssertClean();
    }

    [Fact]
    public void Extract_DebianCorpus_AgreesWithMidoWhereBothParse()
    {
        if (!MidoAvailable())
        {
            return;
        }

        var files = DebianMidiCorpus.Files().Select(f => (f.Name, f.FullPath)).ToList();
        var mido = MidoPeer.Instruments([.. files.Select(f => f.FullPath)]);
        var report = Compare(files, path => mido[path], KnownMidoDisagreements);
        output.WriteLine(report.Describe("python3-mido", "Debian corpus"));
        Assert.True(report.BothParsed >= 200, $"Only {report.BothParsed} files parsed by both; the comparison says little.");
        report.AssertClean();
    }

    [Fact]
    public void Extract_LocalCorpus_AgreesWithMidoWhereBothParse()
    {
        var files = DebianMidiCorpus.LocalFiles();
        if (files.Count == 0)
        {
            output.WriteLine("SCALE_MIDI_CORPUS is not set: no local corpus to compare (optional).");
            return;
        }

        if (!MidoAvailable())
        {
            return;
        }

        var mido = MidoPeer.Instruments(files);
        var report = Compare([.. files.Select(f => (f, f))], path => mido[path], KnownMidoDisagreements);
        output.WriteLine(report.Describe("python3-mido", Environment.GetEnvironmentVariable("SCALE_MIDI_CORPUS")!));
        report.AssertClean();
    }

    /// <summary>False (with a note in the output) when mido is missing on a developer machine; fails on CI.</summary>
    private bool MidoAvailable()
    {
        if (MidoPeer.IsAvailable())
        {
            return true;
        }

        Assert.False(
            string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase),
            $"CI must run the mido peer, but '{MidoPeer.Python} -c \"import mido\"' fails: install python3-mido.");
        output.WriteLine($"mido peer NOT run: '{MidoPeer.Python} -c \"import mido\"' fails (apt-get install python3-mido).");
        return false;
    }

    private static Report Compare(List<(string Name, string FullPath)> files, Func<string, PeerResult> peer, Dictionary<string, string> known)
    {
        var report = new Report { Files = files.Count };
        var extractor = new MidiExtractor();
        foreach (var (name, path) in files)
        {
            var ours = Bounded.Extract(extractor, File.ReadAllBytes(path), name);
            var theirs = Bounded.Run(() => peer(path), TimeSpan.FromSeconds(60), "peer on " + name);
            if (ours.IsValid)
            {
                report.OursParsed++;
            }

            if (theirs.Ok)
            {
                report.PeerParsed++;
            }
            else
            {
                report.PeerRejects.Add($"{name}: {theirs.Error} (ours: {(ours.IsValid ? "ok" : ours.Error!.ReasonCode)})");
            }

            if (!ours.IsValid || !theirs.Ok)
            {
                continue;
            }

            report.BothParsed++;
            var reason = known.FirstOrDefault(k => name.EndsWith(k.Key, StringComparison.Ordinal)).Value;
            if (ours.Instruments == theirs.Instruments)
            {
                report.Agree++;
                if (reason is not null)
                {
                    report.Stale.Add(name);
                }
            }
            else if (reason is not null)
            {
                report.Known.Add($"{name}: ours {ours.Instruments}, peer {theirs.Instruments} ({reason})");
            }
            else
            {
                report.Unexpected.Add($"{name}: ours {ours.Instruments}, peer {theirs.Instruments}, warnings {string.Join(',', MidiCodes.Codes(ours.Warnings))}");
            }
        }

        return report;
    }

    private sealed class Report
    {
        public int Files { get; init; }

        public int OursParsed { get; set; }

        public int PeerParsed { get; set; }

        public int BothParsed { get; set; }

        public int Agree { get; set; }

        public List<string> PeerRejects { get; } = [];

        public List<string> Known { get; } = [];

        public List<string> Unexpected { get; } = [];

        public List<string> Stale { get; } = [];

        public string Describe(string peer, string corpus)
        {
            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"{corpus} vs {peer}: {Files} files, ours parsed {OursParsed}, peer parsed {PeerParsed}, both {BothParsed}, agree {Agree} ({100.0 * Agree / Math.Max(1, BothParsed):0.0}%)");
            foreach (var (title, lines) in new[] { ("peer rejects", PeerRejects), ("known disagreements", Known), ("UNEXPECTED disagreements", Unexpected), ("stale known entries", Stale) })
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{title}: {lines.Count}");
                foreach (var line in lines)
                {
                    text.AppendLine("  " + line);
                }
            }

            return text.ToString();
        }

        public void AssertClean()
        {
            Assert.True(Unexpected.Count == 0, $"{Unexpected.Count} unexplained disagreement(s):\n{string.Join('\n', Unexpected)}");
            Assert.True(Stale.Count == 0, $"Listed as known disagreements but agree now (remove them):\n{string.Join('\n', Stale)}");
        }
    }
}
