namespace Switchyard.Packets;

/// <summary>Composes whole Ethernet/IPv4 frames for the gateway's own replies. Callers write the
/// innermost payload in place at the offsets below first, then call the matching Finish method,
/// so a reply is built in one buffer with no copies.</summary>
public static class EthernetFrameWriter
{
    public const int Ipv4Offset = EthernetFrame.HeaderLength;
    public const int L4Offset = Ipv4Offset + Ipv4Packet.MinHeaderLength;
    public const int UdpPayloadOffset = L4Offset + UdpDatagram.HeaderLength;
    /// <summary>Where an IPv6 frame's upper layer starts (no extension headers).</summary>
    public const int Ipv6L4Offset = Ipv4Offset + Ipv6Packet.HeaderLength;
    public const int Ipv6UdpPayloadOffset = Ipv6L4Offset + UdpDatagram.HeaderLength;

    /// <summary>Finishes a UDP frame whose payload is at <see cref="UdpPayloadOffset"/>; returns the frame length.</summary>
    public static int FinishUdp(Span<byte> frame, MacAddress dstMac, MacAddress srcMac, Ipv4Address src, Ipv4Address dst,
        ushort srcPort, ushort dstPort, int payloadLength)
    {
        int udpLen = UdpDatagram.Write(frame[L4Offset..], src, dst, srcPort, dstPort, payloadLength);
        Ipv4Packet.WriteHeader(frame[Ipv4Offset..], src, dst, IpProtocol.Udp, udpLen, dontFragment: false);
        EthernetFrame.WriteHeader(frame, dstMac, srcMac, EtherType.IPv4);
        return L4Offset + udpLen;
    }

    /// <summary>Finishes an IPv4 frame whose L4 bytes (checksummed already) are at <see cref="L4Offset"/>.</summary>
    public static int FinishIpv4(Span<byte> frame, MacAddress dstMac, MacAddress srcMac, Ipv4Address src, Ipv4Address dst, byte protocol, int l4Length)
    {
        Ipv4Packet.WriteHeader(frame[Ipv4Offset..], src, dst, protocol, l4Length);
        EthernetFrame.WriteHeader(frame, dstMac, srcMac, EtherType.IPv4);
        return L4Offset + l4Length;
    }

    /// <summary>Finishes an IPv6 frame whose upper layer (checksummed already) is at <see cref="Ipv6L4Offset"/>.</summary>
    public static int FinishIpv6(Span<byte> frame, MacAddress dstMac, MacAddress srcMac, Ipv6Address src, Ipv6Address dst, byte nextHeader, int l4Length, byte hopLimit = 64)
    {
        Ipv6Packet.WriteHeader(frame[Ipv4Offset..], src, dst, nextHeader, l4Length, hopLimit);
        EthernetFrame.WriteHeader(frame, dstMac, srcMac, EtherType.IPv6);
        return Ipv6L4Offset + l4Length;
    }

    /// <summary>Finishes an IPv6 UDP frame whose payload is at <see cref="Ipv6UdpPayloadOffset"/>; returns the frame length.</summary>
    public static int FinishUdpV6(Span<byte> frame, MacAddress dstMac, MacAddress srcMac, Ipv6Address src, Ipv6Address dst,
        ushort srcPort, ushort dstPort, int payloadLength)
    {
        int udpLen = UdpDatagram.WriteV6(frame[Ipv6L4Offset..], src, dst, srcPort, dstPort, payloadLength);
        return FinishIpv6(frame, dstMac, srcMac, src, dst, IpProtocol.Udp, udpLen);
    }
}
