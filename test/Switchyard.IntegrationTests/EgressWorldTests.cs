using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>The <see cref="EgressWorld"/> fixture itself, from the host (no daemon, no policy): the resolver answers,
/// every site answers by name over HTTP and TLS with the test CA, and nothing checks SNI or Host, so the blocked
/// site IS reachable at the allowed address. What a guest behind an egress policy cannot reach is then the policy's doing.</summary>
public sealed class EgressWorldTests
{
    private static readonly Runner Host = OutsideProbes.OnHost;

    private static string Dig(string server, string name, string type = "A") =>
        Command.Run("dig", [$"@{server}", name, type, "+time=2", "+tries=2"], check: false, timeoutMs: 15_000).StdOut;

    private static string DigShort(string server, string name, string type = "A") =>
        Command.Run("dig", [$"@{server}", name, type, "+short", "+time=2", "+tries=2"], check: false, timeoutMs: 15_000).StdOut.Trim();

    [LinuxRootFact]
    public void The_resolver_answers_every_name_and_nothing_else()
    {
        using var world = EgressWorld.Start();
        foreach (var (name, address) in world.Names)
            Assert.Equal(address, DigShort(world.DnsAddress, name));
        // dnsmasq listens on the allowed address too (the DNS-bypass tests need a resolver at a pinned address).
        Assert.Equal(world.AllowedAddress, DigShort(world.AllowedAddress, EgressWorld.AllowedName));
        Assert.Contains("status: NXDOMAIN", Dig(world.DnsAddress, EgressWorld.UnknownName));
        // No IPv6 address: NODATA, not REFUSED (glibc asks A and AAAA together).
        var aaaa = Dig(world.DnsAddress, EgressWorld.AllowedName, "AAAA");
        Assert.Contains("status: NOERROR", aaaa);
        Assert.Contains("ANSWER: 0", aaaa);
        // Never a forwarder: a name outside .example is refused, not looked up anywhere.
        Assert.Contains("status: REFUSED", Dig(world.DnsAddress, "example.com"));
    }

    [LinuxRootFact]
    public void Every_site_answers_by_name_and_nobody_checks_sni_or_host()
    {
        using var world = EgressWorld.Start();
        foreach (var (name, address) in world.Names)
        {
            foreach (bool tls in new[] { true, false })
            {
                int port = tls ? EgressWorld.HttpsPort : EgressWorld.HttpPort;
                var r = world.Curl(Host, world.Url(name, tls), "--resolve", $"{name}:{port}:{address}");
                Assert.True(r.Ok, $"{name} tls={tls}: {r}");
                Assert.Equal(world.Body(name), r.Body);
            }
        }

        // The blocked site at the allowed address, by SNI and by Host: the fixture does not stop it.
        var sni = world.Curl(Host, world.Url(EgressWorld.BlockedName), "--resolve", $"{EgressWorld.BlockedName}:443:{world.AllowedAddress}");
        Assert.True(sni.Ok, sni.ToString());
        Assert.Equal(world.Body(EgressWorld.BlockedName), sni.Body);
        var host = world.Curl(Host, $"http://{world.AllowedAddress}/", "-H", $"Host: {EgressWorld.BlockedName}");
        Assert.True(host.Ok, host.ToString());
        Assert.Equal(world.Body(EgressWorld.BlockedName), host.Body);

        // A bare address gets the default site; a TLS hello naming no site gets no certificate.
        var bare = world.Curl(Host, $"http://{world.UnnamedAddress}/");
        Assert.True(bare.Ok, bare.ToString());
        Assert.Equal(world.DefaultBody, bare.Body);
        Assert.False(world.Curl(Host, $"https://{world.UnnamedAddress}/", "-k").Ok);

        // The CA is what makes the certificates good: without it curl refuses (60: peer certificate not trusted).
        var untrusted = Command.Run("curl", ["-sS", "--max-time", "10", "--resolve", $"{EgressWorld.AllowedName}:443:{world.AllowedAddress}",
            world.Url(EgressWorld.AllowedName)], check: false, timeoutMs: 20_000);
        Assert.Equal(60, untrusted.ExitCode);
    }

