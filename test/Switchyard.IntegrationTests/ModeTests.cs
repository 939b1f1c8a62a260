using System.Diagnostics;
using System.Net;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// What each mode lets a guest reach (issue 6), proven with real guests: an `internal` network is a LAN and nothing
/// else, a `host` network reaches the host's loopback but not the outside, and the sandbox shape (an agent on an
/// internal network, a sidecar on it and on a nat network) gives the sidecar the outside and the agent only the
/// sidecar. Every refusal must come fast: a guest that waits out a timeout looks broken, not isolated.
/// </summary>
public sealed class ModeTests
{
    // Refusals are timed by the probes themselves (or by dig), so starting a program on a loaded machine is not
    // counted; every probe's own wait is 10 s, far above this, so a refusal is never mistaken for a timeout.
    private static readonly TimeSpan Fast = Bounds.AtOnce;

    [LinuxRootFact]
    public async Task An_internal_network_is_a_lan_and_nothing_else()
    {
        using var outside = OutsideWorld.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "int", customize: r => r with { Mode = "internal" });
        Assert.Equal("internal", net.Mode);
        Assert.False(net.HostLoopback);
        using var a = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
        using var b = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        var lease = a.Dhcp();
        b.Dhcp();
        Assert.Equal((await a.RefreshAsync()).Ipv4, lease["ip"]);

        // The LAN works: the peer by name, through the gateway's DNS.
        var beta = (await b.RefreshAsync()).Ipv4;
        Assert.Equal(beta, a.Dig("beta", "+short", "+search"));
        Assert.True(a.Ping("beta"), "alpha cannot ping beta by name");

        using var server = LoopbackHttpServer.Start(); // something listens on the host: a refusal is the network's doing
        // The gateway's own ports (host loopback among them) are closed: a RST at once.
        foreach (int port in new[] { 80, server.Port })
        {
            var (result, elapsed) = OutsideProbes.TcpConnect(a.TryExec, net.Gateway, port);
            Assert.Equal("refused", result);
            Assert.True(elapsed < Fast, $"gateway:{port} refused after {elapsed.TotalMilliseconds:F0} ms");
        }
        Assert.Equal(0, server.Accepted);

        // The outside: TCP, UDP and ICMP are refused at once (ICMP administratively prohibited).
        var tcp = OutsideProbes.TcpConnect(a.TryExec, outside.Address, OutsideWorld.HttpPort);
        Assert.Equal("EHOSTUNREACH", tcp.Result);
        Assert.True(tcp.Elapsed < Fast, $"TCP refused after {tcp.Elapsed.TotalMilliseconds:F0} ms");
        var udp = OutsideProbes.UdpClosed(a.TryExec, outside.Address, OutsideWorld.EchoPort);
        Assert.Equal("EHOSTUNREACH", udp.Result);
        Assert.True(udp.Elapsed < Fast, $"UDP refused after {udp.Elapsed.TotalMilliseconds:F0} ms");
        var clock = Stopwatch.StartNew();
        var ping = a.TryExec(20_000, "ping", "-c", "1", "-W", "10", outside.Address); // 10 s: no reply at all is a timeout, far above Fast
        Assert.NotEqual(0, ping.ExitCode);
        Assert.True(clock.Elapsed < Fast, $"ping failed after {clock.Elapsed.TotalMilliseconds:F0} ms: {ping.StdOut}");

