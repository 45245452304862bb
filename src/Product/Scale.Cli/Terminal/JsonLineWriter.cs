using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Scale.Cli.Terminal;

/// <summary>
/// A console stream for log collectors: every line written becomes one JSON object
/// ({"timestamp","level","category","message"}), the same shape as scale serve's JSON logs. The batch commands
/// swap it in for standard output (level info) and standard error (level error) with --log-format json, so
/// their progress lines, summaries and errors all arrive as JSON lines.
/// </summary>
internal sealed class JsonLineWriter(TextWriter inner, string category, string level, TimeProvider? time = null) : TextWriter
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly StringBuilder _line = new();
    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        lock (_gate)
        {
            if (value == '\n')
            {
                EmitLocked();
            }
            else if (value != '\r')
            {
                _line.Append(value);
            }
        }
    }

    public override void Write(string? value)
    {
        if (value is null)
        {
            return;
        }

        lock (_gate)
        {
            foreach (var c in value)
            {
                if (c == '\n')
                {
                    EmitLocked();
                }
                else if (c != '\r')
                {
                    _line.Append(c);
                }
            }
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_gate)
        {
            Write(value);
            EmitLocked();
        }
    }

    public override Task WriteLineAsync(string? value)
    {
        WriteLine(value);
        return Task.CompletedTask;
    }

    public override Task WriteAsync(string? value)
    {
        Write(value);
        return Task.CompletedTask;
    }

    public override void Flush()
    {
        lock (_gate)
        {
            if (_line.Length > 0)
            {
                EmitLocked();
            }

            inner.Flush();
        }
    }

    /// <summary>Writes one event with structured fields besides the message (progress: done, total, rate ...).</summary>
    public void WriteEvent(string message, IEnumerable<KeyValuePair<string, object?>> fields)
    {
        lock (_gate)
        {
            inner.Write(Format(message, fields));
            inner.Write('\n');
            inner.Flush();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Flush();
        }

        base.Dispose(disposing);
    }

    private void EmitLocked()
    {
        var message = _line.ToString();
        _line.Clear();
        // Blank lines separate paragraphs on a terminal; in a log they are noise.
        if (message.Trim().Length == 0)
        {
            return;
        }

        inner.Write(Format(message.TrimEnd(), []));
        inner.Write('\n');
        inner.Flush();
    }

    private string Format(string message, IEnumerable<KeyValuePair<string, object?>> fields)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", _time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("level", level);
            json.WriteString("category", category);
            json.WriteString("message", message);
            foreach (var (name, value) in fields)
            {
                switch (value)
                {
                    case null:
                        json.WriteNull(name);
                        break;
                    case long or int:
                        json.WriteNumber(name, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                        break;
                    case double d when double.IsFinite(d):
                        json.WriteNumber(name, Math.Round(d, 3));
                        break;
                    default:
                        json.WriteString(name, Convert.ToString(value, CultureInfo.InvariantCulture));
                        break;
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
