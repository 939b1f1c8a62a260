using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>RA guard with real guest kernels (issue 16, finding 1): a guest sends router advertisements
/// for a rogue prefix, plain and behind extension headers (RFC 7113 §3); the other guest's kernel,
/// which does take the gateway's RAs, must install neither the rogue's default route nor its prefix.</summary>
public sealed class RaGuardTests
{
    /// <summary>Sends one RA (router lifetime 1800 s, prefix 2001:db8:bad::/64 with the A flag) from eth0's
    /// EUI-64 link-local address to ff02::1 for each chain in argv: "", "hbh", "dst", "dst,dst", "hbh,dst", "frag".</summary>
    private const string SendRogueRas = """
        import socket, struct, sys
        mac = bytes.fromhex(open('/sys/class/net/eth0/address').read().strip().replace(':', ''))
        eui = bytes([mac[0] ^ 2]) + mac[1:3] + b'\xff\xfe' + mac[3:]
        src = bytes.fromhex('fe800000000000000000000000000000')[:8] + eui
        dst = socket.inet_pton(socket.AF_INET6, 'ff02::1')
        prefix = socket.inet_pton(socket.AF_INET6, '2001:db8:bad::')
        def checksum(data):
            if len(data) % 2: data += b'\0'
            s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
            while s >> 16: s = (s & 0xffff) + (s >> 16)
            return ~s & 0xffff
        ra = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 1800, 0, 0)
        ra += struct.pack('!BBBBIII', 3, 4, 64, 0xC0, 86400, 14400, 0) + prefix
        ra = ra[:2] + struct.pack('!H', checksum(src + dst + struct.pack('!IxxxB', len(ra), 58) + ra)) + ra[4:]
        codes = {'hbh': 0, 'dst': 60, 'frag': 44}
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(('eth0', 0))
        for spec in sys.argv[1:]:
            chain = [c for c in spec.split(',') if c]
            types = [codes[c] for c in chain] + [58]
            ext = b''
            for i, c in enumerate(chain):
                nxt = types[i + 1]
                # PadN options fill the 8 bytes; an atomic fragment (offset 0, M=0) is a whole packet to a host (RFC 8200 §4.5).
                ext += struct.pack('!BBBB4x', nxt, 0, 1, 4) if c != 'frag' else struct.pack('!BxHI', nxt, 0, 7113)
            ip = struct.pack('!IHBB', 6 << 28, len(ext) + len(ra), types[0], 255) + src + dst
            s.send(b'\x33\x33\x00\x00\x00\x01' + mac + b'\x86\xdd' + ip + ext + ra)
        """;

    [LinuxRootFact]
    public async Task Rogue_router_advertisements_behind_extension_headers_change_no_other_guest()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "ra", customize: r => r with { Mode = "nat", Ipv6 = "auto" });
        using var rogue = await Guest.AttachAsync(daemon.Client, net.Name, "rogue");
        using var victim = await Guest.AttachAsync(daemon.Client, net.Name, "victim");
        await Task.WhenAll(Task.Run(() => Ipv6Tests.StartWithSlaac(rogue)), Task.Run(() => Ipv6Tests.StartWithSlaac(victim)));
        Ipv6Tests.WaitForAddress(victim, victim.Endpoint.Ipv6![0]);
        // The victim's kernel does take RAs: the gateway's gave it its address and default route.
        Assert.Contains($"via {net.Ipv6GatewayLinkLocal}", Ipv6Tests.DefaultRoute6(victim));
        long policyBefore = (await rogue.RefreshAsync()).Counters!.Drops["policy"];

        string[] chains = ["", "hbh", "dst", "dst,dst", "hbh,dst", "frag", "hbh,frag,dst"];
        for (int round = 0; round < 3; round++)
        {
            rogue.Exec("python3", ["-c", SendRogueRas, .. chains]);
            await Task.Delay(300);
        }

        // Every rogue RA reached the switch and was dropped there, counted as policy.
        await Eventually.UntilAsync(async () => (await rogue.RefreshAsync()).Counters!.Drops["policy"] - policyBefore >= 3 * chains.Length,
            Bounds.Generous, () => "the rogue's RAs were not all counted as policy drops");
        string routes = victim.Namespace.Ip("-6", "route", "show").StdOut;
        string addresses = victim.Namespace.Ip("-6", "addr", "show", "dev", "eth0").StdOut;
        Assert.DoesNotContain("2001:db8:bad", routes);
        Assert.DoesNotContain("2001:db8:bad", addresses);
        // Only the gateway routes: no next hop of any default route is the rogue.
        var nextHops = System.Text.RegularExpressions.Regex.Matches(Ipv6Tests.DefaultRoute6(victim), @"via (\S+)").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal([net.Ipv6GatewayLinkLocal!], nextHops);
    }
}
