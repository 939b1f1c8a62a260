using Switchyard.Packets;

namespace Switchyard.Fuzz;

/// <summary>Ethernet through TCP: each target parses its layer and everything above it that the
/// gateway and the NAT read from a guest's frame.</summary>
internal static class LinkTargets
{
    public static void Ethernet(ReadOnlySpan<byte> input)
    {
        if (EthernetFrame.TryReadAddresses(input, out var dst, out var src))
            Targets.Sink += (long)(dst.Value ^ src.Value) + (dst.IsMulticast ? 1 : 0) + (src.IsBroadcast ? 1 : 0);
        if (!EthernetFrame.TryParse(input, out var frame)) return;
        Targets.Sink += frame.VlanTci + frame.Destination.ToString().Length + frame.Source.ToString().Length;
        switch (frame.EtherType)
        {
            case EtherType.Arp: Arp(frame.Payload); break;
            case EtherType.IPv4: Ipv4(frame.Payload); break;
            case EtherType.IPv6: Ipv6(frame.Payload); break;
            default: Targets.Sink += frame.Payload.Length; break;
        }
    }

    public static void Arp(ReadOnlySpan<byte> input)
    {
        if (!ArpPacket.TryParse(input, out var arp)) return;
        Targets.Sink += arp.Operation + arp.SenderIp.Value + arp.TargetIp.Value + (long)(arp.SenderMac.Value ^ arp.TargetMac.Value)
            + (arp.IsProbeOrAnnouncement ? 1 : 0) + arp.SenderIp.ToString().Length;
    }

    public static void Ipv4(ReadOnlySpan<byte> input)
    {
        if (!Ipv4Packet.TryParse(input, out var ip)) return;
        Targets.Sink += ip.Header.Length + ip.Options.Length + ip.ErrorQuote.Length + ip.TotalLength + ip.Ttl + ip.Identification
            + ip.FragmentOffset + (ip.DontFragment ? 1 : 0) + (ip.MoreFragments ? 2 : 0) + (ip.IsFragment ? 4 : 0)
            + (ip.IsHeaderChecksumValid ? 8 : 0) + ip.Source.Value + ip.Destination.Value;
        if (ip.IsFragment && ip.FragmentOffset != 0) return; // later fragments carry no upper-layer header
        switch (ip.Protocol)
        {
            case IpProtocol.Icmp: Icmp(ip.Payload); break;
            case IpProtocol.Udp: Udp(ip.Payload, ip.Source, ip.Destination); break;
            case IpProtocol.Tcp: Tcp(ip.Payload, ip.Source, ip.Destination); break;
        }
    }

    public static void Ipv6(ReadOnlySpan<byte> input)
    {
        if (!Ipv6Packet.TryParse(input, out var ip)) return;
        Targets.Sink += ip.Payload.Length + ip.ErrorQuote.Length + ip.SourceBytes[0] + ip.DestinationBytes[15] + ip.HopLimit
            + (long)(ip.Source.Low ^ ip.Destination.High) + (ip.Source.IsUnspecified ? 1 : 0) + ip.Destination.ToString().Length;
        var result = Ipv6HeaderChain.Walk(ip.Bytes, out byte protocol, out int offset, out bool firstFragment);
        Targets.Sink += (int)result + protocol + offset + (firstFragment ? 1 : 0);
        if (result != Ipv6ChainResult.UpperLayer) return;
        var upper = ip.Bytes[offset..];
        switch (protocol)
        {
            case IpProtocol.Icmpv6: Icmpv6(upper, ip.Source, ip.Destination); break;
            case IpProtocol.Udp: Udp(upper, ip.Source, ip.Destination); break;
            case IpProtocol.Tcp: Tcp(upper, ip.Source, ip.Destination); break;
        }
        // What the gateway reads with the fixed header only (Ipv6Packet.NextHeader), as before the chain walk.
        if (ip.NextHeader == IpProtocol.Icmpv6) Icmpv6(ip.Payload, ip.Source, ip.Destination);
    }

    public static void Icmp(ReadOnlySpan<byte> input)
    {
        if (!IcmpPacket.TryParse(input, out var icmp)) return;
        Targets.Sink += icmp.Type + icmp.Code + icmp.Identifier + icmp.Sequence + icmp.Payload.Length + (icmp.IsChecksumValid ? 1 : 0);
        // An error quotes the offending datagram (RFC 792): the NAT reads its header and ports.
        if (icmp.Type is IcmpPacket.TypeDestinationUnreachable or IcmpPacket.TypeTimeExceeded) Ipv4(icmp.Payload);
    }

