namespace Scale.Testing;

/// <summary>The checkout the tests run from: the folder above the test assembly that holds Scale.slnx.</summary>
public static class Checkout
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Join(directory.FullName, "Scale.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No folder with Scale.slnx above '{AppContext.BaseDirectory}'.");
    });

    public static string Root => RootPath.Value;
}
