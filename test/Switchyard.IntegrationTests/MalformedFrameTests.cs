using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

public sealed class MalformedFrameTests
{
    // Sends hand-made frames on eth0 through an AF_PACKET socket: argv = our MAC, our IP, gateway MAC, gateway IP.
    private const string Sender = """
        import socket, struct, sys
        mac = bytes.fromhex(sys.argv[1].replace(':', ''))
        ip = socket.inet_aton(sys.argv[2])
        gmac = bytes.fromhex(sys.argv[3].replace(':', ''))
        gip = socket.inet_aton(sys.argv[4])
        def csum(b):
            if len(b) % 2: b += b'\0'
            s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
            while s >> 16: s = (s & 0xffff) + (s >> 16)
            return (~s) & 0xffff
        def ipv4(src, dst, proto, payload, ihl=5):
            h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, 20 + len(payload), 1, 0, 64, proto, 0, src, dst)
            h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
            return h + payload
        def udp(sport, dport, payload):  # checksum 0: none (RFC 768)
            return struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(('eth0', 0))
        sent = 0
        def send(frame):
            global sent
            try:
                s.send(frame); sent += 1
            except OSError as e:
                print('send failed:', e)
        for _ in range(3):
            send(gmac + mac)                                                   # 12 bytes: no EtherType
            send(gmac + mac + b'\x08\x00' + b'\x4f' + b'\0' * 10)              # IPv4 with IHL 15 and 11 bytes
            send(gmac + mac + b'\x08\x00' + ipv4(ip, gip, 17, b'\0' * 8, ihl=3))   # IHL < 5
            bcast = b'\xff' * 6
            send(bcast + mac + b'\x08\x00' + ipv4(b'\0' * 4, b'\xff' * 4, 17, udp(68, 67, b'\x01\x01\x06\x00' + b'\0' * 20)))  # truncated BOOTP
            loop = struct.pack('!HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + b'\xc0\x0c' + b'\0\x01\0\x01'   # name points at itself
            send(gmac + mac + b'\x08\x00' + ipv4(ip, gip, 17, udp(40000, 53, loop)))
            send(gmac + mac + b'\x08\x00' + ipv4(ip, gip, 17, udp(40001, 53, b'\x12\x34\x01')))          # 3-byte DNS query
            send(gmac + mac + b'\x08\x00' + ipv4(ip, gip, 17, udp(40002, 53, b'\0' * 12)[:6] + b'\xff\xff' + b'\0' * 12))  # bad UDP checksum
            send(gmac + mac + b'\x08\x06' + b'\0' * 5)                          # short ARP
        print('sent', sent)
        """;

    [LinuxRootFact]
    public async Task Garbage_frames_are_counted_and_the_gateway_keeps_answering()
    {
        await using var lan = await Lan.StartAsync();
        string script = Path.Combine(Path.GetTempPath(), $"sy-sender-{Guid.NewGuid():N}.py");
        File.WriteAllText(script, Sender);
        try
        {
            var r = lan.A.TryExec(20_000, "python3", script, lan.A.Endpoint.Mac, lan.LeaseA["ip"], lan.Net.GatewayMac, lan.Net.Gateway);
            Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut);
        }
        finally { File.Delete(script); }

        // Still alive: DNS over UDP and TCP, ping, DHCP.
        Assert.Equal(lan.LeaseB["ip"], lan.A.Dig($"@{lan.Net.Gateway}", $"beta.{lan.Net.Domain}", "+short"));
        Assert.Equal(lan.LeaseB["ip"], lan.A.Dig("+tcp", $"@{lan.Net.Gateway}", $"beta.{lan.Net.Domain}", "+short"));
        Assert.True(lan.A.Ping(lan.Net.Gateway));
        Assert.Equal(lan.LeaseA["ip"], lan.A.Dhcp()["ip"]);

        // Where each lands: unparseable Ethernet/IPv4/ARP headers on the ingress port (the switch and its guard);
        // a truncated BOOTP message in the DHCP server; a DNS name loop in the DNS server; a short DNS query and
        // a bad UDP checksum on the gateway port.
        var ep = await lan.Client.GetEndpointAsync(lan.Net.Name, "alpha");
        Assert.True(ep.Counters!.Drops["malformed"] >= 3, $"ingress malformed = {ep.Counters.Drops["malformed"]}");
        var services = (await lan.Client.GetNetworkAsync(lan.Net.Name)).Services!;
        Assert.True(services.DhcpMalformed >= 1, $"dhcp malformed = {services.DhcpMalformed}");
        Assert.True(services.DnsMalformed >= 1, $"dns malformed = {services.DnsMalformed}");
        Assert.True(services.Drops!["malformed"] >= 2, $"gateway malformed = {services.Drops["malformed"]}");
    }
}
