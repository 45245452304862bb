using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Scale.Testing;

/// <summary>
/// A real S3-compatible server for tests: the npm package s3rver on 127.0.0.1, on a free port, storing into a
/// temporary folder that is deleted afterwards. s3rver is installed once into the tools folder (SCALE_TOOLS_DIR,
/// else &lt;repo&gt;/.cache/tools); Node.js and npm must be there, and a missing one fails the tests loudly.
/// Use as an xunit class or collection fixture.
/// </summary>
public sealed class S3ServerFixture : IAsyncLifetime
{
    /// <summary>Credentials generated for this test process. s3rver ships one fixed key pair; a preload script
    /// (<see cref="CredentialsPreload"/>) revokes it and registers these instead, so no key is written in the
    /// repository and a client that fell back to s3rver's default would be refused.</summary>
    public static readonly string AccessKey = "AKIA" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    public static readonly string SecretKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(30));

    public const string Region = "us-east-1";

    public const string S3rverVersion = "3.7.1";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan InstallLockTimeout = TimeSpan.FromMinutes(10);

    private readonly StringBuilder _output = new();
    private Process? _process;
    private DirectoryInfo? _dataDirectory;
    private string? _preloadFile;
    private AmazonS3Client? _client;

    /// <summary>The server's URL, e.g. "http://127.0.0.1:41234".</summary>
    public string ServiceUrl { get; private set; } = string.Empty;

    /// <summary>A client owned by the fixture, for arranging buckets and objects.</summary>
    public IAmazonS3 Client => _client ?? throw new InvalidOperationException("The S3 server is not started.");

    public async Task InitializeAsync()
    {
        var toolsDirectory = ToolsDirectory();
        var script = await EnsureInstalledAsync(toolsDirectory).ConfigureAwait(false);
        _dataDirectory = Directory.CreateTempSubdirectory("scale-s3rver-");

        // The port is found by binding port 0 and letting it go, so another process can take it in between:
        // a start that fails is tried again on a new port.
        Exception? lastError = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var port = FreePort();
            try
            {
                await StartAsync(script, port).ConfigureAwait(false);
                ServiceUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
                _client = CreateClient();
                return;
            }
            catch (InvalidOperationException ex)
            {
                lastError = ex;
                StopProcess();
            }
        }

        throw new InvalidOperationException($"s3rver did not start: {lastError?.Message}", lastError);
    }

    public Task DisposeAsync()
    {
        _client?.Dispose();
        StopProcess();
        try
        {
            _dataDirectory?.Delete(recursive: true);
            if (_preloadFile is not null)
            {
                File.Delete(_preloadFile);
            }
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing a test run over.
        }

        return Task.CompletedTask;
    }

    /// <summary>A new client for the server (path-style, s3rver's credentials); the caller disposes it.</summary>
    public AmazonS3Client CreateClient(int maxErrorRetry = 2)
    {
        if (ServiceUrl.Length == 0)
        {
            throw new InvalidOperationException("The S3 server is not started.");
        }

        var config = new AmazonS3Config
        {
            ServiceURL = ServiceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = Region,
            MaxErrorRetry = maxErrorRetry,
            // s3rver predates the SDK's default trailing checksums and chunked uploads that carry them.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        return new AmazonS3Client(new BasicAWSCredentials(AccessKey, SecretKey), config);
    }

    public async Task CreateBucketAsync(string bucket, CancellationToken cancellationToken = default) =>
        await Client.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, cancellationToken).ConfigureAwait(false);

    public async Task PutObjectAsync(string bucket, string key, byte[] data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var content = new MemoryStream(data, writable: false);
        await Client.PutObjectAsync(
            new PutObjectRequest { BucketName = bucket, Key = key, InputStream = content, UseChunkEncoding = false },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>SCALE_TOOLS_DIR, else .cache/tools in the repository (the folder holding Scale.slnx).</summary>
    public static string ToolsDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("SCALE_TOOLS_DIR");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Join(directory.FullName, "Scale.slnx")))
            {
                return Path.Join(directory.FullName, ".cache", "tools");
            }
        }

        throw new InvalidOperationException(
            $"Cannot find the repository (a folder with Scale.slnx) above '{AppContext.BaseDirectory}'; set SCALE_TOOLS_DIR.");
    }

    private static async Task<string> EnsureInstalledAsync(string toolsDirectory)
    {
        var bin = Path.Join(toolsDirectory, "node_modules", ".bin", "s3rver");
        if (File.Exists(bin))
        {
            return bin;
        }

        Directory.CreateDirectory(toolsDirectory);
        // Test assemblies run in parallel processes; the lock makes one of them install and the others wait.
        using var installLock = await AcquireLockAsync(Path.Join(toolsDirectory, "s3rver-install.lock")).ConfigureAwait(false);
        if (File.Exists(bin))
        {
            return bin;
        }

        await RunToolAsync("node", ["--version"]).ConfigureAwait(false);
        await RunToolAsync("npm",
            ["install", "--prefix", toolsDirectory, "--no-audit", "--no-fund", "--loglevel=error", $"s3rver@{S3rverVersion}"])
            .ConfigureAwait(false);
        if (!File.Exists(bin))
        {
            throw new InvalidOperationException($"npm installed s3rver@{S3rverVersion} but '{bin}' is missing.");
        }

        return bin;
    }

    private static async Task<FileStream> AcquireLockAsync(string path)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (deadline.Elapsed < InstallLockTimeout)
            {
                await Task.Delay(200).ConfigureAwait(false);
            }
        }
    }

    private static async Task RunToolAsync(string fileName, IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException($"'{fileName}' did not start.");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"The S3 tests need Node.js and npm to run s3rver, and '{fileName}' was not found: apt-get install nodejs npm", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"'{fileName} {string.Join(' ', arguments)}' failed with exit code {process.ExitCode}:\n{await stdout.ConfigureAwait(false)}\n{await stderr.ConfigureAwait(false)}");
            }
        }
    }

    private async Task StartAsync(string script, int port)
    {
        var startInfo = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only has in its legacy
        // provider: without it every second page of a listing is a 500.
        _preloadFile = _dataDirectory!.FullName + "-credentials.cjs";
        await File.WriteAllTextAsync(_preloadFile, CredentialsPreload(script)).ConfigureAwait(false);
        startInfo.Environment["SCALE_S3RVER_ACCESS_KEY"] = AccessKey;
        startInfo.Environment["SCALE_S3RVER_SECRET_KEY"] = SecretKey;
        foreach (var argument in new[]
                 {
                     "--openssl-legacy-provider", "--require", _preloadFile, script, "--directory", _dataDirectory.FullName, "--address", "127.0.0.1",
                     "--port", port.ToString(CultureInfo.InvariantCulture), "--silent",
                 })
        {
            startInfo.ArgumentList.Add(argument);
        }

        try
        {
            _process = Process.Start(startInfo) ?? throw new InvalidOperationException("node did not start.");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException(
                "The S3 tests need Node.js to run s3rver, and 'node' was not found: apt-get install nodejs npm", ex);
        }

        _process.OutputDataReceived += (_, e) => Collect(e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"s3rver exited with code {_process.ExitCode} on port {port}: {CollectedOutput()}");
            }

            if (waited.Elapsed > StartTimeout)
            {
                throw new InvalidOperationException($"s3rver did not answer on port {port} within {StartTimeout}: {CollectedOutput()}");
            }

            using var probe = new TcpClient();
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Node preload for s3rver's bin script: its account model (the module the server itself loads, so the same
    /// instance) gets the generated key pair from the environment, and every key it had before is revoked.
    /// </summary>
    private static string CredentialsPreload(string script)
    {
        // script is <tools>/node_modules/.bin/s3rver; Node loads modules by their real path, so this is the same module.
        var account = Path.GetFullPath(Path.Join(Path.GetDirectoryName(script), "..", "s3rver", "lib", "models", "account.js"));
        return $$"""
            'use strict';
            const { DUMMY_ACCOUNT } = require({{System.Text.Json.JsonSerializer.Serialize(account)}});
            for (const id of [...DUMMY_ACCOUNT.accessKeys.keys()]) DUMMY_ACCOUNT.revokeAccessKey(id);
            DUMMY_ACCOUNT.createKeyPair(process.env.SCALE_S3RVER_ACCESS_KEY, process.env.SCALE_S3RVER_SECRET_KEY);
            """;
    }

    private void StopProcess()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }

        _process.Dispose();
        _process = null;
    }

    private void Collect(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            // Keep the start of the output: the first lines say why a server failed.
            if (_output.Length < 16_000)
            {
                _output.AppendLine(line);
            }
        }
    }

    private string CollectedOutput()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
