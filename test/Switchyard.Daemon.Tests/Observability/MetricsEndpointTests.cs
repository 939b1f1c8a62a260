using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Testing;

namespace Switchyard.Daemon.Tests.Observability;

/// <summary><c>GET /metrics</c> of a real daemon: where it is served, what it counts, and that
/// Prometheus' own checker accepts it.</summary>
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_are_served_on_the_socket_and_the_http_listener_as_text_0_0_4()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        using (var r = await d.Raw.GetAsync("metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", r.Content.Headers.ContentType!.ToString());
            var text = await r.Content.ReadAsStringAsync();
            Assert.Contains("# TYPE switchyard_networks gauge\n", text);
            Assert.Matches(new Regex("^switchyard_build_info\\{version=\"\\d+\\.\\d+\\.\\d+\",runtime=\"[^\"]+\"\\} 1$", RegexOptions.Multiline), text);
        }
        using var http = d.CreateHttpClient();
        using (var r = await http.GetAsync("metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.StartsWith("text/plain", r.Content.Headers.ContentType!.MediaType);
            Assert.Contains("process_cpu_seconds_total ", await r.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Api_requests_are_counted_by_route_template_method_and_status()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        await d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "cnt", Subnet = "10.232.1.0/24", DnsUpstreams = ["none"] });
        await d.Client.GetNetworkAsync("cnt");
        await Assert.ThrowsAsync<SwitchyardApiException>(() => d.Client.GetNetworkAsync("nosuch"));
        using (await d.Raw.GetAsync("no/such/route")) { }
        using (var http = d.CreateHttpClient())
        using (await http.DeleteAsync("networks/cnt")) { }   // 405 on the read-only listener

        var text = await d.Raw.GetStringAsync("metrics");
        // The template, not the path: two different names count under one series.
        Assert.Contains("switchyard_api_requests_total{route=\"/networks/{name}\",method=\"GET\",status=\"200\"} 1\n", text);
        Assert.Contains("switchyard_api_requests_total{route=\"/networks/{name}\",method=\"GET\",status=\"404\"} 1\n", text);
        Assert.Contains("switchyard_api_requests_total{route=\"/networks\",method=\"POST\",status=\"201\"} 1\n", text);
        Assert.Contains("switchyard_api_requests_total{route=\"{*path}\",method=\"GET\",status=\"404\"} 1\n", text);
        Assert.Contains("switchyard_api_requests_total{route=\"/networks/{name}\",method=\"DELETE\",status=\"405\"} 1\n", text);
        Assert.DoesNotContain("nosuch", text);
        Assert.DoesNotContain("no/such", text);
    }

    [Fact]
    public async Task Promtool_accepts_the_output_of_a_daemon_with_a_network_an_endpoint_and_traffic()
    {
        await using var daemon = await TestDaemon.StartAsync(httpListen: true);
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "prom");
        const string mac = "52:54:00:4d:45:01";
        using var vm = await daemon.Client.AttachFdAsync(net.Name, "vm", mac: mac);
        using var socket = vm.ToSocket();

        // Traffic: an ARP request the gateway answers, a runt frame (malformed) and a frame from another MAC (spoofed).
        await socket.SendAsync(ArpRequest(mac, vm.Endpoint.Ipv4, net.Gateway), SocketFlags.None);
        Assert.True(await ReceivesArpReplyAsync(socket, net.Gateway), "the gateway answered the ARP request");
        await socket.SendAsync(new byte[10], SocketFlags.None);
        await socket.SendAsync(ArpRequest("52:54:00:4d:45:99", vm.Endpoint.Ipv4, net.Gateway), SocketFlags.None);

        using var http = new HttpClient { BaseAddress = new Uri($"http://{daemon.HttpListenAddress}/") };
        string text = "";
        await Eventually.UntilAsync(async () =>
        {
            text = await http.GetStringAsync("metrics");
            return Value(text, $"switchyard_endpoint_drops_total{{network=\"{net.Name}\",endpoint=\"vm\",transport=\"fd\",reason=\"spoofed-mac\"}}") >= 1;
        }, TimeSpan.FromSeconds(10), () => text);

        string labels = $"network=\"{net.Name}\",endpoint=\"vm\",transport=\"fd\"";
        Assert.True(Value(text, $"switchyard_endpoint_frames_total{{{labels},direction=\"in\"}}") >= 1, text);
        Assert.True(Value(text, $"switchyard_endpoint_frames_total{{{labels},direction=\"out\"}}") >= 1, text);
        Assert.True(Value(text, $"switchyard_endpoint_bytes_total{{{labels},direction=\"in\"}}") >= 60, text);
        Assert.True(Value(text, $"switchyard_endpoint_drops_total{{{labels},reason=\"malformed\"}}") >= 1, text);
        Assert.Equal(1, Value(text, $"switchyard_endpoint_up{{{labels}}}"));
        Assert.True(Value(text, "switchyard_networks") >= 1);
        Assert.True(Value(text, "switchyard_endpoints") >= 1);
        Assert.Equal(0, Value(text, $"switchyard_dhcp_leases_bound{{network=\"{net.Name}\"}}"));
        Assert.Equal(0, Value(text, $"switchyard_nat_flows{{network=\"{net.Name}\",proto=\"tcp\"}}"));
        // The gateway services' families of a nat network, there before anything happened (a rate of 0 is an answer).
        string n = $"network=\"{net.Name}\"";
        Assert.Equal(0, Value(text, $"switchyard_dhcp_messages_total{{{n},direction=\"received\",type=\"discover\"}}"));
        Assert.Equal(0, Value(text, $"switchyard_dhcp_messages_total{{{n},direction=\"sent\",type=\"ack\"}}"));
        Assert.Equal(0, Value(text, $"switchyard_dns_answers_total{{{n},source=\"forwarded\",rcode=\"SERVFAIL\"}}"));
        Assert.Equal(0, Value(text, $"switchyard_dns_forward_duration_seconds_bucket{{{n},le=\"0.001\"}}"));
        Assert.Equal(0, Value(text, $"switchyard_dns_forward_duration_seconds_bucket{{{n},le=\"+Inf\"}}"));
        Assert.Equal(0, Value(text, $"switchyard_dns_forward_duration_seconds_count{{{n}}}"));
        Assert.Equal(0, Value(text, $"switchyard_dns_upstream_failures_total{{{n}}}"));
        Assert.Equal(0, Value(text, $"switchyard_nat_flows_refused_total{{{n},proto=\"udp\"}}"));
        Assert.Equal(0, Value(text, $"switchyard_nat_bytes_total{{{n},direction=\"from_guests\"}}"));
        Assert.Equal(0, Value(text, $"switchyard_nat_published_connections_total{{{n}}}"));
        Assert.Contains("# TYPE switchyard_egress_decisions_total counter\n", text);

        var check = Promtool.CheckMetrics(text);
        Assert.True(check.ExitCode == 0 && check.StdOut.Trim().Length == 0 && check.StdErr.Trim().Length == 0,
            $"promtool check metrics exited {check.ExitCode}:\n{check.StdOut}{check.StdErr}");
    }

    /// <summary>The value of the one sample named exactly so (name and labels as written); NaN when absent.</summary>
    internal static double Value(string exposition, string series)
    {
        foreach (var line in exposition.Split('\n'))
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return double.NaN;
    }

    private static byte[] ArpRequest(string mac, string ip, string target)
    {
        var f = new byte[60];
        var m = Convert.FromHexString(mac.Replace(":", "", StringComparison.Ordinal));
        f.AsSpan(0, 6).Fill(0xFF);
        m.CopyTo(f, 6);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0806);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), 1);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 0x0800);
        f[18] = 6; f[19] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(20), 1);
        m.CopyTo(f, 22);
        IPAddress.Parse(ip).GetAddressBytes().CopyTo(f, 28);
        IPAddress.Parse(target).GetAddressBytes().CopyTo(f, 38);
        return f;
    }

    private static async Task<bool> ReceivesArpReplyAsync(Socket socket, string from)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new byte[2048];
        var ip = IPAddress.Parse(from).GetAddressBytes();
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n >= 42 && BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(12)) == 0x0806
                    && BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(20)) == 2 && buffer.AsSpan(28, 4).SequenceEqual(ip)) return true;
            }
        }
        catch (OperationCanceledException) { return false; }
    }
}
