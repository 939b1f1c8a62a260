using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>IPv6 networks with real namespace guests: the guest kernel configures itself by SLAAC
/// from the gateway's router advertisements; then ping -6, dig AAAA, and NAT66 to an
/// <see cref="OutsideWorld"/> and to the host's ::1.</summary>
public sealed class Ipv6Tests
{
    private static readonly TimeSpan SlaacTimeout = TimeSpan.FromSeconds(20);

    /// <summary>EUI-64 addresses (the rule anti-spoofing enforces, docs/architecture.md), no
    /// temporary addresses, RAs accepted; then the link comes up and DHCP gives IPv4 as usual.</summary>
    internal static void StartWithSlaac(Guest guest)
    {
        foreach (var setting in new[] { "addr_gen_mode=0", "use_tempaddr=0", "accept_ra=1", "autoconf=1" })
            guest.Exec("sysctl", "-q", "-w", $"net.ipv6.conf.eth0.{setting}");
        guest.Namespace.Ip("link", "set", "eth0", "up");
        guest.Dhcp();
    }

    /// <summary>Waits until eth0 has <paramref name="address"/> and it finished duplicate address detection.</summary>
    internal static void WaitForAddress(Guest guest, string address)
    {
        var clock = Stopwatch.StartNew();
        string seen = "";
        while (clock.Elapsed < SlaacTimeout)
        {
            var doc = guest.Namespace.IpJson("-6", "addr", "show", "dev", "eth0");
            seen = doc.ToString();
            foreach (var link in doc.EnumerateArray())
                foreach (var info in link.GetProperty("addr_info").EnumerateArray())
                    if (info.GetProperty("local").GetString() == address && !info.TryGetProperty("tentative", out _)) return;
            Thread.Sleep(200);
        }
        Assert.Fail($"{guest.Name} has no usable {address} after {SlaacTimeout}: {seen}");
    }

    internal static string DefaultRoute6(Guest guest) => guest.Namespace.Ip("-6", "route", "show", "default").StdOut.Trim();

    [LinuxRootFact]
    public async Task Nat_network_slaac_ping_dig_and_nat66_to_the_outside()
    {
        using var outside = OutsideWorld.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "v6", customize: r => r with { Mode = "nat", Ipv6 = "auto" });
        Assert.NotNull(net.Ipv6Prefix);
        string gw = net.Ipv6Gateway!;
        using var a = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
        using var b = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        await Task.WhenAll(Task.Run(() => StartWithSlaac(a)), Task.Run(() => StartWithSlaac(b)));
        string slaacA = a.Endpoint.Ipv6![0], slaacB = b.Endpoint.Ipv6![0];
        Assert.True(new IPNetwork(IPAddress.Parse(net.Ipv6Prefix![..^3]), 64).Contains(IPAddress.Parse(slaacA)));
        WaitForAddress(a, slaacA);
        WaitForAddress(b, slaacB);
        Assert.Contains($"via {net.Ipv6GatewayLinkLocal}", DefaultRoute6(a));

        // The gateway and the peer answer ping -6.
        Assert.True(a.Ping(gw), "ping -6 gateway");
        Assert.True(a.Ping(slaacB), "ping -6 peer");
        Assert.True(b.Ping(slaacA), "ping -6 peer back");

        // DNS over IPv6: AAAA for the peer and the gateway, PTR in ip6.arpa, and A-only names have no AAAA error.
        Assert.Equal(slaacB, a.Dig("AAAA", $"beta.{net.Domain}", $"@{gw}", "+short"));
        Assert.Equal(gw, a.Dig("AAAA", $"gateway.{net.Domain}", $"@{gw}", "+short"));
        Assert.Equal(slaacB, a.Dig("+tcp", "AAAA", $"beta.{net.Domain}", $"@{gw}", "+short"));   // DNS over TCP on IPv6
        Assert.Equal($"beta.{net.Domain}.", a.Dig("-x", slaacB, $"@{gw}", "+short"));
        Assert.Contains("status: NXDOMAIN", a.Dig("AAAA", $"nobody.{net.Domain}", $"@{gw}"));

