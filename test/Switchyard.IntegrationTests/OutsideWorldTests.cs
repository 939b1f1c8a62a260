using System.Security.Cryptography;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>The <see cref="OutsideWorld"/> fixture itself, from the host (no daemon): every service answers, a route
/// moves to the second path, and Dispose leaves nothing behind. What the NAT tests see from a guest is then the NAT.</summary>
public sealed class OutsideWorldTests
{
    private static readonly Runner Host = OutsideProbes.OnHost;

    [LinuxRootFact]
    public void The_host_reaches_every_outside_service()
    {
        using var outside = OutsideWorld.Start();
        Assert.StartsWith("10.250.", outside.Address);
        Assert.Equal(outside.Primary.HostInterface, outside.HostRouteInterface());

        var index = OutsideProbes.Http(Host, outside.Url());
        Assert.True(index.ExitCode == 0, index.StdErr);
        Assert.Equal(outside.IndexPage, index.StdOut);

        var big = OutsideProbes.DownloadSha256(Host, outside.Url(OutsideWorld.BigFileName));
        Assert.True(big.Ok, big.Error);
        Assert.Equal(OutsideWorld.BigFileSha256, big.Sha256);

        var tx = OutsideProbes.Iperf(Host, outside.Address, OutsideWorld.IperfPort, 1, reverse: false);
        Assert.True(tx.Error is null && tx.BitsPerSecond > 100e6, $"{tx.BitsPerSecond / 1e6:F0} Mbit/s, {tx.Error}");
        var rx = OutsideProbes.Iperf(Host, outside.Address, OutsideWorld.IperfPort, 1, reverse: true);
        Assert.True(rx.Error is null && rx.BitsPerSecond > 100e6, $"{rx.BitsPerSecond / 1e6:F0} Mbit/s, {rx.Error}");

        var many = OutsideProbes.ConnectMany(Host, outside.Address, OutsideWorld.EchoPort, 1000, 30);
        Assert.True(many.Connected == 1000 && many.Echoed == 1000, many.Raw);

        var refused = OutsideProbes.TcpConnect(Host, outside.Address, OutsideWorld.ClosedTcpPort);
        Assert.Equal("refused", refused.Result);

        Assert.Equal("echoed", OutsideProbes.UdpEcho(Host, outside.Address, OutsideWorld.EchoPort));
        Assert.Equal("refused", OutsideProbes.UdpClosed(Host, outside.Address, OutsideWorld.ClosedUdpPort).Result);

        string file = Path.GetTempFileName();
        try
        {
            var data = RandomNumberGenerator.GetBytes(1 << 20);
            File.WriteAllBytes(file, data);
            var half = OutsideProbes.HalfClose(Host, outside.Address, OutsideWorld.ReplyAfterEofPort, file);
            Assert.True(half.Ok, half.Error);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), half.Sha256);
        }
        finally { File.Delete(file); }

        var ping = OutsideProbes.Ping(Host, outside.Address);
        Assert.True(ping.Ok, ping.Output);
    }

    /// <summary>Late replies still count. Once one reply is in, iputils' ping lingers after its last request only
    /// max(2 × the slowest round trip so far, the interval), whatever -W says, so on a loaded machine replies a few
    /// hundred ms late were counted lost ("3 packets transmitted, 1 received", NatTests.Ping_reaches_the_outside_address).
    /// Here the outside's kernel answers no echo; a raw socket answers the first at once and the rest 3 s late.</summary>
    [LinuxRootFact]
    public void Ping_waits_for_replies_that_come_late()
    {
        using var outside = OutsideWorld.Start(http: false);
        outside.Namespace.Exec("sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1");
        using var responder = outside.Namespace.StartServer("python3", "-c", LateEchoResponder, "3");
        Eventually.Until(() => responder.Output.Contains("ready", StringComparison.Ordinal), Bounds.Generous, () => responder.Output);

        var ping = OutsideProbes.Ping(Host, outside.Address, count: 3);
        Assert.True(ping.Ok, ping.Output);
    }

    /// <summary>Answers ICMP echo requests from a raw socket: sequence 1 at once, the others argv[1] seconds late.</summary>
    private const string LateEchoResponder = """
        import socket, struct, sys, threading
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        def checksum(b):
            t = sum(struct.unpack('!%dH' % (len(b) // 2), b + b'\0' * (len(b) % 2)))
            t = (t >> 16) + (t & 0xFFFF)
            return ~(t + (t >> 16)) & 0xFFFF
        def reply(message, source):
            r = bytearray(message)
            r[0] = 0
            r[2:4] = b'\0\0'
            r[2:4] = struct.pack('!H', checksum(bytes(r)))
            s.sendto(bytes(r), (source, 0))
        print('ready', flush=True)
        while True:
            packet, (source, _) = s.recvfrom(65535)
            message = packet[(packet[0] & 0xF) * 4:]
            if len(message) < 8 or message[0] != 8: continue
            sequence = struct.unpack('!H', message[6:8])[0]
            threading.Timer(0 if sequence == 1 else float(sys.argv[1]), reply, (message, source)).start()
        """;

    [LinuxRootFact]
    public void New_connections_follow_the_route_to_the_second_path()
    {
        using var outside = OutsideWorld.Start();
        var second = outside.AddPath();
        Assert.NotEqual(outside.Primary.Subnet, second.Subnet);
        Assert.Equal(outside.IndexPage, OutsideProbes.Http(Host, outside.Url()).StdOut);

        outside.RouteVia(second);
        outside.SetLinkUp(outside.Primary, false);
        Assert.Equal(second.HostInterface, outside.HostRouteInterface());
        var after = OutsideProbes.Http(Host, outside.Url());
        Assert.True(after.ExitCode == 0, after.StdErr);
        Assert.Equal(outside.IndexPage, after.StdOut);

        outside.SetLinkUp(outside.Primary, true);
        outside.RouteVia(outside.Primary);
        Assert.Equal(outside.Primary.HostInterface, outside.HostRouteInterface());
        Assert.Equal(outside.IndexPage, OutsideProbes.Http(Host, outside.Url()).StdOut);
    }

    [LinuxRootFact]
    public void Dispose_removes_the_namespace_the_links_and_the_servers()
    {
        var outside = OutsideWorld.Start();
        outside.AddPath();
        string ns = outside.Namespace.Name;
        var links = outside.Paths.Select(p => p.HostInterface).ToList();
        var pids = Command.Run("ip", ["netns", "pids", ns]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        Assert.True(pids.Count >= 3, $"servers in {ns}: {string.Join(',', pids)}");

        outside.Dispose();

        Assert.DoesNotContain(ns, Command.Run("ip", ["netns", "list"]).StdOut);
        foreach (var link in links) Assert.NotEqual(0, Command.Run("ip", ["link", "show", link], check: false).ExitCode);
        foreach (var pid in pids) Assert.False(Directory.Exists($"/proc/{pid}"), $"pid {pid} still runs");
    }
}
