using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Scale.Web.Logging;

/// <summary>
/// One flat JSON object per line, for log collectors (Fluent Bit, Vector, CloudWatch): timestamp (UTC, ISO 8601),
/// level, category, message, trace_id and span_id of the current activity, every structured property of the
/// message in snake_case (route, status, duration_ms ...), and the exception when there is one. ASP.NET Core's own
/// JSON formatter nests the trace id in a list of scopes, which collectors cannot index without extra rules.
/// </summary>
internal sealed class JsonLineFormatter() : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "scale-json";

    // Relaxed escaping: log lines are never embedded in HTML, and "Ctrl+C" reads better than "Ctrl\u002BC".
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("level", LevelName(logEntry.LogLevel));
            json.WriteString("category", logEntry.Category);
            json.WriteString("message", message ?? string.Empty);
            if (logEntry.EventId.Id != 0)
            {
                json.WriteNumber("event_id", logEntry.EventId.Id);
            }

            var activity = Activity.Current;
            if (activity is not null)
            {
                json.WriteString("trace_id", activity.TraceId.ToHexString());
                json.WriteString("span_id", activity.SpanId.ToHexString());
            }

            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> properties)
            {
                foreach (var (name, value) in properties)
                {
                    var key = SnakeCase(name);
                    if (name == "{OriginalFormat}" || key is "timestamp" or "level" or "category" or "message" || (activity is not null && key is "trace_id" or "span_id"))
                    {
                        continue;
                    }

                    json.WritePropertyName(key);
                    WriteValue(json, value);
                }
            }

            if (logEntry.Exception is { } exception)
            {
                json.WriteString("exception_type", exception.GetType().FullName);
                json.WriteString("exception", exception.ToString());
            }

            json.WriteEndObject();
        }

        textWriter.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        textWriter.Write('\n');
    }

    /// <summary>StatusCode → status_code, DurationMs → duration_ms, route → route.</summary>
    internal static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]))))
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case bool b:
                json.WriteBooleanValue(b);
                break;
            case int or long or short or byte or uint or ulong or ushort:
                json.WriteNumberValue(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case double d when double.IsFinite(d):
                json.WriteNumberValue(Math.Round(d, 3));
                break;
            case float f when float.IsFinite(f):
                json.WriteNumberValue(Math.Round(f, 3));
                break;
            case decimal m:
                json.WriteNumberValue(m);
                break;
            default:
                json.WriteStringValue(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warning",
        LogLevel.Error => "error",
        LogLevel.Critical => "critical",
        _ => "none",
    };
}

/// <summary>How the web app writes its logs.</summary>
public enum LogFormat
{
    /// <summary>Text on a terminal, JSON lines when standard output is redirected (a container, a file, a pipe).</summary>
    Auto,

    /// <summary>One human-readable line per event.</summary>
    Text,

    /// <summary>One JSON object per line (see docs/observability.md).</summary>
    Json,
}

/// <summary>Which completed requests get a log line.</summary>
public enum RequestLogMode
{
    /// <summary>Server errors (5xx) and slow requests only: at 500 requests/s a line per request costs more than the request.</summary>
    Errors,

    /// <summary>Every request (an access log).</summary>
    All,

    /// <summary>None.</summary>
    None,
}

/// <summary>Console logging for Scale's processes: the format, and the noise filters.</summary>
public static class ScaleLogging
{
    /// <summary>Parses --log-format / SCALE_LOG_FORMAT; null when the text is none of auto, text, json.</summary>
    public static LogFormat? ParseFormat(string? text) => text?.Trim().ToUpperInvariant() switch
    {
        null or "" or "AUTO" => LogFormat.Auto,
        "TEXT" => LogFormat.Text,
        "JSON" => LogFormat.Json,
        _ => null,
    };

    /// <summary>Parses --request-log / SCALE_REQUEST_LOG; null when the text is none of errors, all, none.</summary>
    public static RequestLogMode? ParseRequestLog(string? text) => text?.Trim().ToUpperInvariant() switch
    {
        null or "" or "ERRORS" => RequestLogMode.Errors,
        "ALL" => RequestLogMode.All,
        "NONE" => RequestLogMode.None,
        _ => null,
    };

    /// <summary>What <see cref="LogFormat.Auto"/> means for this process.</summary>
    public static LogFormat Resolve(LogFormat format) =>
        format != LogFormat.Auto ? format : Console.IsOutputRedirected ? LogFormat.Json : LogFormat.Text;

    /// <summary>Replaces the console providers with one in <paramref name="format"/>.</summary>
    public static ILoggingBuilder AddScaleConsole(this ILoggingBuilder logging, LogFormat format)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.ClearProviders();
        if (Resolve(format) == LogFormat.Json)
        {
            logging.AddConsole(console => console.FormatterName = JsonLineFormatter.FormatterName);
            logging.AddConsoleFormatter<JsonLineFormatter, ConsoleFormatterOptions>();
        }
        else
        {
            logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss ";
            });
        }

        return logging;
    }
}
