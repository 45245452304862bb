using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace Scale.Web.Pages;

/// <summary>
/// Builds a page as text. Everything that comes from data goes through <see cref="Text(string?)"/> or
/// <see cref="Attribute"/> (HTML-encoded); <see cref="Raw"/> is for the page's own markup only.
/// </summary>
internal sealed class Html
{
    /// <summary>Encodes what HTML needs (&lt; &gt; &amp; quotes) and leaves other letters readable.</summary>
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    private readonly StringBuilder _text = new(16 * 1024);

    public Html Raw(string markup)
    {
        _text.Append(markup);
        return this;
    }

    public Html Text(string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            _text.Append(Encoder.Encode(text));
        }

        return this;
    }

    public Html Text(long number) => Raw(number.ToString("N0", CultureInfo.InvariantCulture));

    /// <summary>A number with a fixed count of decimals.</summary>
    public Html Text(double number, int decimals) => Raw(number.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));

    /// <summary>` name="value"`, the value encoded.</summary>
    public Html Attribute(string name, string value)
    {
        _text.Append(' ').Append(name).Append("=\"").Append(Encoder.Encode(value)).Append('"');
        return this;
    }

    /// <summary>An element with encoded text content and optional class: &lt;tag class="..."&gt;text&lt;/tag&gt;.</summary>
    public Html Element(string tag, string? text, string? cssClass = null)
    {
        _text.Append('<').Append(tag);
        if (cssClass is not null)
        {
            Attribute("class", cssClass);
        }

        _text.Append('>');
        Text(text);
        _text.Append("</").Append(tag).Append('>');
        return this;
    }

    /// <summary>&lt;a href="..."&gt;text&lt;/a&gt;, both encoded.</summary>
    public Html Link(string href, string text, string? cssClass = null)
    {
        _text.Append("<a");
        Attribute("href", href);
        if (cssClass is not null)
        {
            Attribute("class", cssClass);
        }

        _text.Append('>');
        Text(text);
        _text.Append("</a>");
        return this;
    }

    public override string ToString() => _text.ToString();
}

/// <summary>An HTML response: UTF-8, a status code, not cached (the data can change with every run).</summary>
internal sealed class HtmlResult(string html, int statusCode = StatusCodes.Status200OK) : IResult
{
    public int StatusCode => statusCode;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        return response.WriteAsync(html, Encoding.UTF8, httpContext.RequestAborted);
    }
}
