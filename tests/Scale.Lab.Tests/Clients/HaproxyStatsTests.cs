using Scale.Lab.Haproxy;

namespace Scale.Lab.Tests.Clients;

/// <summary>HAProxy's <c>/stats;csv</c> as HAProxy 2.6 (Debian 12) serves it, parsed by its header.</summary>
public sealed class HaproxyStatsTests
{
    /// <summary>
    /// Recorded from a throwaway HAProxy 2.6.12 on 127.0.0.1: a stats frontend, frontend web, backend web (web-a1 up:
    /// it points at the stats frontend, which got 7 requests through web; web-b1 on a closed port, DOWN) and a tcp
    /// backend pg_primary (pg-a UP, pg-b disabled: MAINT). Every line ends with a comma, as HAProxy writes them.
    /// </summary>
    public const string RecordedCsv = """
        # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,
        stats,FRONTEND,,,3,3,9989,8,609,184401,0,0,0,,,,,OPEN,,,,,,,,,1,1,0,,,,0,8,0,8,,,,0,7,0,0,0,0,,8,8,8,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,8,8,8,8,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,3,1,8,8,676,184527,0,0,
        web,FRONTEND,,,0,1,9989,7,609,184408,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,7,0,7,,,,0,7,0,0,0,0,,7,7,7,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,7,7,7,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,7,7,588,184527,0,0,
        web,web-a1,0,0,0,1,,7,609,184408,,0,,0,0,0,0,UP,1,1,0,0,0,4,0,,1,3,1,,7,,2,7,,7,L4OK,,0,0,7,0,0,0,0,,,,7,0,0,,,,,0,,,0,0,0,0,,,,Layer4 check passed,,2,3,4,,,,,,http,,,,,,,,0,7,0,,,2,,0,0,0,0,0,2,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
        web,web-b1,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,4,4,,1,3,2,,0,,2,0,,0,L4CON,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,3,0,,,,,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
        web,BACKEND,0,0,0,1,999,7,609,184408,0,0,,0,0,0,0,UP,1,1,0,,0,4,0,,1,3,0,,7,,1,7,,7,,,,0,7,0,0,0,0,,,,7,0,0,0,0,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,http,,,,,,,,0,7,0,0,0,,,0,0,0,0,0,,,,,1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,0,7,7,184527,588,0,0,
        pg_primary,pg-a,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,4,0,,1,4,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,Layer4 check passed,,2,3,4,,,,,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
        pg_primary,pg-b,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,4,4,,1,4,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
        pg_primary,BACKEND,0,0,0,0,1,0,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,4,0,,1,4,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,,1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,

        """;

    [Fact]
    public void Parse_RecordedCsv_ServersOnlyWithStatusAndSessions()
    {
        var servers = HaproxyStats.Parse(RecordedCsv);

        HaproxyServer[] expected =
        [
            new("web", "web-a1", "UP", 7),
            new("web", "web-b1", "DOWN", 0),
            new("pg_primary", "pg-a", "UP", 0),
            new("pg_primary", "pg-b", "MAINT", 0),
        ];
        Assert.Equal(expected, servers);
        Assert.DoesNotContain(servers, s => s.Name is "FRONTEND" or "BACKEND");
    }

    [Fact]
    public void Parse_BckColumnOne_IsABackupServer()
    {
        // web-b1's line with its bck column (the 21st) set, as HAProxy writes it for a `backup` server.
        var lines = RecordedCsv.Split('\n');
        var bck = Array.IndexOf(lines[0].TrimStart('#', ' ').Split(','), "bck");
        var withBackup = string.Join('\n', lines.Select(l =>
        {
            var fields = l.Split(',');
            if (fields.Length > 1 && fields[1] == "web-b1")
            {
                fields[bck] = "1";
            }

            return string.Join(',', fields);
        }));

        var servers = HaproxyStats.Parse(withBackup);

        Assert.Equal(20, bck);
        Assert.True(servers.Single(s => s.Name == "web-b1").Backup);
        Assert.Equal(["web-b1"], servers.Where(s => s.Backup).Select(s => s.Name));
        Assert.Equal(LabLayout.InstanceOfServer("web-b1" + LabLayout.FallbackSuffix), LabLayout.InstanceOfServer("web-b1"));
        Assert.Equal("web-b1", LabLayout.InstanceOfServer("web-b1"));
    }

