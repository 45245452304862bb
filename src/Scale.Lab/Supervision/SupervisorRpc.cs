using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;

namespace Scale.Lab.Supervision;

/// <summary>
/// supervisord's XML-RPC interface over its Unix socket (<c>POST /RPC2</c>, what supervisorctl itself talks), for the
/// calls the lab makes many times a second. A status through supervisorctl is a Python interpreter started each time:
/// 0.17 s of CPU, and the chaos runner asked four daemons every 500 ms while a zone booted (a core of the 2, at normal
/// priority). That was what slowed the service while a zone came back, not the zone: the survivors' p50 rose to
/// 50-166 ms for the 22 s of the boot, and the same outage and return made by hand, without the polling, left p50 at
/// 1 ms and p99 under 40 ms. An XML-RPC call costs well under a millisecond.
/// </summary>
public sealed class SupervisorRpc(string socketPath) : IDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    // supervisor.xmlrpc.Faults.ALREADY_STARTED
    private const string AlreadyStarted = "60";

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        // The host part is not used (the connection is the socket), but HTTP needs one.
        BaseAddress = new Uri("http://supervisord/"),
        Timeout = CallTimeout,
    };

    public string SocketPath => socketPath;

    /// <summary>Every program's state and pid (<c>supervisor.getAllProcessInfo</c>).</summary>
    /// <exception cref="SupervisorRpcException">The daemon did not answer, or answered with a fault or something else than XML-RPC.</exception>
    public async Task<IReadOnlyDictionary<string, ProgramState>> AllProcessInfoAsync(CancellationToken cancellationToken) =>
        ParseAllProcessInfo(await CallAsync("supervisor.getAllProcessInfo", cancellationToken));

    /// <summary>
    /// Starts a program (<c>supervisor.startProcess</c>). Without <paramref name="waitForStartSeconds"/> it returns once
    /// supervisord has forked it, so the caller knows which CPU group the program was born in; with it, once it has
    /// run for its <c>startsecs</c>. A program already running is not an error.
    /// </summary>
    /// <returns>false when it was already running.</returns>
    /// <exception cref="SupervisorRpcException">The daemon did not answer, or could not start it (no such program, spawn error ...).</exception>
    public async Task<bool> StartProcessAsync(string name, bool waitForStartSeconds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var answer = await CallAsync("supervisor.startProcess", cancellationToken, new XElement("string", name), new XElement("boolean", waitForStartSeconds ? 1 : 0));
        return ParseStartProcess(answer, name);
    }

    /// <summary>Reads a <c>supervisor.startProcess</c> answer: true, or the fault ALREADY_STARTED (60), or another fault.</summary>
    /// <exception cref="SupervisorRpcException">Any other fault, or not an XML-RPC answer.</exception>
    public static bool ParseStartProcess(string xml, string name)
    {
        ArgumentNullException.ThrowIfNull(xml);
        var document = Parse(xml);
        if (FaultOf(document) is var (code, text))
        {
            return code == AlreadyStarted ? false : throw new SupervisorRpcException($"supervisord could not start {name}: {text}");
        }

        return document.Root?.Element("params") is not null
            ? true
            : throw new SupervisorRpcException($"supervisord's answer to starting {name} has neither a result nor a fault");
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// Reads a <c>supervisor.getAllProcessInfo</c> answer: an array of structs with (among others) name, statename and
    /// pid (0 when the program is not running).
    /// </summary>
    /// <exception cref="SupervisorRpcException">A fault, or not an XML-RPC answer.</exception>
    public static IReadOnlyDictionary<string, ProgramState> ParseAllProcessInfo(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        var document = Parse(xml);
        if (FaultOf(document) is var (_, text))
        {
            throw new SupervisorRpcException($"supervisord answered a fault: {text}");
        }

        var array = document.Root?.Element("params")?.Element("param")?.Element("value")?.Element("array")?.Element("data")
            ?? throw new SupervisorRpcException("supervisord's answer has no array of processes");
        var result = new Dictionary<string, ProgramState>(StringComparer.Ordinal);
        foreach (var process in array.Elements("value").Select(v => v.Element("struct")))
        {
            var members = Members(process);
            if (members.GetValueOrDefault("name")?.Value is not { Length: > 0 } name || members.GetValueOrDefault("statename")?.Value is not { Length: > 0 } state)
            {
                throw new SupervisorRpcException("supervisord's answer has a process without name or statename");
            }

            int? pid = int.TryParse(members.GetValueOrDefault("pid")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed > 0 ? parsed : null;
            result[name] = new ProgramState(name, state, pid);
        }

        return result;
    }

    private static XDocument Parse(string xml)
    {
        try
        {
            return XDocument.Parse(xml);
        }
        catch (System.Xml.XmlException ex)
        {
            throw new SupervisorRpcException($"supervisord answered something else than XML-RPC: {ex.Message}");
        }
    }

    /// <summary>An XML-RPC fault's code and string (the whole fault's text when it has no faultString), or null.</summary>
    private static (string? Code, string Text)? FaultOf(XDocument document)
    {
        if (document.Root?.Element("fault") is not { } fault)
        {
            return null;
        }

        var members = Members(fault.Element("value")?.Element("struct"));
        return (members.GetValueOrDefault("faultCode")?.Value.Trim(), members.GetValueOrDefault("faultString")?.Value ?? fault.Value);
    }

    private static Dictionary<string, XElement> Members(XElement? structure) =>
        (structure?.Elements("member") ?? [])
            .Where(m => m.Element("name") is not null && m.Element("value") is not null)
            .ToDictionary(m => m.Element("name")!.Value, m => m.Element("value")!, StringComparer.Ordinal);

    private async Task<string> CallAsync(string method, CancellationToken cancellationToken, params XElement[] arguments)
    {
        var parameters = new XElement("params", arguments.Select(a => new XElement("param", new XElement("value", a))));
        var body = new XDocument(new XDeclaration("1.0", null, null), new XElement("methodCall", new XElement("methodName", method), parameters));
        using var content = new StringContent(body.Declaration + body.ToString(SaveOptions.DisableFormatting), Encoding.UTF8, "text/xml");
        try
        {
            using var response = await _http.PostAsync(new Uri("RPC2", UriKind.Relative), content, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new SupervisorRpcException($"supervisord at {socketPath} answered HTTP {(int)response.StatusCode}");
            }

            return await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SupervisorRpcException($"supervisord at {socketPath} did not answer: {ex.Message}");
        }
    }
}

/// <summary>supervisord did not answer its XML-RPC call, or answered a fault.</summary>
public sealed class SupervisorRpcException(string message) : Exception(message);
