using System.Net;
using System.Text;
using System.Web;
using Scale.Cli.Tests.Infrastructure;
using Scale.Testing;

namespace Scale.Cli.Tests;

/// <summary>
/// How the batch pods on EKS read the corpus (IRSA): no keys, only AWS_ROLE_ARN and a web identity token file, which
/// the AWS SDK trades at STS for temporary credentials. Against the real S3-compatible server, with a small STS
/// stand-in on loopback (no STS runs here) that checks what it is sent and answers as STS does.
/// </summary>
public sealed class WebIdentityTests(S3ServerFixture server) : IClassFixture<S3ServerFixture>, IDisposable
{
    private const string RoleArn = "arn:aws:iam::123456789012:role/scale-batch";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Extract_WithOnlyAWebIdentityToken_GetsCredentialsFromSts_AndReadsTheBucket()
    {
        var folder = _dir.Combine("corpus");
        await Arrange.SynthAsync(_dir.Path, folder, 20, 3);
        var truth = SynthTruth.Load(folder);
        var bucket = "scale-irsa-" + Guid.NewGuid().ToString("N")[..12];
        await server.CreateBucketAsync(bucket);
        foreach (var row in truth.Rows)
        {
            await server.PutObjectAsync(bucket, $"lmd/{row.Path}", await File.ReadAllBytesAsync(Path.Join(folder, row.Path)));
        }

        var tokenFile = _dir.Combine("token");
        // A made-up token each run: the stand-in only checks it is passed on unchanged.
        var token = $"web-identity-{Guid.NewGuid():N}";
        await File.WriteAllTextAsync(tokenFile, token);
        using var sts = new StsStandIn(S3ServerFixture.AccessKey, S3ServerFixture.SecretKey);

        var run = await ScaleProcess.RunAsync(
            _dir.Path,
            ["run", "--source", $"s3://{bucket}/lmd", "--s3-endpoint", server.ServiceUrl, "--db", _dir.Combine("scale.db")],
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                // What EKS's pod identity webhook sets; no access key anywhere.
                ["AWS_ROLE_ARN"] = RoleArn,
                ["AWS_WEB_IDENTITY_TOKEN_FILE"] = tokenFile,
                ["AWS_REGION"] = S3ServerFixture.Region,
                ["AWS_ENDPOINT_URL_STS"] = sts.Url,
                ["AWS_ACCESS_KEY_ID"] = "",
                ["AWS_SECRET_ACCESS_KEY"] = "",
            });

        Assert.True(run.ExitCode == 0, run.ToString());
        var request = Assert.Single(sts.Requests, r => r["Action"] == "AssumeRoleWithWebIdentity");
        Assert.Equal(RoleArn, request["RoleArn"]);
        Assert.Equal(token, request["WebIdentityToken"]);
        using var db = ScaleDb.Open(_dir.Combine("scale.db"));
        Assert.Equal(truth.Rows.Count, db.LedgerKeys().Count);
    }

    /// <summary>Answers AssumeRoleWithWebIdentity (query protocol, XML) with fixed temporary credentials.</summary>
    private sealed class StsStandIn : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _serving;
        private readonly string _accessKey;
        private readonly string _secretKey;

        public StsStandIn(string accessKey, string secretKey)
        {
            _accessKey = accessKey;
            _secretKey = secretKey;
            Url = $"http://127.0.0.1:{Tools.FreePort()}/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public string Url { get; }

        public List<System.Collections.Specialized.NameValueCollection> Requests { get; } = [];

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var form = HttpUtility.ParseQueryString(await reader.ReadToEndAsync());
                lock (Requests)
                {
                    Requests.Add(form);
                }

                var body = Encoding.UTF8.GetBytes($"""
                    <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
                      <AssumeRoleWithWebIdentityResult>
                        <Credentials>
                          <AccessKeyId>{_accessKey}</AccessKeyId>
                          <SecretAccessKey>{_secretKey}</SecretAccessKey>
                          <SessionToken>{Guid.NewGuid():N}</SessionToken>
                          <Expiration>{DateTime.UtcNow.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}</Expiration>
                        </Credentials>
                        <AssumedRoleUser>
                          <Arn>arn:aws:sts::123456789012:assumed-role/scale-batch/session</Arn>
                          <AssumedRoleId>AROAEXAMPLE:session</AssumedRoleId>
                        </AssumedRoleUser>
                        <SubjectFromWebIdentityToken>system:serviceaccount:scale:scale-batch</SubjectFromWebIdentityToken>
                        <Audience>sts.amazonaws.com</Audience>
                      </AssumeRoleWithWebIdentityResult>
                      <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>
                    </AssumeRoleWithWebIdentityResponse>
                    """);
                context.Response.ContentType = "text/xml";
                context.Response.ContentLength64 = body.Length;
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        }
    }
}
