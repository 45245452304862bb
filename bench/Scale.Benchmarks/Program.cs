using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Scale.Benchmarks.ExtractorBenchmarks).Assembly).Run(args);
