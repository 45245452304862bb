using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;

namespace Scale.Corpus.Naming;

/// <summary>
/// Song names from Lakh's md5_to_paths.json (<c>{ "&lt;md5&gt;": ["Artist/Song.mid", ...], ... }</c>): each md5
/// gets the name made from its FIRST path by <see cref="NameFromPath"/>.
/// </summary>
public sealed class SongNames
{
    private readonly Dictionary<string, string> _names;

    private SongNames(Dictionary<string, string> names) => _names = names;

    /// <summary>No names: every song falls back to its title or file name.</summary>
    public static SongNames Empty { get; } = new(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase));

    /// <summary>How many md5s have a name.</summary>
    public int Count => _names.Count;

    /// <summary>Loads a md5_to_paths.json file.</summary>
    /// <exception cref="InvalidDataException">The file is not such a map; the message has the path and position.</exception>
    public static async Task<SongNames> LoadAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        // Read whole, then parse: Utf8JsonReader cannot live across awaits, and the map (178k entries) is held
        // in memory afterwards anyway.
        var json = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        return Parse(json, Path.GetFullPath(path));
    }

    /// <summary>Parses md5_to_paths.json content; <paramref name="sourceName"/> names it in error messages.</summary>
    /// <exception cref="InvalidDataException">The content is not such a map.</exception>
    public static SongNames Parse(ReadOnlySpan<byte> utf8Json, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        var json = utf8Json.StartsWith("\uFEFF"u8) ? utf8Json[3..] : utf8Json;
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Malformed(sourceName, json, reader, "expected an object mapping md5 to a list of paths");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                // Any other token here is rejected by the reader itself (a value needs a property name).
                var md5 = reader.GetString()!;
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                {
                    throw Malformed(sourceName, json, reader, $"the value of \"{md5}\" is not a list of paths");
                }

                string? first = null;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Malformed(sourceName, json, reader, $"a path of \"{md5}\" is not a string");
                    }

                    first ??= reader.GetString();
                }

                if (!string.IsNullOrWhiteSpace(first))
                {
                    var name = NameFromPath(first);
                    if (name.Length > 0)
                    {
                        // The first occurrence wins, as a later duplicate key is almost certainly an accident.
                        names.TryAdd(md5, name);
                    }
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw Malformed(sourceName, json, reader, "the map does not end where the document does");
            }
        }
        catch (JsonException ex)
        {
            var line = (ex.LineNumber ?? 0) + 1;
            var column = (ex.BytePositionInLine ?? 0) + 1;
            throw new InvalidDataException(
                $"'{sourceName}' is not a valid md5_to_paths.json at line {line}, byte {column}: {ex.Message}", ex);
        }

        return new SongNames(names);
    }

    /// <summary>The name for <paramref name="md5"/> (any case), if the map has one.</summary>
    public bool TryGetName(string md5, [NotNullWhen(true)] out string? name)
    {
        ArgumentNullException.ThrowIfNull(md5);
        return _names.TryGetValue(md5, out name);
    }

    /// <summary>The name for <paramref name="md5"/>, or null.</summary>
    public string? NameOf(string md5) => TryGetName(md5, out var name) ? name : null;

    /// <summary>
    /// The name Lakh's path gives a song: the whole path with its last extension dropped, '_' and '-' turned into
    /// spaces, runs of spaces collapsed and the ends trimmed. "Beatles/Let_It-Be.mid" → "Beatles/Let It Be".
    /// </summary>
    public static string NameFromPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var span = path.AsSpan();
        var segment = span.LastIndexOfAny('/', '\\') + 1;
        var dot = span.LastIndexOf('.');
        // An extension is a dot after the segment's first character ("dir/.mid" stays whole) with no space after
        // it ("Mr. Jones" has none).
        if (dot > segment && !span[(dot + 1)..].ContainsAny(' ', '\t'))
        {
            span = span[..dot];
        }

        return Clean(span, replaceSeparators: true);
    }

    /// <summary>
    /// The name to show: the names map's, else the file's title (from its MIDI meta events), else the key's file
    /// name without extension, cleaned like a Lakh path. Blank candidates are passed over.
    /// </summary>
    public static string ChooseName(string? fromNames, string? title, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!string.IsNullOrWhiteSpace(fromNames))
        {
            var name = Clean(fromNames, replaceSeparators: false);
            if (name.Length > 0)
            {
                return name;
            }
        }

        if (!string.IsNullOrWhiteSpace(title))
        {
            // Titles come from the file itself and may carry control characters or padding.
            var name = Clean(title, replaceSeparators: false);
            if (name.Length > 0)
            {
                return name;
            }
        }

        var fileName = key[(key.TrimEnd('/').LastIndexOf('/') + 1)..].TrimEnd('/');
        var fromFile = NameFromPath(fileName);
        return fromFile.Length > 0 ? fromFile : key;
    }

    private static string Clean(ReadOnlySpan<char> text, bool replaceSeparators)
    {
        var builder = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            var isSpace = char.IsWhiteSpace(c) || char.IsControl(c) || (replaceSeparators && c is '_' or '-');
            if (isSpace)
            {
                pendingSpace = builder.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    private static InvalidDataException Malformed(string sourceName, ReadOnlySpan<byte> json, Utf8JsonReader reader, string problem)
    {
        var offset = (int)Math.Min(reader.TokenStartIndex, json.Length);
        var before = json[..offset];
        var line = before.Count((byte)'\n') + 1;
        var column = offset - (before.LastIndexOf((byte)'\n') + 1) + 1;
        return new InvalidDataException(
            $"'{sourceName}' is not a valid md5_to_paths.json at line {line}, byte {column}: {problem}.");
    }
}
