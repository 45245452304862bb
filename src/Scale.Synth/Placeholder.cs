namespace Scale.Synth;

/// <summary>Placeholder until the first type lands here.</summary>
internal static class Placeholder;