    [Fact]
    public void Parse_ColumnsReordered_SameServers()
    {
        // Every line's columns reversed (the header's too): the columns are found by name, not position.
        var lines = RecordedCsv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = "# " + string.Join(',', lines[0].TrimStart('#', ' ').Split(',').Reverse());
        var reversed = string.Join('\n', [header, .. lines.Skip(1).Select(l => string.Join(',', l.Split(',').Reverse()))]) + "\n";
        Assert.StartsWith("# ,h1_spliced_bytes_out,", reversed, StringComparison.Ordinal);

        Assert.Equal(HaproxyStats.Parse(RecordedCsv), HaproxyStats.Parse(reversed));
    }

    [Fact]
    public void Parse_OnlyTheFourColumnsInAnotherOrder_Parses()
    {
        const string Csv = """
            # status,stot,svname,pxname
            OPEN,12,FRONTEND,web
            UP,41,web-c1,web
            DOWN 1/2,3,web-c2,web
            UP,44,BACKEND,web

            """;

        Assert.Equal([new HaproxyServer("web", "web-c1", "UP", 41), new HaproxyServer("web", "web-c2", "DOWN 1/2", 3)], HaproxyStats.Parse(Csv));
    }

    [Fact]
    public void Parse_NoStotColumn_ThrowsFormatException()
    {
        // The recorded CSV with the stot column (the 8th) taken out of every line.
        var withoutStot = string.Join('\n', RecordedCsv.Split('\n').Select(l =>
        {
            var fields = l.Split(',').ToList();
            if (fields.Count > 7)
            {
                fields.RemoveAt(7);
            }

            return string.Join(',', fields);
        }));
        Assert.DoesNotContain(",stot,", withoutStot, StringComparison.Ordinal);

        var error = Assert.Throws<FormatException>(() => HaproxyStats.Parse(withoutStot));

        Assert.Contains("stot", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EmptyOrHeaderOnly_NoServers()
    {
        Assert.Empty(HaproxyStats.Parse(""));
        Assert.Empty(HaproxyStats.Parse(RecordedCsv.Split('\n')[0] + "\n"));
    }

    [Fact]
    public void Parse_ShortOrUnreadableLines_SkippedOrZero()
    {
        const string Csv = """
            # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,
            web,web-a1,0,0
            web,web-b1,0,0,0,0,,,0,0,,0,,0,0,0,0,UP,

            """;

        Assert.Equal([new HaproxyServer("web", "web-b1", "UP", 0)], HaproxyStats.Parse(Csv));
    }

    [Fact]
    public async Task ServersAsync_RealHttpServer_ReadsStatsCsv()
    {
        using var listener = new System.Net.HttpListener();
        var port = 0;
        for (var attempt = 0; port == 0; attempt++)
        {
            using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            probe.Start();
            var candidate = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            listener.Prefixes.Clear();
            listener.Prefixes.Add($"http://127.0.0.1:{candidate}/");
            try
            {
                listener.Start();
                port = candidate;
            }
            catch (System.Net.HttpListenerException) when (attempt < 5)
            {
            }
        }

        var serve = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            var path = context.Request.Url!.AbsolutePath;
            var body = System.Text.Encoding.UTF8.GetBytes(path == "/stats;csv" ? RecordedCsv : "not found");
            context.Response.StatusCode = path == "/stats;csv" ? 200 : 404;
            context.Response.ContentType = "text/plain";
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
            return path;
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        var servers = await new HaproxyStats(http, port).ServersAsync(CancellationToken.None);

        Assert.Equal("/stats;csv", await serve);
        Assert.Equal(4, servers.Count);
        Assert.Equal(7, servers.Single(s => s.Name == "web-a1").TotalSessions);
    }
}
