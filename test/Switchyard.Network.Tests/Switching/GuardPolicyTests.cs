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

    /// <summary>A frame from A's link-local address: the fixed header, then <paramref name="chain"/>
    /// (extension headers as raw bytes, each starting with a placeholder next-header byte), then
    /// <paramref name="upper"/> of protocol <paramref name="protocol"/>.</summary>
    private static byte[] Ipv6From(byte protocol, byte[] upper, params byte[][] chain)
    {
        int extensions = chain.Sum(h => h.Length);
        var f = new byte[EthernetFrame.HeaderLength + 40 + extensions + upper.Length];
        EthernetFrame.WriteHeader(f, MacAddress.Parse("33:33:00:00:00:01"), MacA, EtherType.IPv6);
        var p = f.AsSpan(EthernetFrame.HeaderLength);
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p[4..], (ushort)(extensions + upper.Length));
        p[7] = 255;
        Ipv6Address.LinkLocal(MacA).Write(p[8..]);
        int at = 40;
        byte[] types = [.. chain.Select(h => h[0]), protocol];
        p[6] = types[0];
        for (int i = 0; i < chain.Length; i++)
        {
            chain[i].CopyTo(p[at..]);
            p[at] = types[i + 1];
            at += chain[i].Length;
        }
        upper.CopyTo(p[at..]);
        return f;
    }

    // Extension headers as they go on the wire; byte 0 says which header this is (the builder
    // turns it into the previous header's Next Header), byte 1 is the length field.
    private static byte[] HopByHop => [Ipv6HeaderChain.HopByHop, 0, 1, 4, 0, 0, 0, 0];
    private static byte[] DestinationOptions => [Ipv6HeaderChain.DestinationOptions, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static byte[] Routing => [Ipv6HeaderChain.Routing, 0, 0, 0, 0, 0, 0, 0];
    private static byte[] Authentication => [Ipv6HeaderChain.Ah, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static byte[] FirstFragment => [Ipv6HeaderChain.Fragment, 0, 0, 1, 0, 0, 0, 42];     // offset 0, M=1
    private static byte[] LaterFragment => [Ipv6HeaderChain.Fragment, 0, 0x05, 0xC8, 0, 0, 0, 42]; // offset 185
    private static byte[] RouterAdvertisement => [134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static byte[] Redirect => [137, 0, 0, 0, 0, 0, 0, 0];

    public static TheoryData<string, byte[][]> Chains => new()
    {
        { "hop-by-hop", [HopByHop] },
        { "destination options", [DestinationOptions] },
        { "routing", [Routing] },
        { "authentication", [Authentication] },
        { "first fragment", [FirstFragment] },
        { "hop-by-hop, destination options, routing", [HopByHop, DestinationOptions, Routing] },
        { "destination options twice", [DestinationOptions, DestinationOptions] },
        { "fragment then destination options", [FirstFragment, DestinationOptions] },
        { "authentication then hop-by-hop", [Authentication, HopByHop] },
    };

    [Theory]
    [MemberData(nameof(Chains))]
    public void A_router_advertisement_behind_extension_headers_is_dropped(string chain, byte[][] headers)
    {
        Assert.False(Allows(Ipv6From(IpProtocol.Icmpv6, RouterAdvertisement, headers), out var reason), chain);
        Assert.Equal(DropReason.Policy, reason);
        Assert.False(Allows(Ipv6From(IpProtocol.Icmpv6, Redirect, headers), out _), chain);
    }

    [Theory]
    [MemberData(nameof(Chains))]
    public void A_dhcpv6_server_message_is_dropped_behind_any_chain(string chain, byte[][] headers)
    {
        byte[] advertise = [0x02, 0x23, 0x02, 0x22, 0, 12, 0, 0, 2, 0, 0, 1];   // 547 -> 546, ADVERTISE
        Assert.False(Allows(Ipv6From(IpProtocol.Udp, advertise, headers), out _), chain);
        byte[] solicit = [0x02, 0x22, 0x02, 0x23, 0, 12, 0, 0, 1, 0, 0, 1];     // 546 -> 547: a client, allowed
        Assert.True(Allows(Ipv6From(IpProtocol.Udp, solicit, headers), out _), chain);
    }

    [Theory]
    [MemberData(nameof(Chains))]
    public void Ordinary_icmpv6_behind_the_same_chains_passes(string chain, byte[][] headers)
    {
        byte[] echo = [128, 0, 0, 0, 0, 1, 0, 1];
        Assert.True(Allows(Ipv6From(IpProtocol.Icmpv6, echo, headers), out _), chain);
    }

    [Fact]
    public void A_first_fragment_without_the_icmpv6_header_is_dropped()
    {
        // RFC 7112 §5: the chain ends in a first fragment with no room for the ICMPv6 type.
        Assert.False(Allows(Ipv6From(IpProtocol.Icmpv6, [134], FirstFragment), out _));
        Assert.False(Allows(Ipv6From(IpProtocol.Icmpv6, [], DestinationOptions, FirstFragment), out _));
    }

    [Fact]
    public void A_chain_that_runs_past_the_packet_is_dropped_as_malformed()
    {
        var frame = Ipv6From(IpProtocol.Icmpv6, RouterAdvertisement, DestinationOptions);
        frame[EthernetFrame.HeaderLength + 41] = 100;   // 808 bytes of options in a small packet
        Assert.False(Allows(frame, out var reason));
        Assert.Equal(DropReason.Malformed, reason);
    }

    [Fact]
    public void A_later_fragment_passes_because_its_first_was_judged()
    {
        Assert.True(Allows(Ipv6From(IpProtocol.Icmpv6, [0, 0, 0, 0, 0, 0, 0, 0], LaterFragment), out _));
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