    [LinuxRootFact]
    public void A_client_hello_in_one_byte_segments_is_answered_and_really_split()
    {
        using var world = EgressWorld.Start();
        // Count the 1-byte segments that reach the server: each send() must be its own segment.
        string filter = $"tcp dst port {EgressWorld.HttpsPort} and dst host {world.AllowedAddress} and (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) == 1";
        using var dump = world.Namespace.StartServer("timeout", "60", "tcpdump", "-i", world.Outside.Primary.NamespaceInterface, "-n", "-l", "--immediate-mode", "-c", "100", filter);
        Eventually.Until(() => dump.Output.Contains("listening on", StringComparison.Ordinal) || dump.HasExited, Bounds.Generous, () => $"tcpdump: {dump.Output}");

        var allowed = OutsideProbes.TlsHello(Host, world.AllowedAddress, EgressWorld.HttpsPort, EgressWorld.AllowedName);
        Assert.True(allowed.Result == "answered", allowed.Raw);
        Assert.True(allowed.HelloBytes > 200 && allowed.Sent == allowed.HelloBytes, allowed.Raw);

        // tcpdump exits at its 100th segment; `timeout 60` ends it if fewer came (then the assert below says so).
        Eventually.Until(() => dump.HasExited, TimeSpan.FromSeconds(70), () => $"tcpdump still runs: {dump.Output}");
        Assert.True(dump.HasExited && dump.ExitCode == 0, $"tcpdump saw fewer than 100 one-byte segments: {dump.Output}");

        // Nobody checks the SNI here: the blocked name's hello to the allowed address is answered too.
        var blocked = OutsideProbes.TlsHello(Host, world.AllowedAddress, EgressWorld.HttpsPort, EgressWorld.BlockedName);
        Assert.True(blocked.Result == "answered", blocked.Raw);
        // A name no site has: the default site refuses the handshake.
        var unknown = OutsideProbes.TlsHello(Host, world.AllowedAddress, EgressWorld.HttpsPort, EgressWorld.UnknownName, segment: 64, gapMs: 0);
        Assert.True(unknown.Result == "alert", unknown.Raw);
        var closed = OutsideProbes.TlsHello(Host, world.AllowedAddress, OutsideWorld.ClosedTcpPort, EgressWorld.AllowedName);
        Assert.True(closed.Result == "refused", closed.Raw);
    }

    [LinuxRootFact]
    public void Echo_servers_answer_on_every_address_and_on_the_quic_port()
    {
        using var world = EgressWorld.Start();
        foreach (var address in new[] { world.AllowedAddress, world.BlockedAddress, world.UnnamedAddress })
        {
            Assert.Equal("echoed", OutsideProbes.UdpEcho(Host, address, EgressWorld.EchoPort));
            Assert.Equal("connected", OutsideProbes.TcpConnect(Host, address, EgressWorld.EchoPort).Result);
        }
        Assert.Equal("echoed", OutsideProbes.UdpEcho(Host, world.AllowedAddress, EgressWorld.QuicPort));
        Assert.Equal("refused", OutsideProbes.UdpClosed(Host, world.BlockedAddress, OutsideWorld.ClosedUdpPort).Result);
    }

    /// <summary>IPv6: the ULA addresses, AAAA records and the sites over IPv6 (the fixture only; see EgressTests for the guest side).</summary>
    [LinuxRootFact]
    public void Ipv6_sites_and_records()
    {
        using var world = EgressWorld.Start(ipv6: true);
        Assert.Equal(world.AllowedAddress6, DigShort(world.DnsAddress, EgressWorld.AllowedName, "AAAA"));
        Assert.Equal(world.BlockedAddress6, DigShort(world.DnsAddress6, EgressWorld.BlockedName, "AAAA"));
        Assert.Equal(world.AllowedAddress, DigShort(world.DnsAddress6, EgressWorld.AllowedName));
        var r = world.Curl(Host, world.Url(EgressWorld.AllowedName), "-6", "--resolve", $"{EgressWorld.AllowedName}:443:[{world.AllowedAddress6}]");
        Assert.True(r.Ok, r.ToString());
        Assert.Equal(world.Body(EgressWorld.AllowedName), r.Body);
        var sni = world.Curl(Host, world.Url(EgressWorld.BlockedName), "-6", "--resolve", $"{EgressWorld.BlockedName}:443:[{world.AllowedAddress6}]");
        Assert.Equal(world.Body(EgressWorld.BlockedName), sni.Body);
        Assert.Equal("answered", OutsideProbes.TlsHello(Host, world.AllowedAddress6, EgressWorld.HttpsPort, EgressWorld.AllowedName).Result);
        Assert.Equal("echoed", OutsideProbes.UdpEcho(Host, world.BlockedAddress6, EgressWorld.QuicPort));
    }

    [LinuxRootFact]
    public void Dispose_removes_the_namespace_the_link_and_the_servers()
    {
        var world = EgressWorld.Start(ipv6: true);
        string ns = world.Namespace.Name;
        string link = world.Outside.Primary.HostInterface;
        var pids = Command.Run("ip", ["netns", "pids", ns]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        Assert.True(pids.Count >= 4, $"servers in {ns}: {string.Join(',', pids)}");

        world.Dispose();

        Assert.DoesNotContain(ns, Command.Run("ip", ["netns", "list"]).StdOut);
        Assert.NotEqual(0, Command.Run("ip", ["link", "show", link], check: false).ExitCode);
        foreach (var pid in pids) Assert.False(Directory.Exists($"/proc/{pid}"), $"pid {pid} still runs");
    }
}
