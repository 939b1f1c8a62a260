using System.Buffers.Binary;
using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Network.Tests.Switching;

/// <summary>What a guest may not send even from its own addresses (found by review): frames with a
/// second VLAN tag, DHCP server messages, IPv6 router advertisements and redirects; and what it
/// may not do to others: speak DHCP for another client, or take another port's MAC.</summary>
public sealed class GuardPolicyTests
{
    private static readonly MacAddress MacA = TestNetwork.MacA;
    private static readonly Ipv4Address IpA = TestNetwork.IpA;

    private static bool Allows(byte[] frame, out DropReason reason)
    {
        var guard = new PortGuard(MacA, IpA);
        Assert.True(EthernetFrame.TryParse(frame, out var eth));
        return guard.Allows(eth, out reason);
    }

    [Fact]
    public void A_double_tagged_frame_is_dropped()
    {
        var inner = Frames.Arp(MacAddress.Broadcast, ArpPacket.OpReply, MacA, TestNetwork.GatewayIp, MacAddress.Broadcast, TestNetwork.GatewayIp);
        var frame = new byte[inner.Length + 8];
        inner.AsSpan(0, 12).CopyTo(frame);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType.Vlan);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), EtherType.Vlan);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(20), EtherType.Arp);
        inner.AsSpan(14).CopyTo(frame.AsSpan(22));
        Assert.False(Allows(frame, out var reason));
        Assert.Equal(DropReason.Policy, reason);
    }

    [Fact]
    public void A_guest_dhcp_server_is_dropped()
    {
        var offer = Frames.Udp(MacAddress.Broadcast, MacA, IpA, Ipv4Address.Broadcast, 67, 68, new byte[300]);
        Assert.False(Allows(offer, out var reason));
        Assert.Equal(DropReason.Policy, reason);
    }

    [Theory]
    [InlineData(134, false)] // router advertisement
    [InlineData(137, false)] // redirect
    [InlineData(135, true)]  // neighbour solicitation
    [InlineData(133, true)]  // router solicitation
    public void Router_advertisements_and_redirects_are_dropped(byte icmpType, bool allowed)
    {
        var f = new byte[EthernetFrame.HeaderLength + 48];
        EthernetFrame.WriteHeader(f, MacAddress.Parse("33:33:00:00:00:01"), MacA, EtherType.IPv6);
        var p = f.AsSpan(EthernetFrame.HeaderLength);
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p[4..], 8);
        p[6] = IpProtocol.Icmpv6;
        p[7] = 255;
        Ipv6Address.LinkLocal(MacA).Write(p[8..]);
        p[40] = icmpType;
        Assert.Equal(allowed, Allows(f, out _));
    }

    [Fact]
    public void Dhcp_for_another_client_is_ignored()
    {
        var events = new FakeEvents();
        using var net = TestNetwork.Create(events: events);
        events.Declined = (endpoint, _) => net.Reassign(endpoint, Ipv4Address.Parse("10.88.0.50"));
        var a = TestNetwork.Attach(net, "a", MacA, IpA);
        var b = TestNetwork.Attach(net, "b", TestNetwork.MacB, TestNetwork.IpB);

        // b declines a's address, in a message naming a's MAC but sent from b's own.
        var decline = new byte[600];
        int len = DhcpClientMessage.WriteRequest(decline.AsSpan(EthernetFrameWriter.UdpPayloadOffset), DhcpMessageType.Decline, 7, MacA,
            requested: IpA, serverId: TestNetwork.GatewayIp);
        int n = EthernetFrameWriter.FinishUdp(decline, MacAddress.Broadcast, TestNetwork.MacB, Ipv4Address.Any, Ipv4Address.Broadcast, 68, 67, len);
        b.Inject(decline.AsSpan(0, n));

        Assert.True(net.TryGetEndpoint("a", out var portA));
        Assert.Equal(IpA, portA.Ipv4); // a keeps its address
    }

    [Fact]
    public void A_learning_port_cannot_take_the_gateways_or_another_ports_mac()
    {
        var events = new FakeEvents();
        using var net = TestNetwork.Create(events: events);
        TestNetwork.Attach(net, "a", MacA, IpA);
        var t = new FakeTransport();
        var vm = net.Attach(new EndpointConfig("vm", MacAddress.Parse("02:00:00:00:00:77"), TestNetwork.IpB, LearnMac: true), t);

        t.Inject(Frames.Udp(TestNetwork.GatewayMac, TestNetwork.GatewayMac, TestNetwork.IpB, TestNetwork.GatewayIp, 1, 9, new byte[4]));
        t.Inject(Frames.Udp(TestNetwork.GatewayMac, MacA, TestNetwork.IpB, TestNetwork.GatewayIp, 1, 9, new byte[4]));
        Assert.True(vm.Guard!.Learning);
        Assert.Empty(events.LearnedMacs);
        Assert.Equal(2, vm.Counters.Dropped(DropReason.SpoofedMac));

        var own = MacAddress.Parse("52:54:00:aa:bb:cc");
        t.Inject(Frames.Udp(TestNetwork.GatewayMac, own, TestNetwork.IpB, TestNetwork.GatewayIp, 1, 9, new byte[4]));
        Assert.Equal(own, vm.Mac);
    }
}
