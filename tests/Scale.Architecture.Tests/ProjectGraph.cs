using System.Xml.Linq;

namespace Scale.Architecture.Tests;

/// <summary>A project file as the rules see it: its name, the projects it references by name, the packages it uses.</summary>
public sealed record ProjectFile(string Name, string Path, IReadOnlyList<string> References, IReadOnlyList<string> Packages);

/// <summary>
/// Every project under a folder, read from its .csproj with <see cref="XDocument"/> (not MSBuild: the rules need names
/// and edges only, and reading the XML keeps this test independent of the build it checks). Projects are known by
/// name, so the rules hold whichever folder a project sits in.
/// </summary>
public sealed class ProjectGraph
{
    private ProjectGraph(IReadOnlyDictionary<string, ProjectFile> projects) => Projects = projects;

    public IReadOnlyDictionary<string, ProjectFile> Projects { get; }

    public static ProjectGraph Read(string folder)
    {
        var projects = Directory.EnumerateFiles(folder, "*.csproj", SearchOption.AllDirectories)
            .Where(path => !path.Split(System.IO.Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Select(ReadProject)
            .ToDictionary(p => p.Name, StringComparer.Ordinal);
        return new ProjectGraph(projects);
    }

    /// <summary>Every project <paramref name="name"/> depends on, directly or through others, leaving out <paramref name="ignoredEdges"/>.</summary>
    public IReadOnlySet<string> Closure(string name, IReadOnlySet<(string From, string To)>? ignoredEdges = null)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([name]);
        while (pending.TryPop(out var current))
        {
            if (!Projects.TryGetValue(current, out var project))
            {
                continue;
            }

            foreach (var reference in project.References.Where(r => ignoredEdges?.Contains((current, r)) != true))
            {
                if (seen.Add(reference))
                {
                    pending.Push(reference);
                }
            }
        }

        return seen;
    }

    private static ProjectFile ReadProject(string path)
    {
        var document = XDocument.Load(path);
        var items = document.Descendants().Where(e => e.Name.LocalName is "ProjectReference" or "PackageReference").ToList();
        var references = items.Where(e => e.Name.LocalName == "ProjectReference")
            .Select(e => System.IO.Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value.Replace('\\', '/')))
            .ToList();
        var packages = items.Where(e => e.Name.LocalName == "PackageReference").Select(e => e.Attribute("Include")!.Value).ToList();
        return new ProjectFile(System.IO.Path.GetFileNameWithoutExtension(path), path, references, packages);
    }
}
