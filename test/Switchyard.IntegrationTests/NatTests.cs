using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// User-mode NAT with real peers (issue 5): a guest on a `nat` network reaches an <see cref="OutsideWorld"/> namespace
/// that only the host can route to, so every packet that arrives there went through a host socket the daemon opened.
/// The same probes pass from the host straight over the veth (<see cref="OutsideWorldTests"/>). Host loopback and
/// published ports need no outside world: the host's 127.0.0.1 is the peer. API names written before NAT landed are
/// in <see cref="NatApi"/>.
/// </summary>
public sealed class NatTests
{
    [LinuxRootFact]
    public async Task Curl_gets_the_outside_index_page()
    {
        await using var lan = await NatLan.StartAsync();
        var r = OutsideProbes.Http(lan.Run, lan.Outside.Url());
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(lan.Outside.IndexPage, r.StdOut);
    }

    [LinuxRootFact]
    public async Task A_200_MB_download_arrives_intact()
    {
        await using var lan = await NatLan.StartAsync();
        var r = OutsideProbes.DownloadSha256(lan.Run, lan.Outside.Url(OutsideWorld.BigFileName), seconds: 120);
        Assert.True(r.Ok, r.Error);
        Assert.Equal(OutsideWorld.BigFileSha256, r.Sha256);
    }

    [LinuxRootFact]
    public async Task Iperf3_both_directions_beat_100_Mbit()
    {
        await using var lan = await NatLan.StartAsync();
        var tx = OutsideProbes.Iperf(lan.Run, lan.Outside.Address, OutsideWorld.IperfPort, seconds: 3, reverse: false);
        Assert.True(tx.Error is null, $"guest -> outside: {tx.Error}");
        Assert.True(tx.BitsPerSecond > 100e6, $"guest -> outside: {tx.BitsPerSecond / 1e6:F0} Mbit/s");
        var rx = OutsideProbes.Iperf(lan.Run, lan.Outside.Address, OutsideWorld.IperfPort, seconds: 3, reverse: true);
        Assert.True(rx.Error is null, $"outside -> guest: {rx.Error}");
        Assert.True(rx.BitsPerSecond > 100e6, $"outside -> guest: {rx.BitsPerSecond / 1e6:F0} Mbit/s");
    }

    [LinuxRootFact]
    public async Task A_thousand_concurrent_connections_open_echo_and_close()
    {
        await using var lan = await NatLan.StartAsync();
        Assert.Equal("connected", OutsideProbes.TcpConnect(lan.Run, lan.Outside.Address, OutsideWorld.EchoPort).Result);
        var r = OutsideProbes.ConnectMany(lan.Run, lan.Outside.Address, OutsideWorld.EchoPort, count: 1000, seconds: 60);
        Assert.True(r.Connected == 1000, $"connected {r.Connected} of 1000: {r.Raw}");
        Assert.True(r.Echoed == 1000, $"echoed {r.Echoed} of 1000: {r.Raw}");
        // All closed again; a fresh one still works.
        Assert.Equal("connected", OutsideProbes.TcpConnect(lan.Run, lan.Outside.Address, OutsideWorld.EchoPort).Result);
    }

    [LinuxRootFact]
    public async Task A_refused_connection_arrives_as_a_reset_within_a_second()
    {
        await using var lan = await NatLan.StartAsync();
        var (result, elapsed) = OutsideProbes.TcpConnect(lan.Run, lan.Outside.Address, OutsideWorld.ClosedTcpPort, seconds: 10);
        Assert.Equal("refused", result);
        // The probe times the connect itself; a second on an idle machine, a few under load, never the 10 s wait.
        Assert.True(elapsed < Bounds.AtOnce, $"ECONNREFUSED after {elapsed.TotalMilliseconds:F0} ms");
    }

