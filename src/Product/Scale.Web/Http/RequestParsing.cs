using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Scale.Midi;
using Scale.Web.Catalog;

namespace Scale.Web.Http;

/// <summary>
/// Checks of what clients send, shared by the pages and the API: each Try method gives the value or a message for
/// people that names the parameter and what it accepts (shown in a 400 problem or page).
/// </summary>
internal static class RequestParsing
{
    public const int DefaultPageSize = 50;

    /// <summary>Larger requests get this many rows: every page stays cheap to build and to send.</summary>
    public const int MaxPageSize = 200;

    /// <summary>Pages beyond this are refused rather than computed (offsets stay well inside int).</summary>
    public const int MaxPage = 1_000_000;

    public const int MaxNameFilterLength = 200;

    /// <summary>A song id is an MD5: 32 hexadecimal digits. Upper case is accepted and lowered.</summary>
    public static bool TryParseSongId(string? text, out string id, out string error)
    {
        id = string.Empty;
        error = "A song id is 32 hexadecimal digits (the MD5 of its file).";
        if (text is not { Length: 32 } || !text.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        id = text.ToLowerInvariant();
        return true;
    }

    /// <summary>An instrument code 0-128 in plain digits.</summary>
    public static bool TryParseInstrumentCode(string? text, out int code)
    {
        code = -1;
        return text is { Length: > 0 and <= 3 } && text.All(char.IsAsciiDigit)
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out code)
            && code < GeneralMidi.InstrumentCount;
    }

    /// <summary>Every <c>instrument</c> value (repeated, or comma-separated) as one set.</summary>
    public static bool TryParseInstruments(StringValues values, out InstrumentSet set, out string error)
    {
        set = InstrumentSet.Empty;
        error = string.Empty;
        foreach (var value in values)
        {
            foreach (var part in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!TryParseInstrumentCode(part, out var code))
                {
                    error = $"instrument must be a General MIDI program 0-127 or 128 for the drum kit; got '{Shorten(part)}'.";
                    return false;
                }

                set = set.Add(code);
            }
        }

        return true;
    }

    public static bool TryParsePage(StringValues values, out int page, out string error) =>
        TryParseBounded(values, "page", 1, 1, MaxPage, out page, out error);

    /// <summary>A page size 1 or more; above <see cref="MaxPageSize"/> it is capped, not refused.</summary>
    public static bool TryParsePageSize(StringValues values, int fallback, out int pageSize, out string error)
    {
        if (!TryParseBounded(values, "pageSize", fallback, 1, int.MaxValue, out pageSize, out error))
        {
            return false;
        }

        pageSize = Math.Min(pageSize, MaxPageSize);
        return true;
    }

    public static bool TryParseSort(StringValues values, out SongSort sort, out string error)
    {
        error = string.Empty;
        if (values.Count > 1 || !SongSorts.TryParse(values.ToString(), out sort))
        {
            sort = SongSorts.Default;
            error = $"sort must be one of {string.Join(", ", SongSorts.Values)}; got '{Shorten(values.ToString())}'.";
            return false;
        }

        return true;
    }

    /// <summary>The name filter: trimmed, empty means none, at most <see cref="MaxNameFilterLength"/> characters.</summary>
    public static bool TryParseNameFilter(StringValues values, out string? nameContains, out string error)
    {
        error = string.Empty;
        nameContains = values.Count == 0 ? null : string.Join(' ', values.Where(v => v is not null)).Trim();
        if (nameContains is { Length: > MaxNameFilterLength })
        {
            error = $"q is at most {MaxNameFilterLength} characters.";
            nameContains = null;
            return false;
        }

        if (string.IsNullOrEmpty(nameContains))
        {
            nameContains = null;
        }

        return true;
    }

    /// <summary>Echoes of bad input stay short (they end up in responses and logs).</summary>
    public static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 40 ? text : text[..40] + "…";

    private static bool TryParseBounded(StringValues values, string name, int fallback, int min, int max, out int value, out string error)
    {
        error = string.Empty;
        value = fallback;
        if (values.Count == 0 || (values.Count == 1 && string.IsNullOrEmpty(values[0])))
        {
            return true;
        }

        var text = values.Count == 1 ? values[0] : null;
        if (text is null || text.Length > 10 || !text.All(char.IsAsciiDigit)
            || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) || value < min || value > max)
        {
            value = fallback;
            error = max == int.MaxValue
                ? $"{name} must be a whole number of at least {min}; got '{Shorten(values.ToString())}'."
                : $"{name} must be a whole number from {min} to {max}; got '{Shorten(values.ToString())}'.";
            return false;
        }

        return true;
    }
}

/// <summary>A checked song-list request (home page and <c>GET /api/songs</c>).</summary>
internal sealed record SongListRequest(InstrumentSet Instruments, string? NameContains, SongSort Sort, int Page, int PageSize)
{
    public int Offset => (Page - 1) * PageSize;

    public static bool TryParse(IQueryCollection query, out SongListRequest request, out string error) =>
        TryParse(query["instrument"], query["q"], query["sort"], query["page"], query["pageSize"], out request, out error);

    public static bool TryParse(
        StringValues instrument, StringValues q, StringValues sort, StringValues page, StringValues pageSize,
        out SongListRequest request, out string error)
    {
        request = new SongListRequest(InstrumentSet.Empty, null, SongSorts.Default, 1, RequestParsing.DefaultPageSize);
        if (!RequestParsing.TryParseInstruments(instrument, out var instruments, out error)
            || !RequestParsing.TryParseNameFilter(q, out var nameContains, out error)
            || !RequestParsing.TryParseSort(sort, out var songSort, out error)
            || !RequestParsing.TryParsePage(page, out var pageNumber, out error)
            || !RequestParsing.TryParsePageSize(pageSize, RequestParsing.DefaultPageSize, out var size, out error))
        {
            return false;
        }

        request = new SongListRequest(instruments, nameContains, songSort, pageNumber, size);
        return true;
    }
}
