using System.Globalization;
using System.Text;

namespace Scale.Synth;

/// <summary>An invented song: artist, title and the md5_to_paths.json paths it is listed under.</summary>
internal sealed record SongIdentity(string Artist, string Title, IReadOnlyList<string> Paths);

/// <summary>
/// Invents plausible artists, titles and scraped-collection paths. Paths use the separators real collections mix:
/// spaces, '_' and '-' ("Beatles/Let_It-Be.mid"), so Scale's path-to-name cleaning gets exercised.
/// </summary>
internal static class SongNaming
{
    private static readonly string[] FirstNames =
    [
        "Anna", "Ben", "Carla", "David", "Elena", "Frank", "Grace", "Hugo", "Iris", "Jack", "Karen", "Leo", "Maria",
        "Nick", "Olga", "Paul", "Rosa", "Sam", "Tina", "Victor", "Wendy", "Yusuf", "Zoe", "Marco", "Lucia", "Tom",
    ];

    private static readonly string[] LastNames =
    [
        "Adams", "Baker", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hill", "Ito", "Jensen", "Kovacs", "Lopez",
        "Miller", "Novak", "O'Brien", "Petrov", "Quinn", "Rossi", "Smith", "Tanaka", "Urban", "Vega", "Walsh", "Young",
    ];

    private static readonly string[] Adjectives =
    [
        "Silver", "Blue", "Electric", "Midnight", "Golden", "Broken", "Wild", "Velvet", "Crystal", "Lonely", "Neon",
        "Burning", "Silent", "Northern", "Crimson", "Sweet", "Little", "Lucky", "Rolling", "Red", "Hollow", "Cosmic",
    ];

    private static readonly string[] Nouns =
    [
        "Owls", "Riders", "Hearts", "Machines", "Wolves", "Kings", "Echoes", "Shadows", "Rivers", "Sparks", "Angels",
        "Strangers", "Dreamers", "Pilots", "Giants", "Roses", "Tigers", "Sailors", "Monkeys", "Lights", "Ghosts",
    ];

    private static readonly string[] TitleWords =
    [
        "Love", "Night", "Train", "Heart", "Rain", "Fire", "Dance", "Summer", "Road", "Dream", "Girl", "Boy", "Home",
        "Baby", "Time", "Light", "City", "Moon", "Sun", "Radio", "Money", "River", "Sky", "Stars", "Angel", "Rock",
        "Blues", "Heaven", "Tonight", "Forever", "Paradise", "Memories", "Party", "Highway", "Window", "Shadow",
    ];

    private static readonly string[] TitleTemplates =
    [
        "{a} {n}", "{w}", "{w} {w}", "The {w}", "My {w}", "{w} of {w}", "Don't Stop the {w}", "{w} Song",
        "I Want Your {w}", "{a} {w}", "Let It {w}", "{w} (Remix)", "{w} - Live", "All Night {w}", "{w} No. {d}",
        "Back to the {w}", "{w} in the {w}", "Say You {w} Me",
    ];

    private static readonly string[] Genres = ["rock", "pop", "dance", "country", "rnb", "jazz", "classic", "metal", "tv"];

    public static SongIdentity Create(SynthRandom rng, int index)
    {
        var artist = Artist(rng);
        var title = Title(rng);
        var count = rng.NextDouble() switch { < 0.82 => 1, < 0.97 => 2, _ => 3 };
        var paths = new string[count];
        paths[0] = PathFor(rng, artist, title, rng.Next(4), index);
        for (var i = 1; i < count; i++)
        {
            paths[i] = PathFor(rng, artist, title, 4 + rng.Next(4), index);
        }

        return new SongIdentity(artist, title, paths);
    }

    private static string Artist(SynthRandom rng) => rng.Next(5) switch
    {
        0 => rng.Pick<string>(FirstNames) + " " + rng.Pick<string>(LastNames),
        1 => "The " + rng.Pick<string>(Adjectives) + " " + rng.Pick<string>(Nouns),
        2 => rng.Pick<string>(Adjectives) + " " + rng.Pick<string>(Nouns),
        3 => rng.Pick<string>(LastNames) + " & the " + rng.Pick<string>(Nouns),
        _ => rng.Pick<string>(["DJ ", "MC ", "Lil ", "Big "]) + rng.Pick<string>(Adjectives),
    };