    [LinuxRootFact]
    public async Task Half_close_with_socat_still_gets_the_whole_reply()
    {
        await using var lan = await NatLan.StartAsync();
        string file = Path.GetTempFileName();
        try
        {
            var data = RandomNumberGenerator.GetBytes(4 << 20);
            File.WriteAllBytes(file, data);
            var r = OutsideProbes.HalfClose(lan.Run, lan.Outside.Address, OutsideWorld.ReplyAfterEofPort, file);
            Assert.True(r.Ok, r.Error);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), r.Sha256);
        }
        finally { File.Delete(file); }
    }

    [LinuxRootFact]
    public async Task Udp_echoes_and_a_closed_port_answers_port_unreachable()
    {
        await using var lan = await NatLan.StartAsync();
        Assert.Equal("echoed", OutsideProbes.UdpEcho(lan.Run, lan.Outside.Address, OutsideWorld.EchoPort));
        var (result, elapsed) = OutsideProbes.UdpClosed(lan.Run, lan.Outside.Address, OutsideWorld.ClosedUdpPort, seconds: 10);
        Assert.Equal("refused", result);
        Assert.True(elapsed < Bounds.AtOnce, $"port unreachable after {elapsed.TotalMilliseconds:F0} ms");
    }

    [LinuxRootFact]
    public async Task Ping_reaches_the_outside_address()
    {
        await using var lan = await NatLan.StartAsync();
        var (ok, output) = OutsideProbes.Ping(lan.Run, lan.Outside.Address, count: 3);
        Assert.True(ok, output);
    }

    [LinuxRootFact]
    public async Task New_connections_follow_a_host_route_change_without_a_restart()
    {
        await using var lan = await NatLan.StartAsync(paths: 2);
        var outside = lan.Outside;
        var second = outside.Paths[1];
        Assert.Equal(outside.Primary.HostInterface, outside.HostRouteInterface());
        var before = OutsideProbes.Http(lan.Run, outside.Url());
        Assert.True(before.ExitCode == 0, $"through path 1: {before.StdErr}");
        Assert.Equal(outside.IndexPage, before.StdOut);

        outside.RouteVia(second);
        outside.SetLinkUp(outside.Primary, false);
        Assert.Equal(second.HostInterface, outside.HostRouteInterface());

        var after = OutsideProbes.Http(lan.Run, outside.Url());
        Assert.True(after.ExitCode == 0, $"through path 2: {after.StdErr}");
        Assert.Equal(outside.IndexPage, after.StdOut);
        Assert.Equal("echoed", OutsideProbes.UdpEcho(lan.Run, outside.Address, OutsideWorld.EchoPort));
    }

    [LinuxRootFact]
    public async Task An_established_flow_whose_route_vanishes_is_reset_not_left_hanging()
    {
        await using var lan = await NatLan.StartAsync();
        var outside = lan.Outside;
        var ready = Path.Combine(Path.GetTempPath(), $"sy-ready-{Guid.NewGuid():N}");
        // Connects to the echo server, proves the flow works, says so, then waits on the socket.
        var script = $$"""
            import socket, sys
            s = socket.create_connection(("{{outside.Address}}", {{OutsideWorld.EchoPort}}), timeout=5)
            s.sendall(b"hi"); assert s.recv(2) == b"hi"
            open("{{ready}}", "w").close()
            s.settimeout(20)
            try:
                print("eof" if s.recv(1) == b"" else "data")
            except ConnectionResetError:
                print("reset")
            except socket.timeout:
                print("hung")
            """;
        try
        {
            var waiting = Task.Run(() => lan.Run(30_000, "python3", ["-c", script]));
            Assert.True(SpinWait.SpinUntil(() => File.Exists(ready), Bounds.Generous), "the flow did not come up");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            outside.SetLinkUp(outside.Primary, false);   // the only path: the host has no route to the outside now
            var result = await waiting;
            Assert.Equal("reset", result.StdOut.Trim());
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"reset after {sw.Elapsed}");
        }
        finally { File.Delete(ready); }
    }

    [LinuxRootFact]
    public async Task Host_loopback_answers_at_the_gateway_address_and_host_name()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "hlb", customize: r => r with { Mode = "nat" });
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "inside");
        guest.Dhcp();
        using var server = LoopbackHttpServer.Start();

        var r = OutsideProbes.Http(guest.TryExec, $"http://{net.Gateway}:{server.Port}/");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(server.Body, r.StdOut);
        Assert.Equal(net.Gateway, guest.Dig($"@{net.Gateway}", NatApi.HostName(net), "+short"));
    }

    [LinuxRootFact]
    public async Task Without_host_loopback_the_gateway_refuses_fast()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "nohlb", customize: r => NatApi.WithoutHostLoopback(r with { Mode = "nat" }));
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "inside");
        guest.Dhcp();
        using var server = LoopbackHttpServer.Start(); // something listens: a refusal is the network's doing

        var (result, elapsed) = OutsideProbes.TcpConnect(guest.TryExec, net.Gateway, server.Port, seconds: 10);
        Assert.Equal("refused", result);
        Assert.True(elapsed < Bounds.AtOnce, $"refused after {elapsed.TotalMilliseconds:F0} ms");
        Assert.Equal(0, server.Accepted);
    }

    [LinuxRootFact]
    public async Task A_published_port_reaches_nginx_in_the_guest_before_and_after_a_daemon_restart()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "pub", customize: r => r with { Mode = "nat" });
        int hostPort = FreeLoopbackTcpPort();
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "web",
            customize: r => NatApi.WithPublished(r, NatApi.TcpOnLoopback(hostPort, 80)));
        guest.Dhcp();
        var www = Directory.CreateTempSubdirectory("sy-pub-");
        try
        {
            string page = $"published {Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}\n";
            File.WriteAllText(Path.Combine(www.FullName, "index.html"), page);
            using var nginx = NginxServer.Start(guest.Namespace, www.FullName, 80);
            string url = $"http://127.0.0.1:{hostPort}/";

            var before = HostCurlUntilOk(url, TimeSpan.FromSeconds(10));
            Assert.True(before.ExitCode == 0, $"before restart: {before.StdErr}");
            Assert.Equal(page, before.StdOut);

            await daemon.RestartAsync();
            var after = HostCurlUntilOk(url, TimeSpan.FromSeconds(15));
            Assert.True(after.ExitCode == 0, $"after restart: {after.StdErr}");
            Assert.Equal(page, after.StdOut);
        }
        finally { www.Delete(recursive: true); }
    }

    /// <summary>curl from the host, again every 200 ms until it succeeds or <paramref name="within"/> passed.</summary>
    private static Command.Result HostCurlUntilOk(string url, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var r = OutsideProbes.Http(OutsideProbes.OnHost, url, seconds: 5);
            if (r.ExitCode == 0 || clock.Elapsed > within) return r;
            Thread.Sleep(200);
        }
    }

    private static int FreeLoopbackTcpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}
