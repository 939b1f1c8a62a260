using PacketDotNet;

namespace Switchyard.Packets.Tests.Core;

/// <summary>The too-big answer (RFC 1191 / RFC 4443 section 3.2) read back by PacketDotNet, and the
/// packets RFC 1122 section 3.2.2 and RFC 4443 section 2.4 (e) say must get none.</summary>
public class TooBigReplyTests
{
    private static readonly MacAddress Sender = MacAddress.Parse("02:00:00:00:00:0a"), Receiver = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly Ipv4Address From4 = Ipv4Address.Parse("10.9.0.2"), To4 = Ipv4Address.Parse("10.9.0.3");
    private static readonly Ipv6Address From6 = Ipv6Address.Parse("fd00::2"), To6 = Ipv6Address.Parse("fd00::3");

    private static byte[] V4(int ipLength, byte protocol = IpProtocol.Tcp, bool df = true, MacAddress? dst = null, Ipv4Address? to = null, byte firstPayloadByte = 0)
    {
        var f = new byte[EthernetFrameWriter.L4Offset + ipLength - 20];
        f[EthernetFrameWriter.L4Offset] = firstPayloadByte;
        Ipv4Packet.WriteHeader(f.AsSpan(14), From4, to ?? To4, protocol, ipLength - 20, dontFragment: df);
        EthernetFrame.WriteHeader(f, dst ?? Receiver, Sender, EtherType.IPv4);
        return f;
    }

    private static byte[] V6(int payloadLength, byte nextHeader = IpProtocol.Tcp, Ipv6Address? to = null, byte firstPayloadByte = 0)
    {
        var f = new byte[14 + 40 + payloadLength];
        f[54] = firstPayloadByte;
        Ipv6Packet.WriteHeader(f.AsSpan(14), From6, to ?? To6, nextHeader, payloadLength);
        EthernetFrame.WriteHeader(f, Receiver, Sender, EtherType.IPv6);
        return f;
    }

    [Fact]
    public void Ipv4_gets_fragmentation_needed_with_the_mtu_from_the_destination()
    {
        var d = new byte[TooBigReply.MaxLength];
        int n = TooBigReply.TryWrite(V4(1500), 1450, d);
        Assert.True(n > 0);
        var p = Packet.ParsePacket(LinkLayers.Ethernet, d[..n]);
        var eth = p.Extract<EthernetPacket>();
        Assert.Equal(Sender.ToString().Replace(":", "").ToUpperInvariant(), eth.DestinationHardwareAddress.ToString());
        var ip = p.Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal((To4.ToString(), From4.ToString()), (ip.SourceAddress.ToString(), ip.DestinationAddress.ToString()));
        var icmp = p.Extract<IcmpV4Packet>();
        Assert.Equal(IcmpV4TypeCode.UnreachableFragmentationNeeded, icmp.TypeCode);
        Assert.True(icmp.ValidIcmpChecksum);
        Assert.Equal(1450, (d[34 + 6] << 8) | d[34 + 7]);
        Assert.Equal(8 + 20 + 8, n - 34);   // the quote: the original header and 8 bytes (RFC 792)
    }

    [Fact]
    public void Ipv6_gets_packet_too_big_quoting_up_to_1280_bytes()
    {
        var d = new byte[TooBigReply.MaxLength];
        int n = TooBigReply.TryWrite(V6(1460), 1450, d);
        Assert.Equal(TooBigReply.MaxLength, n);
        var p = Packet.ParsePacket(LinkLayers.Ethernet, d[..n]);
        var ip = p.Extract<IPv6Packet>();
        Assert.Equal((To6.ToString(), From6.ToString()), (ip.SourceAddress.ToString(), ip.DestinationAddress.ToString()));
        var icmp = p.Extract<IcmpV6Packet>();
        Assert.Equal(IcmpV6Type.PacketTooBig, icmp.Type);
        Assert.True(Ipv6Packet.IsChecksumValid(To6, From6, IpProtocol.Icmpv6, d.AsSpan(54, n - 54)));
        Assert.Equal(1450u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(54 + 4)));
    }

    [Fact]
    public void Ipv6_never_reports_less_than_1280()
    {
        var d = new byte[TooBigReply.MaxLength];
        Assert.True(TooBigReply.TryWrite(V6(1300), 1000, d) > 0);
        Assert.Equal(1280u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(54 + 4)));
    }

    public static TheoryData<string, byte[]> NoReply => new()
    {
        { "IPv4 without DF", V4(1500, df: false) },
        { "an ICMP error", V4(1500, IpProtocol.Icmp, firstPayloadByte: 3) },
        { "an ICMPv6 error", V6(1460, IpProtocol.Icmpv6, firstPayloadByte: 1) },
        { "broadcast MAC", V4(1500, dst: MacAddress.Broadcast) },
        { "multicast IPv4", V4(1500, to: Ipv4Address.Parse("239.1.1.1")) },
        { "multicast IPv6", V6(1460, to: Ipv6Address.Parse("ff02::1")) },
        { "not IP", new byte[1500] },
        { "truncated", V4(1500)[..30] },
    };

    [Theory]
    [MemberData(nameof(NoReply))]
    public void Gets_no_reply(string what, byte[] frame)
    {
        var d = new byte[TooBigReply.MaxLength];
        Assert.True(TooBigReply.TryWrite(frame, 1450, d) == 0, what);
    }

    [Fact]
    public void An_icmp_echo_is_answered_like_any_packet()
    {
        var d = new byte[TooBigReply.MaxLength];
        Assert.True(TooBigReply.TryWrite(V4(1500, IpProtocol.Icmp, firstPayloadByte: 8), 1450, d) > 0);
    }
}