    public static void Icmpv6(ReadOnlySpan<byte> input) => Icmpv6(input, default, default);

    private static void Icmpv6(ReadOnlySpan<byte> input, Ipv6Address source, Ipv6Address destination)
    {
        if (!Icmpv6Packet.TryParse(input, out var icmp)) return;
        Targets.Sink += icmp.Type + icmp.Code + icmp.Identifier + icmp.Sequence + (icmp.IsChecksumValid(source, destination) ? 1 : 0);
        if (icmp.TryGetTarget(out var target)) Targets.Sink += (long)target.Low;
        if (icmp.TryGetNdOptions(out var options))
        {
            var walk = options; // a copy: TryValidate walks it again from the start
            while (walk.TryRead(out var option))
            {
                Targets.Sink += option.Type + option.Bytes.Length;
                if (option.TryGetLinkLayerAddress(out var mac)) Targets.Sink += (long)mac.Value;
            }
            Targets.Sink += walk.Malformed ? 1 : 0;
            if (options.TryValidate(out var sll)) Targets.Sink += (long)(sll?.Value ?? 0);
        }
        if (icmp.Type is >= Icmpv6Packet.TypeDestinationUnreachable and <= Icmpv6Packet.TypeParameterProblem && input.Length > 8)
            Ipv6(input[8..]);
    }

    public static void Udp(ReadOnlySpan<byte> input)
    {
        Udp(input, default(Ipv4Address), default);
        Udp(input, default(Ipv6Address), default);
    }

    private static void Udp(ReadOnlySpan<byte> input, Ipv4Address source, Ipv4Address destination)
    {
        if (!UdpDatagram.TryParse(input, out var udp)) return;
        Targets.Sink += udp.SourcePort + udp.DestinationPort + udp.ChecksumField + udp.Payload.Length
            + (udp.IsChecksumValid(source, destination) ? 1 : 0);
        Services(udp.SourcePort, udp.DestinationPort, udp.Payload);
    }

    private static void Udp(ReadOnlySpan<byte> input, Ipv6Address source, Ipv6Address destination)
    {
        if (!UdpDatagram.TryParse(input, out var udp)) return;
        Targets.Sink += udp.SourcePort + udp.DestinationPort + udp.Payload.Length + (udp.IsChecksumValid(source, destination) ? 1 : 0);
        Services(udp.SourcePort, udp.DestinationPort, udp.Payload);
    }

    /// <summary>The gateway's own UDP services, reached by port.</summary>
    private static void Services(ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        if (destinationPort == 67 || sourcePort == 68) ServiceTargets.Dhcp(payload);
        if (destinationPort == 53) ServiceTargets.Dns(payload);
    }

    public static void Tcp(ReadOnlySpan<byte> input)
    {
        Tcp(input, default(Ipv4Address), default);
        Tcp(input, default(Ipv6Address), default);
    }

    private static void Tcp(ReadOnlySpan<byte> input, Ipv4Address source, Ipv4Address destination)
    {
        if (!TcpSegment.TryParse(input, out var tcp)) return;
        Segment(tcp);
        Targets.Sink += tcp.IsChecksumValid(source, destination) ? 1 : 0;
    }

    private static void Tcp(ReadOnlySpan<byte> input, Ipv6Address source, Ipv6Address destination)
    {
        if (!TcpSegment.TryParse(input, out var tcp)) return;
        Segment(tcp);
        Targets.Sink += tcp.IsChecksumValid(source, destination) ? 1 : 0;
    }

    private static void Segment(in TcpSegment tcp)
    {
        Targets.Sink += tcp.SourcePort + tcp.DestinationPort + tcp.SequenceNumber + tcp.AcknowledgmentNumber + (int)tcp.Flags
            + tcp.Window + tcp.Options.Length + tcp.Payload.Length + (tcp.Has(TcpFlags.Syn | TcpFlags.Ack) ? 1 : 0);
        var o = tcp.ReadOptions();
        Targets.Sink += (o.Mss ?? 0) + (o.WindowScale ?? 0) + (o.SackPermitted ? 1 : 0) + o.TimestampValue + o.TimestampEcho;
        if (tcp.TryGetReset(out uint seq, out uint ack, out var flags)) Targets.Sink += seq + ack + (int)flags;
        // The egress sniffers read the first payload of a flow to port 80 or 443.
        if (!tcp.Payload.IsEmpty)
        {
            if (tcp.DestinationPort == 443) ServiceTargets.Tls(tcp.Payload);
            if (tcp.DestinationPort == 80) ServiceTargets.Http(tcp.Payload);
        }
    }
}
