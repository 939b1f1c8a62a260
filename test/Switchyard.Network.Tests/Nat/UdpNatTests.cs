using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using PacketDotNet;
using ProtocolType = System.Net.Sockets.ProtocolType;
using Switchyard.Network.Nat;
using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Nat;

/// <summary>UDP through the NAT to servers on the host's loopback, reached at the gateway address
/// (host loopback), with PacketDotNet as the oracle for what the guest receives. The network runs
/// on a fake clock: idle timeouts and eviction are tested by moving it (the engine's timer fires
/// inside <see cref="FakeTimeProvider.Advance"/>), never by sleeping against them; real-time waits
/// are only for the echo server's replies.</summary>
public sealed class UdpNatTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new();
    private readonly VirtualNetwork _net;
    private readonly FakeTransport _a;
    private readonly UdpEchoServer _server = new();

    public UdpNatTests()
    {
        _net = Create(NetworkMode.Nat, time: _time);
        _a = Attach(_net, "alpha", MacA, IpA);
    }

    public void Dispose()
    {
        _net.Dispose();
        _server.Dispose();
    }

    private byte[] SendToGateway(ushort guestPort, ushort port, byte[] payload)
    {
        var frame = Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, guestPort, port, payload);
        _a.Inject(frame);
        return frame;
    }

    private byte[]? WaitForUdp(ushort guestPort, int skip = 0) =>
        _a.WaitFor(f => Frames.TryIpv4(f, out var ip) && ip.Protocol == IpProtocol.Udp && UdpDatagram.TryParse(ip.Payload, out var u) && u.DestinationPort == guestPort, Wait, skip);

    private byte[]? WaitForIcmp(byte type, byte code) =>
        _a.WaitFor(f => Frames.TryIpv4(f, out var ip) && ip.Protocol == IpProtocol.Icmp && ip.Payload.Length >= 2 && ip.Payload[0] == type && ip.Payload[1] == code, Wait);

    private static bool Eventually(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(20);
        }
        return true;
    }

    [Fact]
    public void Datagram_round_trip_through_the_gateway_address_reaches_host_loopback()
    {
        byte[] payload = [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 13))];
        _server.Reply = d => [.. d.Reverse()];
        SendToGateway(40001, _server.Port, payload);

        var frame = WaitForUdp(40001) ?? throw new Xunit.Sdk.XunitException("no reply reached the guest");
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        Assert.Equal(MacA.ToString(), Mac(eth.DestinationHardwareAddress));
        Assert.Equal(GatewayMac.ToString(), Mac(eth.SourceHardwareAddress));
        var ip = eth.Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(GatewayIp.ToString(), ip.SourceAddress.ToString());
        Assert.Equal(IpA.ToString(), ip.DestinationAddress.ToString());
        var udp = eth.Extract<UdpPacket>();
        Assert.True(udp.ValidUdpChecksum);
        Assert.Equal(_server.Port, udp.SourcePort);
        Assert.Equal(40001, udp.DestinationPort);
        Assert.Equal(payload.Reverse().ToArray(), udp.PayloadData);

        Assert.True(_server.Received.TryPeek(out var got));
        Assert.Equal(payload, got.Data);
        Assert.True(IPAddress.IsLoopback(got.From.Address));
        Assert.Equal(1, _net.Nat!.UdpFlowCount);

        var stats = _net.Nat.Statistics;
        Assert.Equal(1, stats.Opened(NatProtocol.Udp));
        Assert.Equal(300, stats.BytesFromGuests);
        Assert.Equal(300, stats.BytesToGuests);
        var flow = Assert.Single(_net.Nat.SnapshotFlows(500));
        Assert.Equal(NatProtocol.Udp, flow.Protocol);
        Assert.Equal("open", flow.State);
        Assert.Equal(MacA, flow.Guest);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(IpA.ToString()), 40001), flow.GuestEndPoint);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(GatewayIp.ToString()), _server.Port), flow.Destination);
        Assert.Equal((300L, 300L, false), (flow.BytesFromGuest, flow.BytesToGuest, flow.Published));
    }

    [Fact]
    public void Each_guest_port_gets_its_own_flow_and_its_own_replies()
    {
        SendToGateway(40010, _server.Port, "one"u8.ToArray());
        SendToGateway(40011, _server.Port, "two"u8.ToArray());
        SendToGateway(40010, _server.Port, "three"u8.ToArray());

        Assert.True(Eventually(() => _server.Received.Count == 3, Wait));
        var sources = _server.Received.ToArray();
        Assert.Equal(sources[0].From, sources[2].From);      // the same flow: the same host socket
        Assert.NotEqual(sources[0].From, sources[1].From);   // another guest port: another socket
        Assert.Equal(2, _net.Nat!.UdpFlowCount);

        Assert.True(Eventually(() => _a.Sent.Count(f => Frames.TryIpv4(f, out var ip) && ip.Protocol == IpProtocol.Udp) == 3, Wait));
        var replies = _a.Sent.Select(f => ((EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, f)).Extract<UdpPacket>()).Where(u => u is not null).ToList();
        Assert.Equal(["one", "three"], replies.Where(u => u.DestinationPort == 40010).Select(u => System.Text.Encoding.ASCII.GetString(u.PayloadData)).Order());
        Assert.Equal("two", System.Text.Encoding.ASCII.GetString(Assert.Single(replies, u => u.DestinationPort == 40011).PayloadData));
    }

    [Fact]
    public void Closed_port_yields_icmp_port_unreachable_quoting_the_guests_datagram()
    {
        ushort closed;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            closed = (ushort)((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        var sent = SendToGateway(40020, closed, [.. Enumerable.Range(0, 40).Select(i => (byte)i)]);

        var frame = WaitForIcmp(IcmpPacket.TypeDestinationUnreachable, 3) ?? throw new Xunit.Sdk.XunitException("no port unreachable");
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        var ip = eth.Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(GatewayIp.ToString(), ip.SourceAddress.ToString());   // from the remote: here the gateway address
        Assert.Equal(IpA.ToString(), ip.DestinationAddress.ToString());
        var icmp = eth.Extract<IcmpV4Packet>();
        Assert.Equal(IcmpV4TypeCode.UnreachablePort, icmp.TypeCode);
        Assert.True(icmp.ValidIcmpChecksum);
        var quoted = sent.AsSpan(EthernetFrameWriter.Ipv4Offset, Ipv4Packet.MinHeaderLength + 8).ToArray();
        Assert.Equal(quoted, icmp.PayloadData);
        // The flow stays: the guest may try again (the port may open).
        Assert.Equal(1, _net.Nat!.UdpFlowCount);
    }

    [Fact]
    public void An_idle_flow_times_out()
    {
        _net.Nat!.UdpIdleTimeout = TimeSpan.FromMilliseconds(300);
        SendToGateway(40030, _server.Port, [1, 2, 3]);
        Assert.NotNull(WaitForUdp(40030));   // the reply was the flow's last activity
        Assert.Equal(1, _net.Nat.UdpFlowCount);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(1, _net.Nat.UdpFlowCount);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, _net.Nat.UdpFlowCount);

        // The next datagram opens a new flow (a new host socket).
        SendToGateway(40030, _server.Port, [4]);
        Assert.NotNull(WaitForUdp(40030, skip: 1));
        Assert.True(Eventually(() => _server.Received.Count == 2, Wait));
        var r = _server.Received.ToArray();
        Assert.NotEqual(r[0].From, r[1].From);
    }

    [Fact]
    public void Traffic_keeps_a_flow_alive()
    {
        _net.Nat!.UdpIdleTimeout = TimeSpan.FromMilliseconds(600);
        for (int i = 0; i < 8; i++)
        {
            SendToGateway(40035, _server.Port, [(byte)i]);   // handled on this thread: the flow is touched now
            _time.Advance(TimeSpan.FromMilliseconds(200));
        }
        Assert.Equal(1, _net.Nat.UdpFlowCount);
        Assert.True(Eventually(() => _server.Received.Count == 8, Wait));
        Assert.Single(_server.Received.Select(r => r.From).Distinct());
    }

    [Fact]
    public void Detaching_the_guest_closes_its_flows()
    {
        SendToGateway(40040, _server.Port, [1]);
        SendToGateway(40041, _server.Port, [2]);
        Assert.True(Eventually(() => _net.Nat!.UdpFlowCount == 2, Wait));
        var b = Attach(_net, "beta", MacB, IpB);
        b.Inject(Frames.Udp(GatewayMac, MacB, IpB, GatewayIp, 40042, _server.Port, [3]));
        Assert.True(Eventually(() => _net.Nat!.UdpFlowCount == 3, Wait));

        _net.Detach("alpha");
        Assert.Equal(1, _net.Nat!.UdpFlowCount);   // beta's flow stays
        _net.Nat.ForgetGuest(IpB);
        Assert.Equal(0, _net.Nat.UdpFlowCount);
    }

    [Fact]
    public void Dispose_closes_every_flow()
    {
        SendToGateway(40045, _server.Port, [1]);
        SendToGateway(40046, _server.Port, [2]);
        Assert.Equal(2, _net.Nat!.UdpFlowCount);
        _net.Nat.Dispose();
        Assert.Equal(0, _net.Nat.UdpFlowCount);
        SendToGateway(40047, _server.Port, [3]);   // after dispose: no new flow
        Assert.Equal(0, _net.Nat.UdpFlowCount);
    }

    [Fact]
    public void A_network_without_the_outside_refuses_an_outside_address_with_admin_prohibited()
    {
        using var net = Create(NetworkMode.Host);
        var a = Attach(net, "alpha", MacA, IpA);
        var outside = Ipv4Address.Parse("192.0.2.1");
        var sent = Frames.Udp(GatewayMac, MacA, IpA, outside, 40050, 9, [1, 2, 3, 4]);
        a.Inject(sent);

        var frame = Assert.Single(a.Sent);   // answered at once, on the guest's thread
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        var ip = eth.Extract<IPv4Packet>();
        Assert.Equal(GatewayIp.ToString(), ip.SourceAddress.ToString());
        var icmp = eth.Extract<IcmpV4Packet>();
        Assert.Equal(IcmpV4TypeCode.UnreachableCommunicationProhibited, icmp.TypeCode);
        Assert.True(icmp.ValidIcmpChecksum);
        Assert.Equal(sent.AsSpan(EthernetFrameWriter.Ipv4Offset, 28).ToArray(), icmp.PayloadData);
        Assert.Equal(0, net.Nat!.UdpFlowCount);

        // Pings too.
        a.Clear();
        a.Inject(Frames.IcmpEcho(GatewayMac, MacA, IpA, outside, 77, 1, new byte[16]));
        var refused = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, Assert.Single(a.Sent));
        Assert.Equal(IcmpV4TypeCode.UnreachableCommunicationProhibited, refused.Extract<IcmpV4Packet>().TypeCode);
        Assert.Equal(0, net.Nat.IcmpFlowCount);
    }

    [Fact]
    public void Host_loopback_turned_off_refuses_the_gateway_address()
    {
        using var net = new VirtualNetwork(new NetworkConfig("noloop", NetworkMode.Nat, Subnet, 1500, Domain, GatewayMac, () => [], TimeSpan.FromHours(1), HostLoopback: false),
            new FakeEvents(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var a = Attach(net, "alpha", MacA, IpA);
        a.Inject(Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, 40055, _server.Port, [1]));
        // Not the NAT's: the gateway itself says port unreachable, and nothing reaches the host.
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, Assert.Single(a.Sent));
        Assert.Equal(IcmpV4TypeCode.UnreachablePort, eth.Extract<IcmpV4Packet>().TypeCode);
        Thread.Sleep(100);
        Assert.Empty(_server.Received);
    }

    [Fact]
    public void Multicast_destinations_are_dropped_without_an_icmp_error()
    {
        _a.Inject(Frames.Udp(MacAddress.Parse("01:00:5e:00:00:fb"), MacA, IpA, Ipv4Address.Parse("224.0.0.251"), 5353, 5353, new byte[20]));
        Assert.Empty(_a.Sent);
        Assert.Equal(0, _net.Nat!.UdpFlowCount);
        Assert.Equal(1, _net.Gateway.Counters.Dropped(DropReason.Policy));
        Assert.Equal(1, _net.Nat.Statistics.Refused(NatProtocol.Udp));
    }

    [Fact]
    public void Bad_checksum_and_port_zero_are_dropped_as_malformed()
    {
        var frame = Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, 40060, _server.Port, [1, 2, 3]);
        frame[EthernetFrameWriter.L4Offset + 6] ^= 0x5A;
        _a.Inject(frame);
        _a.Inject(Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, 0, _server.Port, [1]));
        Assert.Equal(2, _net.Gateway.Counters.Dropped(DropReason.Malformed));
        Assert.Equal(0, _net.Nat!.UdpFlowCount);
    }

    [Fact]
    public void A_full_table_closes_the_idlest_flow_and_refuses_when_all_are_live()
    {
        _net.Nat!.MaxUdpFlows = 2;
        Assert.True(_net.TryGetEndpoint("alpha", out var alpha));
        alpha.Flows.MaxFlows = 2;   // the whole (tiny) table, not the default quarter of it
        SendToGateway(40070, _server.Port, [1]);
        SendToGateway(40071, _server.Port, [2]);
        Assert.Equal(2, _net.Nat.UdpFlowCount);

        // Both flows carried a packet within the last second: the third is refused.
        SendToGateway(40072, _server.Port, [3]);
        Assert.NotNull(WaitForIcmp(IcmpPacket.TypeDestinationUnreachable, 13));
        Assert.Equal(2, _net.Nat.UdpFlowCount);

        // Idle means no datagram either way for a second: once both echoes are in (the last
        // activity), a second and a half passes.
        Assert.NotNull(WaitForUdp(40070));
        Assert.NotNull(WaitForUdp(40071));
        _time.Advance(TimeSpan.FromSeconds(1.5));
        SendToGateway(40071, _server.Port, [4]);   // 40071 is live again; 40070 is the idlest
        SendToGateway(40073, _server.Port, [5]);
        Assert.Equal(2, _net.Nat.UdpFlowCount);
        Assert.True(Eventually(() => _server.Received.Count == 4, Wait), "received " + string.Join(",", _server.Received.Select(r => r.Data[0])));
        Assert.DoesNotContain(_server.Received, r => r.Data[0] == 3);
        // 40070's flow is gone: its next datagram opens a flow again, evicting nothing live.
        _a.Clear();
        SendToGateway(40070, _server.Port, [6]);
        Assert.NotNull(WaitForIcmp(IcmpPacket.TypeDestinationUnreachable, 13));

        var stats = _net.Nat.Statistics;
        Assert.Equal(3, stats.Opened(NatProtocol.Udp));    // 40070, 40071, 40073
        Assert.Equal(2, stats.Refused(NatProtocol.Udp));   // 40072, then 40070 again
        Assert.Equal(1, stats.Evicted(NatProtocol.Udp));   // 40070, to make room for 40073
        Assert.Single(_net.Nat.SnapshotFlows(1));
        Assert.Equal(2, _net.Nat.SnapshotFlows(10).Count);

        // Idle expiry is not eviction.
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.True(Eventually(() => _net.Nat.UdpFlowCount == 0, Wait));
        Assert.Equal(1, stats.Evicted(NatProtocol.Udp));
    }

    [Fact]
    public void A_reply_bigger_than_the_mtu_reaches_the_guest_in_fragments()
    {
        byte[] big = [.. Enumerable.Range(0, 4000).Select(i => (byte)(i * 7 + 1))];
        _server.Reply = _ => big;
        SendToGateway(40080, _server.Port, [1]);

        Assert.True(Eventually(() => _a.Sent.Count >= 3, Wait), $"{_a.Sent.Count} frames");
        var fragments = _a.Sent.ToList();
        Assert.Equal(3, fragments.Count);
        var reassembled = new byte[8 + big.Length];
        ushort id = 0;
        int covered = 0;
        for (int i = 0; i < fragments.Count; i++)
        {
            Assert.True(fragments[i].Length <= 1514);
            Assert.True(Frames.TryIpv4(fragments[i], out var ip));
            Assert.True(ip.IsHeaderChecksumValid);
            Assert.Equal(IpProtocol.Udp, ip.Protocol);
            Assert.Equal(GatewayIp, ip.Source);
            Assert.Equal(IpA, ip.Destination);
            if (i == 0) id = ip.Identification; else Assert.Equal(id, ip.Identification);
            Assert.Equal(i < fragments.Count - 1, ip.MoreFragments);
            Assert.False(ip.DontFragment);
            Assert.Equal(covered, ip.FragmentOffset);
            ip.Payload.CopyTo(reassembled.AsSpan(ip.FragmentOffset));
            covered += ip.Payload.Length;
        }
        Assert.Equal(reassembled.Length, covered);
        Assert.True(UdpDatagram.TryParse(reassembled, out var udp));
        Assert.True(udp.IsChecksumValid(GatewayIp, IpA));
        Assert.Equal(_server.Port, udp.SourcePort);
        Assert.Equal(40080, udp.DestinationPort);
        Assert.Equal(big, udp.Payload.ToArray());
    }

    [Fact]
    public void A_reply_that_fits_the_mtu_is_one_frame()
    {
        byte[] exact = new byte[1500 - 28];
        _server.Reply = _ => exact;
        SendToGateway(40085, _server.Port, [1]);
        var frame = WaitForUdp(40085) ?? throw new Xunit.Sdk.XunitException("no reply");
        Assert.Equal(1514, frame.Length);
        Assert.True(Frames.TryIpv4(frame, out var ip));
        Assert.False(ip.IsFragment);
    }

    [Fact]
    public void Empty_datagrams_go_both_ways()
    {
        SendToGateway(40090, _server.Port, []);
        var frame = WaitForUdp(40090) ?? throw new Xunit.Sdk.XunitException("no reply");
        Assert.True(Frames.TryIpv4(frame, out var ip));
        Assert.True(UdpDatagram.TryParse(ip.Payload, out var udp));
        Assert.Equal(0, udp.Payload.Length);
        Assert.Equal(8, BinaryPrimitives.ReadUInt16BigEndian(ip.Payload[4..]));
    }

    private static string Mac(System.Net.NetworkInformation.PhysicalAddress a) => Gateway.GatewayPortTests.Mac(a);
}
