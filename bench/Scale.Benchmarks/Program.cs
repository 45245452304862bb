using BenchmarkDotNet.Running;
using Scale.Benchmarks;

// `similarity ...` is a timed comparison on a whole store (too long for BenchmarkDotNet's repetitions); anything
// else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "similarity")
{
    return SimilarityBench.Run(args);
}

BenchmarkSwitcher.FromAssembly(typeof(ExtractorBenchmarks).Assembly).Run(args);
return 0;