        // NAT66: HTTP, ping and UDP echo to the outside's IPv6 address through host sockets.
        var curl = a.TryExec(30_000, "curl", "-6", "-sS", "--max-time", "10", outside.Url6());
        Assert.True(curl.ExitCode == 0, curl.StdErr);
        Assert.Equal(outside.IndexPage, curl.StdOut);
        Assert.True(a.Ping(outside.Ipv6Address, count: 3), "ping -6 outside");
        var udp = a.TryExec(20_000, "sh", "-c", $"echo udp6-{net.Name} | socat -t 3 - UDP6:[{outside.Ipv6Address}]:{OutsideWorld.EchoPort}");
        Assert.Equal($"udp6-{net.Name}", udp.StdOut.Trim());

        // A prefix the host routes already (the outside's veth) is refused, like an overlapping IPv4 subnet.
        string routed = outside.Ipv6Address[..^1] + "/64";   // fd00:250:X::/64
        var conflict = await Assert.ThrowsAsync<SwitchyardApiException>(() => daemon.Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = TestDaemon.UniqueName("v6rt"), Subnet = $"10.{Random.Shared.Next(200, 256)}.{Random.Shared.Next(0, 256)}.0/24", DnsUpstreams = ["none"], Ipv6 = routed,
        }));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Contains("host's route", conflict.Message);
    }

    [LinuxRootFact]
    public async Task Nat_and_host_networks_reach_the_hosts_ipv6_loopback_through_the_gateway()
    {
        using var host = LoopbackHttpServer.StartIpv6();
        await using var daemon = await TestDaemon.StartAsync();
        foreach (var mode in new[] { "nat", "host" })
        {
            var net = await daemon.CreateNetworkAsync(["none"], prefix: "v6" + mode, customize: r => r with { Mode = mode, Ipv6 = "auto" });
            using var g = await Guest.AttachAsync(daemon.Client, net.Name, "guest");
            StartWithSlaac(g);
            WaitForAddress(g, g.Endpoint.Ipv6![0]);
            var curl = g.TryExec(30_000, "curl", "-6", "-sS", "--max-time", "10", $"http://[{net.Ipv6Gateway}]:{host.Port}/");
            Assert.True(curl.ExitCode == 0, $"{mode}: {curl.StdErr}");
            Assert.Equal(host.Body, curl.StdOut);
        }
    }

    [LinuxRootFact]
    public async Task Internal_network_with_ipv6_never_leaves_the_link()
    {
        using var outside = OutsideWorld.Start();
        using var host = LoopbackHttpServer.StartIpv6();
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "v6in", customize: r => r with { Mode = "internal", Ipv6 = "auto" });
        using var a = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
        using var b = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        await Task.WhenAll(Task.Run(() => StartWithSlaac(a)), Task.Run(() => StartWithSlaac(b)));
        WaitForAddress(a, a.Endpoint.Ipv6![0]);
        WaitForAddress(b, b.Endpoint.Ipv6![0]);

        // On the link everything works: the gateway, the peer, DNS.
        Assert.True(a.Ping(net.Ipv6Gateway!), "ping -6 gateway");
        Assert.True(a.Ping(b.Endpoint.Ipv6![0]), "ping -6 peer");
        Assert.Equal(b.Endpoint.Ipv6![0], a.Dig("AAAA", $"beta.{net.Domain}", $"@{net.Ipv6Gateway}", "+short"));

        // No default route (router lifetime 0), so the outside fails at once in the guest itself.
        Assert.Equal("", DefaultRoute6(a));
        var clock = Stopwatch.StartNew();
        var curl = a.TryExec(30_000, "curl", "-6", "-sS", "--max-time", "10", outside.Url6());
        Assert.NotEqual(0, curl.ExitCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}: {curl.StdErr}");

        // The gateway's own ports are not the host's ::1: refused at once.
        clock.Restart();
        curl = a.TryExec(30_000, "curl", "-6", "-sS", "--max-time", "10", $"http://[{net.Ipv6Gateway}]:{host.Port}/");
        Assert.NotEqual(0, curl.ExitCode);
        Assert.Contains("(7)", curl.StdErr);   // could not connect: the gateway reset the SYN
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(0, host.Accepted);

        // Anti-spoofing: an address in the prefix that is not the port's EUI-64 one (a stable-privacy or
        // hand-made one, or the peer's) gets nowhere, and the drops are counted.
        string prefix = net.Ipv6Prefix![..^5];   // "fdXX:XXXX:XXXX::/64" without "::/64"
        long before = (await a.RefreshAsync()).Counters!.Drops.GetValueOrDefault("spoofed-ip");
        a.Namespace.Ip("-6", "addr", "add", $"{prefix}::bad/64", "dev", "eth0", "nodad");
        Assert.True(a.PingGetsNoReply(b.Endpoint.Ipv6![0], count: 2, from: $"{prefix}::bad"), "ping -6 from a made-up address got through");
        Assert.True((await a.RefreshAsync()).Counters!.Drops.GetValueOrDefault("spoofed-ip") > before);
        a.Namespace.Ip("-6", "addr", "del", $"{prefix}::bad/64", "dev", "eth0");

        // Even with a route added by hand, the gateway routes nothing off the link.
        a.Namespace.Ip("-6", "route", "add", "default", "via", net.Ipv6GatewayLinkLocal!, "dev", "eth0");
        Assert.True(a.PingGetsNoReply(outside.Ipv6Address, count: 2), "ping -6 outside from an internal network");
    }

    [LinuxRootFact]
    public async Task Configure_makes_a_guest_use_the_eui64_addresses_anti_spoofing_allows()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "v6cf", customize: r => r with { Mode = "internal", Ipv6 = "auto" });
        using var ns = TestNamespace.Create("sy-it");
        // A namespace whose new interfaces would use random link-local and temporary addresses.
        ns.Exec("sysctl", "-q", "-w", "net.ipv6.conf.default.addr_gen_mode=3");
        ns.Exec("sysctl", "-q", "-w", "net.ipv6.conf.default.use_tempaddr=2");
        try
        {
            var ep = await daemon.Client.AttachEndpointAsync(net.Name, new EndpointAttachRequest
            {
                Name = "conf",
                Transport = new TransportSpec { Kind = "tap", Netns = ns.Name, Configure = true },
            });
            Assert.Equal("0", ns.Exec("sysctl", "-n", "net.ipv6.conf.eth0.addr_gen_mode").StdOut.Trim());
            Assert.Equal("0", ns.Exec("sysctl", "-n", "net.ipv6.conf.eth0.use_tempaddr").StdOut.Trim());
            var clock = Stopwatch.StartNew();
            Command.Result ping;
            do ping = Command.Run("ip", ["netns", "exec", ns.Name, "ping", "-c", "1", "-W", "1", net.Ipv6Gateway!], check: false, timeoutMs: 10_000);
            while (ping.ExitCode != 0 && clock.Elapsed < SlaacTimeout);
            Assert.True(ping.ExitCode == 0, ping.StdOut + ping.StdErr);
            Assert.Contains(ep.Ipv6![0], ns.Ip("-6", "addr", "show", "dev", "eth0").StdOut);
            Assert.Contains(ep.Ipv6![1], ns.Ip("-6", "addr", "show", "dev", "eth0").StdOut);
        }
        finally { await daemon.Client.DetachEndpointAsync(net.Name, "conf"); }
    }

    [LinuxRootFact]
    public async Task Ipv6_prefix_that_is_not_a_64_is_refused_by_cli_and_api_and_nothing_is_created()
    {
        await using var daemon = await TestDaemon.StartAsync();
        string name = TestDaemon.UniqueName("v6bad");
        var r = Command.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "yard.dll"), "--socket", daemon.SocketPath,
            "network", "create", name, "--ipv6", "fd00:1:2::/48", "--dns-upstream", "none"], check: false, timeoutMs: 30_000);
        Assert.Equal(1, r.ExitCode);
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith("yard: ", StringComparison.Ordinal) && lines[0].Contains("/64"), $"stderr: {r.StdErr}");
        var e = await Assert.ThrowsAsync<SwitchyardApiException>(() => daemon.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Ipv6 = "fd00::1/64" }));
        Assert.Equal(HttpStatusCode.BadRequest, e.StatusCode);
        Assert.DoesNotContain((await daemon.Client.ListNetworksAsync()).Select(n => n.Name), n => n == name);

        // A good one through the CLI: the prefix and gateway show in its JSON.
        var ok = Command.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "yard.dll"), "--socket", daemon.SocketPath,
            "network", "create", name, "--subnet", $"10.{Random.Shared.Next(200, 256)}.{Random.Shared.Next(0, 256)}.0/24", "--dns-upstream", "none", "--ipv6", "--format", "json"],
            check: false, timeoutMs: 30_000);
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        using var doc = JsonDocument.Parse(ok.StdOut);
        Assert.StartsWith("fd", doc.RootElement.GetProperty("ipv6Prefix").GetString());
        Assert.EndsWith("::1", doc.RootElement.GetProperty("ipv6Gateway").GetString());
    }
}