        // Names outside the network are refused, not forwarded and not left to time out.
        var dig = a.Dig($"@{net.Gateway}", "outside.example");
        Assert.Contains("status: REFUSED", dig);
        var answeredIn = DigOutput.QueryTime(dig); // dig's +time=2 +tries=2 would wait 4 s
        Assert.True(answeredIn < Fast, $"DNS answered after {answeredIn.TotalMilliseconds:F0} ms");
        Assert.Empty((await daemon.Client.GetNetworkAsync(net.Name)).EffectiveDnsUpstreams ?? []);
    }

    [LinuxRootFact]
    public async Task A_host_network_reaches_the_hosts_loopback_but_not_the_outside()
    {
        using var outside = OutsideWorld.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "hst", customize: r => r with { Mode = "host" });
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "inside");
        guest.Dhcp();
        using var server = LoopbackHttpServer.Start();

        var r = OutsideProbes.Http(guest.TryExec, $"http://{net.Gateway}:{server.Port}/");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(server.Body, r.StdOut);

        // The NAT refuses what its policy forbids: a RST for TCP, ICMP administratively prohibited for the rest.
        var tcp = OutsideProbes.TcpConnect(guest.TryExec, outside.Address, OutsideWorld.HttpPort);
        Assert.Equal("refused", tcp.Result);
        Assert.True(tcp.Elapsed < Fast, $"refused after {tcp.Elapsed.TotalMilliseconds:F0} ms");
        var udp = OutsideProbes.UdpClosed(guest.TryExec, outside.Address, OutsideWorld.EchoPort);
        Assert.Equal("EHOSTUNREACH", udp.Result);
        Assert.True(udp.Elapsed < Fast, $"UDP refused after {udp.Elapsed.TotalMilliseconds:F0} ms");
        Assert.False(OutsideProbes.Ping(guest.TryExec, outside.Address, count: 1).Ok);
    }

    /// <summary>The bot-bottle spike's shape: the agent's only network is internal; the sidecar is on that network
    /// and on a nat network, which gives it its default route.</summary>
    [LinuxRootFact]
    public async Task The_sandbox_agent_reaches_its_sidecar_and_only_the_sidecar_reaches_out()
    {
        using var outside = OutsideWorld.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var sandbox = await daemon.CreateNetworkAsync(["none"], prefix: "sandbox", customize: r => r with { Mode = "internal" });
        var egress = await daemon.CreateNetworkAsync(["none"], prefix: "default", customize: r => r with { Mode = "nat" });

        using var sidecar = await Guest.AttachAsync(daemon.Client, sandbox.Name, "sidecar");
        var second = await sidecar.AttachAlsoAsync(egress.Name, "sidecar", r => r with { DefaultRoute = true });
        Assert.Equal("eth1", second.Transport.Ifname);
        Assert.True(second.DefaultRoute);
        Assert.False((await sidecar.RefreshAsync()).DefaultRoute);
        var sandboxLease = sidecar.Dhcp("eth0");
        var egressLease = sidecar.Dhcp("eth1");
        Assert.False(sandboxLease.ContainsKey("router"), "the sandbox network must not give the sidecar a route");
        Assert.Equal(egress.Gateway, egressLease["router"]);

        using var agent = await Guest.AttachAsync(daemon.Client, sandbox.Name, "agent");
        agent.Dhcp();

        var www = Directory.CreateTempSubdirectory("sy-sidecar-");
        try
        {
            File.WriteAllText(Path.Combine(www.FullName, "index.html"), "sidecar\n");
            using var nginx = NginxServer.Start(sidecar.Namespace, www.FullName, 8080);
            // The agent finds the sidecar by name on the sandbox network and reaches its HTTP port.
            var sidecarIp = sandboxLease["ip"];
            Assert.Equal(sidecarIp, agent.Dig("sidecar", "+short", "+search"));
            var page = OutsideProbes.Http(agent.TryExec, $"http://sidecar.{sandbox.Domain}:8080/");
            Assert.True(page.ExitCode == 0, page.StdErr);
            Assert.Equal("sidecar\n", page.StdOut);
        }
        finally { www.Delete(recursive: true); }

        // The agent cannot reach the outside; the sidecar can, through the nat network.
        var blocked = OutsideProbes.TcpConnect(agent.TryExec, outside.Address, OutsideWorld.HttpPort);
        Assert.NotEqual("connected", blocked.Result);
        Assert.True(blocked.Elapsed < Fast, $"agent refused after {blocked.Elapsed.TotalMilliseconds:F0} ms");
        var ok = OutsideProbes.Http(sidecar.TryExec, outside.Url());
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        Assert.Equal(outside.IndexPage, ok.StdOut);
    }

    [LinuxRootFact]
    public async Task A_mode_change_is_refused_while_endpoints_are_attached_and_kept_across_a_restart()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "chg", customize: r => r with { Mode = "nat" });
        var guest = await Guest.AttachAsync(daemon.Client, net.Name, "inside");
        try
        {
            var e = await Assert.ThrowsAsync<SwitchyardApiException>(() => daemon.Client.UpdateNetworkAsync(net.Name, new NetworkUpdateRequest { Mode = "internal" }));
            Assert.Equal(HttpStatusCode.Conflict, e.StatusCode);
            Assert.Contains("detach them before changing its mode", e.Message);
            Assert.Equal("nat", (await daemon.Client.GetNetworkAsync(net.Name)).Mode);
        }
        finally { guest.Dispose(); }

        var bad = await Assert.ThrowsAsync<SwitchyardApiException>(() => daemon.Client.UpdateNetworkAsync(net.Name, new NetworkUpdateRequest { Mode = "interal" }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("unknown mode 'interal'", bad.Message);

        var updated = await daemon.Client.UpdateNetworkAsync(net.Name, new NetworkUpdateRequest { Mode = "internal" });
        Assert.Equal("internal", updated.Mode);
        Assert.Null(updated.Nat);
        await daemon.RestartAsync();
        Assert.Equal("internal", (await daemon.Client.GetNetworkAsync(net.Name)).Mode);

        // The rebuilt network serves guests in its new mode: DHCP, and no way out.
        using var again = await Guest.AttachAsync(daemon.Client, net.Name, "inside");
        again.Dhcp();
        using var server = LoopbackHttpServer.Start();
        Assert.Equal("refused", OutsideProbes.TcpConnect(again.TryExec, net.Gateway, server.Port).Result);
    }
}
