using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// Issue 14 end to end: two daemons as two hosts (<see cref="TwoHosts"/>: host B's daemon in its own
/// network namespace, a veth as the underlay), one network spanning both over VXLAN, set up through the
/// CLI as docs/multi-host.md says: host A runs the gateway (nat, `--vxlan`), host B joins with
/// `--mode bridged:vxlan`. Real guests (namespaces on the daemons' TAPs, busybox udhcpc, ping, curl).
/// </summary>
public sealed class MultiHostTests
{
    /// <summary>A guest on host B leases from host A (the lease's server, MTU 1450 from the underlay's 1500),
    /// resolves and pings host A's guest by name and is resolved and pinged back by the name it sent in its
    /// DHCP request, fetches a page from the outside through host A's NAT and is held to host A's egress
    /// allowlist (the outside's HTTP port only).</summary>
    [LinuxRootFact]
    public async Task A_guest_on_host_B_leases_resolves_pings_and_goes_out_through_host_A()
    {
        using var outside = OutsideWorld.Start();
        await using var hosts = await TwoHosts.StartAsync();
        string net = TestDaemon.UniqueName("mh");
        hosts.CreateGatewayNetwork(net, "nat", "--dns-upstream", "none", "--egress", "deny", "--allow", $"{outside.Address}:{OutsideWorld.HttpPort}/tcp");
        hosts.CreateJoiningNetwork(net);
        var infoA = await hosts.A.Client.GetNetworkAsync(net);
        Assert.Equal(1450, infoA.Mtu);
        Assert.Equal("up", Vxlan.Of(hosts.CliA, net).State);
        Assert.Equal("up", Vxlan.Of(hosts.CliB, net).State);

        using var a1 = await Guest.AttachAsync(hosts.A.Client, net, "a1");
        a1.Dhcp();
        using var b1 = await Guest.AttachAsync(hosts.B.Client, net, "b1");
        var lease = b1.DhcpAs("bee");
        Assert.Equal(infoA.Gateway, lease.GetValueOrDefault("serverid"));
        Assert.Equal(infoA.Gateway, lease.GetValueOrDefault("router"));
        Assert.Equal("1450", lease.GetValueOrDefault("mtu"));
        string ipB = lease["ip"];
        Assert.True(System.Net.IPNetwork.Parse(infoA.Subnet).Contains(System.Net.IPAddress.Parse(ipB)), $"{ipB} is not in {infoA.Subnet}");
        Assert.NotEqual((await a1.RefreshAsync()).Ipv4, ipB);

        // Names both ways: host A's endpoint by its name, host B's guest by its DHCP host name (option 12).
        string domain = infoA.Domain!;
        Assert.Equal(a1.Endpoint.Ipv4, b1.Dig($"@{infoA.Gateway}", $"a1.{domain}", "+short"));
        Assert.Equal(ipB, a1.Dig($"@{infoA.Gateway}", $"bee.{domain}", "+short"));
        Assert.True(b1.Ping($"a1.{domain}"), "host B's guest cannot ping host A's guest by name");
        Assert.True(a1.Ping($"bee.{domain}"), "host A's guest cannot ping host B's guest by name");

        // Out through host A's NAT, within host A's allowlist; the rest refused at once, not timed out.
        var page = OutsideProbes.Http(b1.TryExec, outside.Url());
        Assert.True(page.ExitCode == 0, page.StdErr);
        Assert.Equal(outside.IndexPage, page.StdOut);
        var (echo, took) = OutsideProbes.TcpConnect(b1.TryExec, outside.Address, OutsideWorld.EchoPort);
        Assert.NotEqual("connected", echo);
        Assert.True(took < TimeSpan.FromSeconds(5), $"the refusal took {took.TotalSeconds:F1} s: {echo}");

        // Nothing of this was dropped by the tunnels.
        foreach (var v in new[] { Vxlan.Of(hosts.CliA, net), Vxlan.Of(hosts.CliB, net) })
            foreach (var reason in new[] { "not-a-peer", "wrong-vni", "malformed", "bad-flags", "too-big" })
                Assert.True(v.Dropped(reason) == 0, $"{reason}: {v}");
    }

    /// <summary>Host B's daemon restarts (SIGTERM, then the same state): its network comes back with the tunnel,
    /// its guest keeps its address and reaches host A's guest without a new DHCP exchange, and a new exchange
    /// gives it the same address again (host A remembers the lease).</summary>
    [LinuxRootFact]
    public async Task Host_B_restarts_and_its_guest_keeps_its_address()
    {
        await using var hosts = await TwoHosts.StartAsync();
        string net = TestDaemon.UniqueName("mh");
        hosts.CreateGatewayNetwork(net, "internal");
        hosts.CreateJoiningNetwork(net);
        using var a1 = await Guest.AttachAsync(hosts.A.Client, net, "a1");
        a1.Dhcp();
        using var b1 = await Guest.AttachAsync(hosts.B.Client, net, "b1");
        string ipB = b1.DhcpAs("bee")["ip"];
        Assert.True(a1.Ping(ipB), "no ping before the restart");

        await hosts.B.RestartAsync();

        Assert.Equal("up", Vxlan.Of(hosts.CliB, net).State);
        Assert.Equal(ipB, b1.Exec("ip", "-4", "-o", "addr", "show", "dev", "eth0").StdOut.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3].Split('/')[0]);
        // The restored snooped lease lets the guest send from its address at once (no DHCP in between).
        await Eventually.UntilAsync(() => b1.Ping(a1.Endpoint.Ipv4, count: 1), Bounds.Generous,
            () => $"host B's guest cannot reach host A's guest after the restart; host B: {hosts.B.Output}");
        Assert.True(a1.Ping(ipB), "host A's guest cannot reach host B's guest after the restart");
        var leases = hosts.CliB.Json("network", "leases", net, "--format", "json");
        Assert.Contains(leases.EnumerateArray(), l => l.GetRawText().Contains($"\"{ipB}\"", StringComparison.Ordinal));
        Assert.Equal(ipB, b1.DhcpAs("bee")["ip"]);
    }
}
