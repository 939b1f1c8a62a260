using PacketDotNet;
using ArpPacket = Switchyard.Packets.ArpPacket;
using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Gateway;

public sealed class GatewayPortTests : IDisposable
{
    private readonly VirtualNetwork _net = Create();
    private readonly FakeTransport _a;

    public GatewayPortTests() => _a = Attach(_net, "alpha", MacA, IpA);

    public void Dispose() => _net.Dispose();

    [Fact]
    public void ArpRequestForGateway_GetsReplyWithGatewayMac()
    {
        _a.Inject(Frames.Arp(MacAddress.Broadcast, ArpPacket.OpRequest, MacA, IpA, MacAddress.Zero, GatewayIp));
        var frame = Assert.Single(_a.Sent);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        Assert.Equal(EthernetType.Arp, eth.Type);
        Assert.Equal(MacA.ToString(), Mac(eth.DestinationHardwareAddress));
        Assert.Equal(GatewayMac.ToString(), Mac(eth.SourceHardwareAddress));
        var arp = eth.Extract<PacketDotNet.ArpPacket>();
        Assert.Equal(ArpOperation.Response, arp.Operation);
        Assert.Equal(GatewayMac.ToString(), Mac(arp.SenderHardwareAddress));
        Assert.Equal(GatewayIp.ToString(), arp.SenderProtocolAddress.ToString());
        Assert.Equal(MacA.ToString(), Mac(arp.TargetHardwareAddress));
        Assert.Equal(IpA.ToString(), arp.TargetProtocolAddress.ToString());
    }

    [Fact]
    public void ArpRequestForOtherAddress_GetsNoReply()
    {
        _a.Inject(Frames.Arp(MacAddress.Broadcast, ArpPacket.OpRequest, MacA, IpA, MacAddress.Zero, Ipv4Address.Parse("10.88.0.77")));
        _a.Inject(Frames.Arp(MacAddress.Broadcast, ArpPacket.OpReply, MacA, IpA, MacAddress.Zero, GatewayIp));
        _a.Inject(Frames.Arp(MacAddress.Broadcast, ArpPacket.OpRequest, MacA, Ipv4Address.Any, MacAddress.Zero, GatewayIp)); // probe
        Assert.Empty(_a.Sent);
    }

    [Fact]
    public void IcmpEcho_IsAnsweredWithSameIdSeqAndData()
    {
        byte[] data = [.. Enumerable.Range(0, 56).Select(i => (byte)(i * 7))];
        _a.Inject(Frames.IcmpEcho(GatewayMac, MacA, IpA, GatewayIp, 0x1234, 42, data));
        var frame = Assert.Single(_a.Sent);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        Assert.Equal(MacA.ToString(), Mac(eth.DestinationHardwareAddress));
        var ip = eth.Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(GatewayIp.ToString(), ip.SourceAddress.ToString());
        Assert.Equal(IpA.ToString(), ip.DestinationAddress.ToString());
        var icmp = eth.Extract<IcmpV4Packet>();
        Assert.Equal(IcmpV4TypeCode.EchoReply, icmp.TypeCode);
        Assert.True(icmp.ValidIcmpChecksum);
        Assert.Equal(0x1234, icmp.Id);
        Assert.Equal(42, icmp.Sequence);
        Assert.Equal(data, icmp.PayloadData);
    }

    [Fact]
    public void IcmpEchoWithBadChecksum_IsDropped()
    {
        var frame = Frames.IcmpEcho(GatewayMac, MacA, IpA, GatewayIp, 1, 1, [1, 2, 3, 4]);
        frame[EthernetFrameWriter.L4Offset + 2] ^= 0xFF;
        _a.Inject(frame);
        Assert.Empty(_a.Sent);
        Assert.Equal(1, _net.Gateway.Counters.Dropped(DropReason.Malformed));
    }

