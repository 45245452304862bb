namespace Scale.Deploy.Tests;

/// <summary>
/// A fact that runs the terraform binary: reported as skipped, with the reason, on a machine without it. Only the
/// checks that need Terraform itself use it; the others read the parsed files and run anywhere.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TerraformFactAttribute : FactAttribute
{
    public TerraformFactAttribute()
    {
        if (TerraformBinary.Path is null)
        {
            Skip = "terraform is not installed (not on PATH), so this check, which runs it, is skipped; the other Terraform tests do not need it.";
        }
    }
}

/// <summary>Where the terraform binary is, if anywhere on PATH.</summary>
public static class TerraformBinary
{
    public static string? Path { get; } =
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(System.IO.Path.PathSeparator)
            .Where(directory => directory.Length > 0)
            .Select(directory => System.IO.Path.Join(directory, "terraform"))
            .FirstOrDefault(File.Exists);
}
