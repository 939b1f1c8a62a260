using System.Buffers.Binary;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Infrastructure;

/// <summary>Builds guest frames with the project's own codecs.</summary>
internal static class Frames
{
    public static byte[] Raw(MacAddress dst, MacAddress src, ushort etherType, int payloadLength = 46)
    {
        var f = new byte[EthernetFrame.HeaderLength + payloadLength];
        EthernetFrame.WriteHeader(f, dst, src, etherType);
        return f;
    }

    public static byte[] Udp(MacAddress dstMac, MacAddress srcMac, Ipv4Address src, Ipv4Address dst, ushort srcPort, ushort dstPort, ReadOnlySpan<byte> payload)
    {
        var f = new byte[EthernetFrameWriter.UdpPayloadOffset + payload.Length];
        payload.CopyTo(f.AsSpan(EthernetFrameWriter.UdpPayloadOffset));
        int n = EthernetFrameWriter.FinishUdp(f, dstMac, srcMac, src, dst, srcPort, dstPort, payload.Length);
        return f[..n];
    }

    public static byte[] Arp(MacAddress dstMac, ushort op, MacAddress senderMac, Ipv4Address senderIp, MacAddress targetMac, Ipv4Address targetIp, MacAddress? ethSrc = null)
    {
        var f = new byte[EthernetFrame.HeaderLength + ArpPacket.Length];
        int n = EthernetFrame.WriteHeader(f, dstMac, ethSrc ?? senderMac, EtherType.Arp);
        n += ArpPacket.Write(f.AsSpan(n), op, senderMac, senderIp, targetMac, targetIp);
        return f[..n];
    }

    public static byte[] IcmpEcho(MacAddress dstMac, MacAddress srcMac, Ipv4Address src, Ipv4Address dst, ushort id, ushort seq, ReadOnlySpan<byte> data)
    {
        int len = IcmpPacket.HeaderLength + data.Length;
        var f = new byte[EthernetFrameWriter.L4Offset + len];
        var l4 = f.AsSpan(EthernetFrameWriter.L4Offset);
        BinaryPrimitives.WriteUInt16BigEndian(l4[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(l4[6..], seq);
        data.CopyTo(l4[8..]);
        IcmpPacket.Finish(l4, IcmpPacket.TypeEchoRequest, 0, len);
        return f[..EthernetFrameWriter.FinishIpv4(f, dstMac, srcMac, src, dst, IpProtocol.Icmp, len)];
    }

    public static byte[] Tcp(MacAddress dstMac, MacAddress srcMac, Ipv4Address src, Ipv4Address dst, ushort srcPort, ushort dstPort,
        uint seq, uint ack, TcpFlags flags, ReadOnlySpan<byte> payload = default, ReadOnlySpan<byte> options = default, ushort window = 65535)
    {
        int hl = TcpSegment.HeaderLengthFor(options.Length);
        var f = new byte[EthernetFrameWriter.L4Offset + hl + payload.Length];
        var l4 = f.AsSpan(EthernetFrameWriter.L4Offset);
        payload.CopyTo(l4[hl..]);
        int len = TcpSegment.Write(l4, src, dst, srcPort, dstPort, seq, ack, flags, window, options, payload.Length);
        return f[..EthernetFrameWriter.FinishIpv4(f, dstMac, srcMac, src, dst, IpProtocol.Tcp, len)];
    }

    /// <summary>A minimal IPv6 frame (40-byte header, no payload) from <paramref name="source"/>.</summary>
    public static byte[] Ipv6(MacAddress srcMac, System.Net.IPAddress source, byte nextHeader = IpProtocol.Icmpv6)
    {
        var f = new byte[EthernetFrame.HeaderLength + 40];
        EthernetFrame.WriteHeader(f, MacAddress.Parse("33:33:00:00:00:01"), srcMac, EtherType.IPv6);
        var p = f.AsSpan(EthernetFrame.HeaderLength);
        p[0] = 0x60;
        p[6] = nextHeader;   // with no payload
        p[7] = 255;
        source.GetAddressBytes().CopyTo(p[8..]);
        System.Net.IPAddress.Parse("ff02::1").GetAddressBytes().CopyTo(p[24..]);
        return f;
    }

    public static bool TryIpv4(byte[] frame, out Ipv4Packet ip)
    {
        ip = default;
        return EthernetFrame.TryParse(frame, out var eth) && eth.EtherType == EtherType.IPv4 && Ipv4Packet.TryParse(eth.Payload, out ip);
    }

    public static bool IsTcp(byte[] frame, Func<TcpSegment, bool>? match = null)
    {
        if (!TryIpv4(frame, out var ip) || ip.Protocol != IpProtocol.Tcp || !TcpSegment.TryParse(ip.Payload, out var seg)) return false;
        return match is null || match(seg);
    }

    public static TcpCopy ParseTcpCopy(byte[] frame)
    {
        var s = ParseTcp(frame);
        return new TcpCopy(s.SequenceNumber, s.AcknowledgmentNumber, s.Flags, s.Payload.ToArray());
    }

    public static TcpSegment ParseTcp(byte[] frame)
    {
        Assert.True(TryIpv4(frame, out var ip));
        Assert.Equal(IpProtocol.Tcp, ip.Protocol);
        Assert.True(TcpSegment.TryParse(ip.Payload, out var seg));
        Assert.True(seg.IsChecksumValid(ip.Source, ip.Destination));
        return seg;
    }
}

internal readonly record struct TcpCopy(uint Seq, uint Ack, TcpFlags Flags, byte[] Payload)
{
    public int PayloadLength => Payload.Length;
}
