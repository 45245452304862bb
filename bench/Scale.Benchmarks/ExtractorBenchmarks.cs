using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using NAudio.Midi;
using Scale.Midi;

namespace Scale.Benchmarks;

/// <summary>
/// Scale's extractor against NAudio.Midi's full parse of the same files (those both read), in one run.
/// Read the Ratio column (NAudio is the baseline, 1.00) and MB/s.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class ExtractorBenchmarks
{
    private List<byte[]> _files = [];
    private readonly MidiExtractor _extractor = new();

    /// <summary>Bytes one invocation reads. The MB/s column runs in the host process, not the benchmark's, so it
    /// selects the same files again.</summary>
    private static readonly Lazy<long> BytesPerInvocation = new(() => SelectFiles().Sum(f => (long)f.Length));

    [GlobalSetup]
    public void Setup()
    {
        _files = SelectFiles();
        Console.WriteLine($"// {_files.Count} files, {_files.Sum(f => (long)f.Length):N0} bytes");
    }

    /// <summary>Only files both parsers accept, so both do the same work.</summary>
    private static List<byte[]> SelectFiles()
    {
        var extractor = new MidiExtractor();
        return BenchCorpus.Load().Where(f => extractor.Extract(f).IsValid && NAudioParses(f)).ToList();
    }

    [Benchmark(Baseline = true, Description = "NAudio.Midi full parse")]
    public int NAudio()
    {
        var events = 0;
        foreach (var file in _files)
        {
            using var stream = new MemoryStream(file, writable: false);
            var midi = new MidiFile(stream, strictChecking: false);
            events += midi.Events.Tracks;
        }

        return events;
    }

    [Benchmark(Description = "Scale extractor")]
    public int Scale()
    {
        var instruments = 0;
        foreach (var file in _files)
        {
            instruments += _extractor.Extract(file).Instruments.Count;
        }

        return instruments;
    }

    private static bool NAudioParses(byte[] file)
    {
        try
        {
            using var stream = new MemoryStream(file, writable: false);
            _ = new MidiFile(stream, strictChecking: false);
            return true;
        }
#pragma warning disable CA1031 // NAudio throws many exception types for damaged files; any of them means "does not parse".
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new ThroughputColumn());
    }

    private sealed class ThroughputColumn : IColumn
    {
        public string Id => "MBps";
        public string ColumnName => "MB/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Megabytes (10^6) of MIDI read per second";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var report = summary[benchmarkCase];
            var mean = report?.ResultStatistics?.Mean;
            return mean is > 0 ? (BytesPerInvocation.Value / 1e6 / (mean.Value / 1e9)).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) : "?";
        }

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;
    }
}
