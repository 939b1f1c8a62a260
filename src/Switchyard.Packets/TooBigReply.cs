using System.Buffers.Binary;

namespace Switchyard.Packets;

/// <summary>The answer to a frame that is too big for the link ahead: ICMP "fragmentation needed
/// and DF set" with the next-hop MTU (RFC 1191 section 4) for IPv4, ICMPv6 Packet Too Big (RFC 4443
/// section 3.2, used by RFC 8201) for IPv6, written as an Ethernet frame back to the sender.
///
/// As the Linux kernel's tunnels do for a bridged link (iptunnel_pmtud_build_icmp, Linux 5.9),
/// the reply comes from the original packet's destination (addresses and MACs swapped): an L2
/// tunnel has no address of its own on the guests' segment, and a reply from the destination is
/// what the sender's stack matches to the connection, whatever the network's mode.
///
/// No reply, as RFC 1122 section 3.2.2 and RFC 4443 section 2.4 (e) require, to: an ICMP error,
/// a non-first IPv4 fragment, a multicast or broadcast destination (IP or MAC), a source that is
/// not a unicast address; and no "fragmentation needed" to an IPv4 packet without DF (a router
/// would fragment it; the tunnel must not, RFC 7348 section 4.3, so it is only dropped).</summary>
public static class TooBigReply
{
    /// <summary>The longest reply: an ICMPv6 error fills at most the IPv6 minimum MTU (RFC 4443 section 2.4 (c)).</summary>
    public const int MaxLength = EthernetFrame.HeaderLength + 1280;

    /// <summary>Writes the reply to <paramref name="frame"/> (an untagged Ethernet frame) into
    /// <paramref name="d"/> (at least <see cref="MaxLength"/> bytes); returns its length, or 0
    /// when none is due. <paramref name="mtu"/> is the largest IP packet the link takes.</summary>
    public static int TryWrite(ReadOnlySpan<byte> frame, int mtu, Span<byte> d)
    {
        if (!EthernetFrame.TryParse(frame, out var eth) || eth.Destination.IsMulticast || eth.Source.IsMulticast || eth.VlanTci >= 0) return 0;
        return eth.EtherType switch
        {
            EtherType.IPv4 => TryWriteV4(eth, mtu, d),
            EtherType.IPv6 => TryWriteV6(eth, mtu, d),
            _ => 0,
        };
    }

    private static int TryWriteV4(in EthernetFrame eth, int mtu, Span<byte> d)
    {
        if (!Ipv4Packet.TryParse(eth.Payload, out var ip) || !ip.DontFragment || ip.FragmentOffset != 0) return 0;
        if (ip.Destination.IsMulticast || ip.Destination.IsBroadcast || ip.Source.IsMulticast || ip.Source.IsBroadcast || ip.Source == Ipv4Address.Any) return 0;
        if (ip.Protocol == IpProtocol.Icmp && IsIcmpError(ip.Payload, v6: false)) return 0;
        var quote = ip.ErrorQuote;   // the header and the first 8 bytes (RFC 792), what RFC 1191 hosts match on
        int icmpLength = IcmpPacket.HeaderLength + quote.Length;
        var icmp = d.Slice(EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength, icmpLength);
        icmp[0] = IcmpPacket.TypeDestinationUnreachable;
        icmp[1] = 4;   // fragmentation needed and DF set
        BinaryPrimitives.WriteUInt32BigEndian(icmp[4..], (uint)Math.Min(mtu, ushort.MaxValue));   // unused (16 bits), next-hop MTU (RFC 1191 section 4)
        icmp[2] = icmp[3] = 0;
        quote.CopyTo(icmp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum.Compute(icmp));
        return EthernetFrameWriter.FinishIpv4(d, eth.Source, eth.Destination, ip.Destination, ip.Source, IpProtocol.Icmp, icmpLength);
    }

    private static int TryWriteV6(in EthernetFrame eth, int mtu, Span<byte> d)
    {
        if (!Ipv6Packet.TryParse(eth.Payload, out var ip)) return 0;
        if (ip.Destination.IsMulticast || ip.Source.IsMulticast || ip.Source == Ipv6Address.Any) return 0;
        if (ip.NextHeader == IpProtocol.Icmpv6 && IsIcmpError(ip.Payload, v6: true)) return 0;
        var quote = ip.ErrorQuote;   // as much of the packet as fits in 1280 bytes (RFC 4443 section 2.4 (c))
        int icmpLength = Icmpv6Packet.HeaderLength + quote.Length;
        var icmp = d.Slice(EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength, icmpLength);
        icmp[0] = Icmpv6Packet.TypePacketTooBig;
        icmp[1] = 0;
        // IPv6 links carry at least 1280 (RFC 8200 section 5); a smaller MTU is not one to report.
        BinaryPrimitives.WriteUInt32BigEndian(icmp[4..], (uint)Math.Max(mtu, 1280));
        quote.CopyTo(icmp[8..]);
        Ipv6Packet.WriteChecksum(icmp, ip.Destination, ip.Source, IpProtocol.Icmpv6, 2);
        return EthernetFrameWriter.FinishIpv6(d, eth.Source, eth.Destination, ip.Destination, ip.Source, IpProtocol.Icmpv6, icmpLength);
    }

    /// <summary>ICMP errors (RFC 792: destination unreachable, source quench, redirect, time exceeded,
    /// parameter problem; RFC 4443: types below 128) never get an error in reply. Only the ICMPv6
    /// directly after the fixed header is recognised; one behind extension headers gets the reply.</summary>
    private static bool IsIcmpError(ReadOnlySpan<byte> icmp, bool v6)
    {
        if (icmp.IsEmpty) return true;   // too short to tell: no reply
        byte type = icmp[0];
        return v6 ? type < 128 : type is 3 or 4 or 5 or 11 or 12;
    }
}