    private static string Title(SynthRandom rng)
    {
        var template = rng.Pick<string>(TitleTemplates);
        var builder = new StringBuilder(template.Length + 16);
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] == '{' && i + 2 < template.Length && template[i + 2] == '}')
            {
                builder.Append(template[i + 1] switch
                {
                    'a' => rng.Pick<string>(Adjectives),
                    'n' => rng.Pick<string>(Nouns),
                    'd' => (1 + rng.Next(9)).ToString(CultureInfo.InvariantCulture),
                    _ => rng.Pick<string>(TitleWords),
                });
                i += 2;
            }
            else
            {
                builder.Append(template[i]);
            }
        }

        return builder.ToString();
    }

    /// <summary>The styles scraped collections name files in; 0-3 for a first path, 4-7 for further ones.</summary>
    private static string PathFor(SynthRandom rng, string artist, string title, int style, int index) => style switch
    {
        0 => artist + "/" + title + ".mid",
        1 => Replace(artist, ' ', '_') + "/" + Replace(title, ' ', '_') + ".mid",
        2 => artist + "/" + Replace(title, ' ', '-') + ".mid",
        3 => char.ToUpperInvariant(artist[0]) + "/" + Replace(artist, ' ', '_') + "/" + Replace(title, ' ', '_') + ".mid",
        4 => Replace(artist, ' ', '_') + "/" + Replace(title, ' ', '_') + "_" + (2 + rng.Next(3)).ToString(CultureInfo.InvariantCulture) + ".mid",
        5 => "midi/" + rng.Pick<string>(Genres) + "/" + Replace(artist, ' ', '-').ToLowerInvariant() + "-" + Replace(title, ' ', '-').ToLowerInvariant() + ".mid",
        6 => rng.Pick<string>(Genres) + "/" + Replace(artist, ' ', '_') + "-" + Replace(title, ' ', '_') + ".mid",
        _ => "misc/" + Replace(title, ' ', '_') + "_" + index.ToString(CultureInfo.InvariantCulture) + ".mid",
    };

    private static string Replace(string text, char from, char to) => text.Replace(from, to);

    /// <summary>A copyright line in the styles seen in sequenced files.</summary>
    public static string Copyright(SynthRandom rng, string artist)
    {
        var year = (1985 + rng.Next(30)).ToString(CultureInfo.InvariantCulture);
        return rng.Next(3) switch
        {
            0 => "Copyright (c) " + year + " " + artist,
            1 => "(C) " + year + " by " + rng.Pick<string>(FirstNames) + " " + rng.Pick<string>(LastNames),
            _ => "Copyright " + year + " " + rng.Pick<string>(Adjectives) + " Music Ltd.",
        };
    }

    /// <summary>A text event of the "sequenced by" kind.</summary>
    public static string Credit(SynthRandom rng) => rng.Next(3) switch
    {
        0 => "Sequenced by " + rng.Pick<string>(FirstNames) + " " + rng.Pick<string>(LastNames),
        1 => "Generated by Scale.Synth",
        _ => "http://www." + rng.Pick<string>(Adjectives).ToLowerInvariant() + "-midi.com",
    };

    public static string Marker(SynthRandom rng) =>
        rng.Pick<string>(["Intro", "Verse", "Chorus", "Bridge", "Verse 2", "Solo", "Outro", "Pre-Chorus", "Break"]);

    public static string Syllable(SynthRandom rng) =>
        rng.Pick<string>(["la ", "love ", "you ", "oh ", "ba", "by ", "night ", "I ", "the ", "yeah ", "\r", "day "]);

    public static string Word(SynthRandom rng) => rng.Pick<string>(TitleWords);

    public static string Site(SynthRandom rng) => rng.Pick<string>(Adjectives).ToLowerInvariant() + rng.Pick<string>(["midi", "tunes", "karaoke", "music"]);
}