    [Fact]
    public void UdpToClosedPort_GetsPortUnreachableQuotingTheDatagram()
    {
        byte[] payload = [.. Enumerable.Range(0, 30).Select(i => (byte)i)];
        var sent = Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, 40000, 9999, payload);
        _a.Inject(sent);
        var frame = Assert.Single(_a.Sent);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        var ip = eth.Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(IpA.ToString(), ip.DestinationAddress.ToString());
        var icmp = eth.Extract<IcmpV4Packet>();
        Assert.Equal(IcmpV4TypeCode.UnreachablePort, icmp.TypeCode);
        Assert.True(icmp.ValidIcmpChecksum);
        // The quote: the original IP header and the first 8 bytes of its payload (the UDP header).
        var quoted = frame.AsSpan(EthernetFrameWriter.L4Offset + IcmpPacket.HeaderLength).ToArray();
        Assert.Equal(sent.AsSpan(EthernetFrame.HeaderLength, Ipv4Packet.MinHeaderLength + 8).ToArray(), quoted);
    }

    [Fact]
    public void DnsOverUdp_IsAnsweredFromPort53()
    {
        var query = DnsTestMessages.Query("alpha.test.internal", Switchyard.Packets.Dns.DnsType.A, id: 0x0909);
        _a.Inject(Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, 45000, 53, query));
        var frame = Assert.Single(_a.Sent);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        Assert.True(eth.Extract<IPv4Packet>().ValidIPChecksum);
        var udp = eth.Extract<UdpPacket>();
        Assert.True(udp.ValidUdpChecksum);
        Assert.Equal(53, udp.SourcePort);
        Assert.Equal(45000, udp.DestinationPort);
        var reply = DnsTestMessages.Parse(udp.PayloadData);
        Assert.Equal(0x0909, reply.Header.Id);
        Assert.Equal(IpA, Assert.Single(reply.Answers).Address);
    }

    [Fact]
    public void RoutedTraffic_OnAnInternalNetwork_IsRefusedAdministrativelyProhibited()
    {
        var sent = Frames.Udp(GatewayMac, MacA, IpA, Ipv4Address.Parse("192.0.2.1"), 40000, 9999, [1]);
        _a.Inject(sent);
        var frame = Assert.Single(_a.Sent);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        var ip = eth.Extract<IPv4Packet>();
        Assert.Equal(GatewayIp.ToString(), ip.SourceAddress.ToString());
        Assert.Equal(IpA.ToString(), ip.DestinationAddress.ToString());
        var icmp = eth.Extract<IcmpV4Packet>();
        Assert.Equal(3, (int)icmp.TypeCode >> 8);
        Assert.Equal(13, (int)icmp.TypeCode & 0xFF); // RFC 1812 §5.2.7.1: communication administratively prohibited
        Assert.True(icmp.ValidIcmpChecksum);
        var quoted = frame.AsSpan(EthernetFrameWriter.L4Offset + IcmpPacket.HeaderLength).ToArray();
        Assert.Equal(sent.AsSpan(EthernetFrame.HeaderLength, Ipv4Packet.MinHeaderLength + 8).ToArray(), quoted);
        Assert.Equal(1, _net.Gateway.Counters.Dropped(DropReason.Policy));
    }

    [Fact]
    public void RoutedMulticastAndIcmpErrors_GetNoIcmpError()
    {
        _a.Inject(Frames.Udp(MacAddress.Broadcast, MacA, IpA, Ipv4Address.Parse("224.0.0.251"), 5353, 5353, [1]));
        var unreachable = Frames.IcmpEcho(GatewayMac, MacA, IpA, Ipv4Address.Parse("192.0.2.1"), 1, 1, [1, 2, 3, 4]);
        var l4 = unreachable.AsSpan(EthernetFrameWriter.L4Offset);
        IcmpPacket.Finish(l4, IcmpPacket.TypeDestinationUnreachable, 3, l4.Length);
        _a.Inject(unreachable);
        Assert.Empty(_a.Sent);
    }

    [Fact]
    public void BadIpv4HeaderChecksum_IsCountedMalformedWithoutReply()
    {
        var frame = Frames.IcmpEcho(GatewayMac, MacA, IpA, GatewayIp, 1, 1, [1, 2, 3, 4]);
        frame[EthernetFrame.HeaderLength + 10] ^= 0x5A;
        _a.Inject(frame);
        Assert.Empty(_a.Sent);
        Assert.Equal(1, _net.Gateway.Counters.Dropped(DropReason.Malformed));
    }

    [Fact]
    public void UdpWithBadChecksum_IsCountedMalformedWithoutReply()
    {
        var frame = Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, 40000, 9999, [1, 2, 3]);
        frame[EthernetFrameWriter.L4Offset + 6] ^= 0x01;
        _a.Inject(frame);
        Assert.Empty(_a.Sent);
        Assert.Equal(1, _net.Gateway.Counters.Dropped(DropReason.Malformed));
    }

    [Fact]
    public void FragmentToGateway_IsDropped()
    {
        var frame = Frames.IcmpEcho(GatewayMac, MacA, IpA, GatewayIp, 1, 1, [1, 2, 3, 4]);
        var ipHdr = frame.AsSpan(EthernetFrame.HeaderLength, Ipv4Packet.MinHeaderLength);
        ipHdr[6] |= 0x20; // more fragments
        ipHdr[10] = ipHdr[11] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(ipHdr[10..], Checksum.Compute(ipHdr));
        _a.Inject(frame);
        Assert.Empty(_a.Sent);
        Assert.Equal(1, _net.Gateway.Counters.Dropped(DropReason.Malformed));
    }

    [Fact]
    public void FloodedUnicastForSomeoneElse_IsIgnoredByGateway()
    {
        _a.Inject(Frames.IcmpEcho(MacB, MacA, IpA, GatewayIp, 1, 1, [1]));
        Assert.Empty(_a.Sent);
        Assert.Equal(0, _net.Gateway.Counters.DroppedTotal);
    }

    [Fact]
    public void GuestsReachEachOtherThroughTheSwitch()
    {
        var b = Attach(_net, "beta", MacB, IpB);
        var f = Frames.Udp(MacB, MacA, IpA, IpB, 1000, 2000, [9, 9]);
        _a.Inject(f);
        Assert.Equal(f, Assert.Single(b.Sent));
        Assert.Empty(_a.Sent);
    }

    [Fact]
    public void Detach_RemovesPortAndForgetsMac()
    {
        var b = Attach(_net, "beta", MacB, IpB);
        b.Inject(Frames.Udp(MacA, MacB, IpB, IpA, 1, 2, [1]));
        Assert.NotNull(_net.Detach("beta"));
        Assert.Null(_net.Detach("beta"));
        Assert.DoesNotContain(_net.Switch.Ports, p => p.Name == "beta");
        Assert.Throws<InvalidOperationException>(() => Attach(_net, "alpha", MacB, IpB));
    }

    internal static string Mac(System.Net.NetworkInformation.PhysicalAddress a) =>
        string.Join(":", a.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
}
