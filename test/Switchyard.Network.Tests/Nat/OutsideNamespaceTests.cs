using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Time.Testing;
using PacketDotNet;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Testing;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Nat;

/// <summary>
/// The NAT toward an "outside" address: each test runs the guest's side on a thread that has
/// entered a fresh network namespace, so the sockets the NAT opens (and the test's servers) live
/// there, where 10.251.0.1 is a local address (on lo) and the ICMP sysctl is the
/// test's to set. Nothing touches the host's own namespace.
/// </summary>
public sealed partial class OutsideNamespaceTests
{
    private const string Outside = "10.251.0.1";
    private static readonly Ipv4Address OutsideIp = Ipv4Address.Parse(Outside);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nsType);

    private const int CloneNewNet = 0x40000000;

    private static TestNamespace MakeOutside(bool pingSockets)
    {
        var ns = TestNamespace.Create("sy-natu");
        try
        {
            ns.Ip("addr", "add", $"{Outside}/32", "dev", "lo");
            ns.Ip("link", "set", "lo", "up");
            // Routes that fail: EHOSTUNREACH for 10.252.1.0/24, EACCES for 10.252.2.0/24.
            ns.Ip("route", "add", "unreachable", "10.252.1.0/24");
            ns.Ip("route", "add", "prohibit", "10.252.2.0/24");
            // A new namespace starts with "1 0" (nobody may open ping sockets).
            if (pingSockets) ns.Exec("sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>A nat network whose datagram path check is off: the engine's timer asks the host's
    /// routes (the daemon's namespace), while these flows' sockets live in the test's. Its clock is
    /// <paramref name="time"/> when given (idle timeouts are tested by moving it).</summary>
    private static VirtualNetwork CreateNat(TimeProvider? time = null)
    {
        var net = Create(NetworkMode.Nat, time: time);
        net.Nat!.PathCheckPeriod = TimeSpan.Zero;
        return net;
    }

    /// <summary>Runs <paramref name="body"/> on a new thread inside <paramref name="ns"/>.</summary>
    private static void InNamespace(TestNamespace ns, Action body)
    {
        ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using (var handle = File.OpenHandle(ns.Path))
                {
                    if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                        throw new InvalidOperationException($"setns failed: errno {Marshal.GetLastPInvokeError()}");
                }
                body();
            }
            catch (Exception e) { error = ExceptionDispatchInfo.Capture(e); }
        });
        thread.Start();
        thread.Join();
        error?.Throw();
    }

    private static byte[]? WaitForEchoReply(FakeTransport t, ushort seq) =>
        t.WaitFor(f => Frames.TryIpv4(f, out var ip) && ip.Protocol == IpProtocol.Icmp && IcmpPacket.TryParse(ip.Payload, out var icmp)
            && icmp.Type == IcmpPacket.TypeEchoReply && icmp.Sequence == seq, Wait);

    private static void AssertEchoReply(byte[]? frame, Ipv4Address to, ushort id, ushort seq, byte[] data)
    {
        Assert.NotNull(frame);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        var ip = eth.Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(Outside, ip.SourceAddress.ToString());
        Assert.Equal(to.ToString(), ip.DestinationAddress.ToString());
        var icmp = eth.Extract<IcmpV4Packet>();
        Assert.Equal(IcmpV4TypeCode.EchoReply, icmp.TypeCode);
        Assert.True(icmp.ValidIcmpChecksum);
        Assert.Equal(id, icmp.Id);
        Assert.Equal(seq, icmp.Sequence);
        Assert.Equal(data, icmp.PayloadData);
    }

    [LinuxRootFact]
    public void Ping_goes_through_an_unprivileged_icmp_socket() => Ping(pingSockets: true);

    [LinuxRootFact]
    public void Ping_falls_back_to_a_raw_socket_when_ping_sockets_are_refused() => Ping(pingSockets: false);

    private static void Ping(bool pingSockets)
    {
        using var ns = MakeOutside(pingSockets);
        InNamespace(ns, () =>
        {
            var time = new FakeTimeProvider();
            using var net = CreateNat(time);
            net.Nat!.IcmpIdleTimeout = TimeSpan.FromSeconds(1);
            var a = Attach(net, "alpha", MacA, IpA);
            var b = Attach(net, "beta", MacB, IpB);
            byte[] data = [.. Enumerable.Range(0, 56).Select(i => (byte)(i + 3))];

            a.Inject(Frames.IcmpEcho(GatewayMac, MacA, IpA, OutsideIp, 0x4242, 1, data));
            AssertEchoReply(WaitForEchoReply(a, 1), IpA, 0x4242, 1, data);
            a.Inject(Frames.IcmpEcho(GatewayMac, MacA, IpA, OutsideIp, 0x4242, 2, data));
            AssertEchoReply(WaitForEchoReply(a, 2), IpA, 0x4242, 2, data);
            Assert.Equal(1, net.Nat.IcmpFlowCount);
            Assert.Equal(pingSockets, Assert.Single(net.Nat.IcmpFlowSnapshot()).KernelIdentifier);

            // Another guest with the same identifier: its own flow, its own replies.
            b.Inject(Frames.IcmpEcho(GatewayMac, MacB, IpB, OutsideIp, 0x4242, 9, [1, 2, 3, 4, 5, 6, 7, 8]));
            AssertEchoReply(WaitForEchoReply(b, 9), IpB, 0x4242, 9, [1, 2, 3, 4, 5, 6, 7, 8]);
            Assert.Equal(2, net.Nat.IcmpFlowCount);
            Assert.DoesNotContain(a.Sent, f => Frames.TryIpv4(f, out var ip) && IcmpPacket.TryParse(ip.Payload, out var icmp) && icmp.Sequence == 9);

            // A detached guest's flows go at once; idle ones after the timeout.
            net.Detach("beta");
            Assert.Equal(1, net.Nat.IcmpFlowCount);
            time.Advance(TimeSpan.FromSeconds(0.9));
            Assert.Equal(1, net.Nat.IcmpFlowCount);
            time.Advance(TimeSpan.FromSeconds(0.2));
            Assert.Equal(0, net.Nat.IcmpFlowCount);
        });
    }

    [LinuxRootFact]
    public void Udp_to_an_outside_address_and_the_shorter_dns_timeout()
    {
        using var ns = MakeOutside(pingSockets: false);
        InNamespace(ns, () =>
        {
            var time = new FakeTimeProvider();
            using var net = CreateNat(time);
            net.Nat!.DnsIdleTimeout = TimeSpan.FromMilliseconds(300);
            var a = Attach(net, "alpha", MacA, IpA);
            using var dns = new UdpEchoServer(System.Net.IPAddress.Parse(Outside), 53);
            using var other = new UdpEchoServer(System.Net.IPAddress.Parse(Outside));

            a.Inject(Frames.Udp(GatewayMac, MacA, IpA, OutsideIp, 40100, 53, "query"u8));
            a.Inject(Frames.Udp(GatewayMac, MacA, IpA, OutsideIp, 40101, other.Port, "hello"u8));
            var reply = a.WaitFor(f => Frames.TryIpv4(f, out var ip) && ip.Protocol == IpProtocol.Udp && ip.Source == OutsideIp
                && UdpDatagram.TryParse(ip.Payload, out var u) && u.SourcePort == 53 && u.DestinationPort == 40100, Wait);
            Assert.NotNull(reply);
            var udp = ((EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, reply)).Extract<UdpPacket>();
            Assert.True(udp.ValidUdpChecksum);
            Assert.Equal("query"u8.ToArray(), udp.PayloadData);
            Assert.NotNull(a.WaitFor(f => Frames.TryIpv4(f, out var ip) && ip.Protocol == IpProtocol.Udp
                && UdpDatagram.TryParse(ip.Payload, out var u) && u.DestinationPort == 40101, Wait));
            // The host socket's source is the namespace's own address (the route's), not a guest's.
            Assert.True(dns.Received.TryPeek(out var seen));
            Assert.Equal(Outside, seen.From.Address.ToString());

            Assert.Equal(2, net.Nat.UdpFlowCount);
            time.Advance(TimeSpan.FromMilliseconds(400));
            Assert.Equal(1, net.Nat.UdpFlowCount);   // the DNS flow went, the other (60 s) stays
        });
    }

    [LinuxRootFact]
    public void Datagrams_bigger_than_the_mtu_go_out_whole_and_come_back_in_fragments()
    {
        using var ns = MakeOutside(pingSockets: true);
        InNamespace(ns, () =>
        {
            using var net = CreateNat();
            var a = Attach(net, "alpha", MacA, IpA);
            using var server = new UdpEchoServer(System.Net.IPAddress.Parse(Outside));
            byte[] big = [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 11))];

            // The guest's kernel fragments a 5000-byte datagram; the host socket sends it whole.
            foreach (var f in ReassemblyTests.Fragment(Frames.Udp(GatewayMac, MacA, IpA, OutsideIp, 40300, server.Port, big), 1500)) a.Inject(f);
            var deadline = DateTime.UtcNow + Wait;
            while (server.Received.IsEmpty && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Assert.True(server.Received.TryPeek(out var got), "the datagram did not arrive");
            Assert.Equal(big, got.Data);
            // The echo comes back to the guest in 4 fragments.
            deadline = DateTime.UtcNow + Wait;
            while (a.Sent.Count < 4 && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Assert.True(UdpDatagram.TryParse(ReassemblyTests.Join(a.Sent, 1500), out var udp));
            Assert.True(udp.IsChecksumValid(OutsideIp, IpA));
            Assert.Equal(40300, udp.DestinationPort);
            Assert.Equal(big, udp.Payload.ToArray());

            // `ping -s 3000` the same way.
            a.Clear();
            byte[] data = [.. Enumerable.Range(0, 3000).Select(i => (byte)i)];
            foreach (var f in ReassemblyTests.Fragment(Frames.IcmpEcho(GatewayMac, MacA, IpA, OutsideIp, 0x3131, 1, data), 1500)) a.Inject(f);
            deadline = DateTime.UtcNow + Wait;
            while (a.Sent.Count < 3 && DateTime.UtcNow < deadline) Thread.Sleep(20);
            var reply = ReassemblyTests.Join(a.Sent, 1500);
            Assert.True(IcmpPacket.TryParse(reply, out var icmp) && icmp.IsChecksumValid);
            Assert.Equal(IcmpPacket.TypeEchoReply, icmp.Type);
            Assert.Equal(0x3131, icmp.Identifier);
            Assert.Equal(data, icmp.Payload.ToArray());
        });
    }

    [LinuxRootFact]
    public void Datagram_flows_whose_host_path_changed_are_closed()
    {
        using var ns = MakeOutside(pingSockets: true);
        ns.Ip("addr", "add", "10.251.0.2/32", "dev", "lo");
        ns.Ip("route", "add", "10.253.0.0/24", "dev", "lo", "src", Outside);
        InNamespace(ns, () =>
        {
            using var net = CreateNat();
            var a = Attach(net, "alpha", MacA, IpA);
            var remote = Ipv4Address.Parse("10.253.0.5");
            void Open()
            {
                a.Inject(Frames.Udp(GatewayMac, MacA, IpA, remote, 40400, 9, [1]));
                a.Inject(Frames.IcmpEcho(GatewayMac, MacA, IpA, remote, 0x7777, 1, new byte[8]));
            }
            Open();
            Assert.Equal((1, 1), (net.Nat!.UdpFlowCount, net.Nat.IcmpFlowCount));
            net.Nat.CheckPaths();   // on this thread: its route lookups see the test's namespace
            Assert.Equal((1, 1), (net.Nat.UdpFlowCount, net.Nat.IcmpFlowCount));

            // The route now gives another source (a VPN came up, say): the flows go, and come back on it.
            ns.Ip("route", "replace", "10.253.0.0/24", "dev", "lo", "src", "10.251.0.2");
            net.Nat.CheckPaths();
            Assert.Equal((0, 0), (net.Nat.UdpFlowCount, net.Nat.IcmpFlowCount));
            Open();
            Assert.Equal("10.251.0.2", Assert.Single(net.Nat.IcmpFlowSnapshot()).HostLocal?.ToString());
            net.Nat.CheckPaths();
            Assert.Equal((1, 1), (net.Nat.UdpFlowCount, net.Nat.IcmpFlowCount));

            // No route at all: they go too.
            ns.Ip("route", "del", "10.253.0.0/24");
            net.Nat.CheckPaths();
            Assert.Equal((0, 0), (net.Nat.UdpFlowCount, net.Nat.IcmpFlowCount));
        });
    }

    [LinuxRootFact]
    public void A_destination_the_host_cannot_reach_gets_the_routers_icmp_error()
    {
        using var ns = MakeOutside(pingSockets: true);
        InNamespace(ns, () =>
        {
            using var net = CreateNat();
            var a = Attach(net, "alpha", MacA, IpA);
            var unreachable = Ipv4Address.Parse("10.252.1.5");
            var prohibited = Ipv4Address.Parse("10.252.2.5");

            a.Inject(Frames.Udp(GatewayMac, MacA, IpA, unreachable, 40200, 9, [1]));
            a.Inject(Frames.IcmpEcho(GatewayMac, MacA, IpA, unreachable, 5, 1, new byte[8]));
            a.Inject(Frames.Udp(GatewayMac, MacA, IpA, prohibited, 40201, 9, [1]));
            var codes = a.Sent.Select(f => ((EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, f)).Extract<IcmpV4Packet>())
                .Select(icmp => icmp.TypeCode).ToList();
            Assert.Equal([IcmpV4TypeCode.UnreachableHost, IcmpV4TypeCode.UnreachableHost, IcmpV4TypeCode.UnreachableCommunicationProhibited], codes);
            Assert.All(a.Sent, f => Assert.True(Frames.TryIpv4(f, out var ip) && ip.Source == GatewayIp));
            Assert.Equal(0, net.Nat!.UdpFlowCount);
            Assert.Equal(0, net.Nat.IcmpFlowCount);
        });
    }
}
