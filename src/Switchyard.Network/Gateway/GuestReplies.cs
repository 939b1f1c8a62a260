using System.Buffers.Binary;
using Switchyard.Network.Switching;
using Switchyard.Packets;

namespace Switchyard.Network.Gateway;

/// <summary>
/// Every frame the network sends to its guests leaves the gateway's port through this type: the
/// gateway's own answers (ARP, ICMP, DHCP, DNS, Neighbor Discovery), DNS over TCP, and every NAT
/// reply. It knows the gateway's addresses (the source of those replies) and owns the per-thread
/// reply frame they are built in.
///
/// <para><b>One frame in flight per thread.</b> Each thread that sends has one reply frame
/// (<see cref="Frame"/>), allocated on its first reply and reused for ever after: no allocation per
/// frame, no lock (a guest's receive thread, a socket completion and a timer each have their own).
/// A reply is built in it and sent with <see cref="Send(ReadOnlySpan{byte})"/> before the next reply
/// on that thread starts: the switch delivers synchronously, every egress port copies or writes the
/// frame out before <c>Send</c> returns. So take the frame, build, send, and hold no span of it
/// across a call that may itself send a reply (that would write over the frame under you). The
/// frame may also serve as the thread's scratch (a datagram is received into it where its reply's
/// payload goes; an echo is rewritten in it before it goes to a host socket) under the same rule.</para>
/// </summary>
internal sealed class GuestReplies
{
    /// <summary>Room for the largest frame anything builds: a 64 KiB TSO job or reassembled datagram and its headers.</summary>
    private const int FrameSize = 65536 + 64;

    [ThreadStatic] private static byte[]? t_frame;

    private readonly EthernetSwitch _switch;
    private readonly SwitchPort _port;

    /// <param name="port">The gateway's port: replies enter the switch from it, and its counters
    /// take the drops of everything that answers through it.</param>
    /// <param name="ipv6">The network's IPv6 prefix (null on an IPv4-only network): the gateway is prefix::1
    /// and its EUI-64 link-local address.</param>
    internal GuestReplies(EthernetSwitch sw, SwitchPort port, MacAddress mac, Ipv4Subnet subnet, Ipv6Prefix? ipv6)
    {
        _switch = sw;
        _port = port;
        Mac = mac;
        Subnet = subnet;
        Address = subnet.FirstHost;
        if (ipv6 is { } prefix)
        {
            Ipv6Prefix = prefix;
            Ipv6Address = prefix.FirstHost;
            Ipv6LinkLocal = Packets.Ipv6Address.LinkLocal(mac);
        }
    }

    /// <summary>This thread's reply frame (see the type's remarks for the one-in-flight rule).</summary>
    internal static Span<byte> Frame => t_frame ??= new byte[FrameSize];

    public MacAddress Mac { get; }
    public Ipv4Address Address { get; }
    public Ipv4Subnet Subnet { get; }
    public Ipv6Address? Ipv6Address { get; }
    public Ipv6Address? Ipv6LinkLocal { get; }
    public Ipv6Prefix? Ipv6Prefix { get; }

    /// <summary>The gateway port's counters, where whatever answers through it counts its drops.</summary>
    internal PortCounters Counters => _port.Counters;

    /// <summary>The longest frame the switch takes without offload (MTU, Ethernet header, one VLAN tag).</summary>
    internal int MaxFrameLength => _switch.MaxFrameLength;

    /// <summary>Sends a finished frame into the switch.</summary>
    internal void Send(ReadOnlySpan<byte> frame) => _switch.Forward(_port, frame);

    /// <summary>Sends a frame with offload metadata (the NAT's partial checksums and TCP
    /// segmentation jobs); ports that cannot take offloads get it finished in software.</summary>
    internal void Send(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) => _switch.Forward(_port, frame, offload);

    /// <summary>Finishes and sends the IPv4 packet whose L4 bytes (checksum done) are at
    /// <see cref="EthernetFrameWriter.L4Offset"/> of <paramref name="frame"/>.</summary>
    internal void SendIpv4(Span<byte> frame, MacAddress guestMac, Ipv4Address source, Ipv4Address destination, byte protocol, int l4Length) =>
        Send(frame[..EthernetFrameWriter.FinishIpv4(frame, guestMac, Mac, source, destination, protocol, l4Length)]);

    /// <summary>Finishes and sends the IPv6 packet whose upper layer (checksum done) is at
    /// <see cref="EthernetFrameWriter.Ipv6L4Offset"/> of <paramref name="frame"/>.</summary>
    internal void SendIpv6(Span<byte> frame, MacAddress guestMac, Ipv6Address source, Ipv6Address destination, byte nextHeader, int l4Length, byte hopLimit = 64) =>
        Send(frame[..EthernetFrameWriter.FinishIpv6(frame, guestMac, Mac, source, destination, nextHeader, l4Length, hopLimit)]);

    /// <summary>ICMP destination unreachable with <paramref name="code"/> (RFC 792; RFC 1812
    /// §5.2.7.1), from <paramref name="from"/>, quoting <paramref name="quote"/> (the offending
    /// packet's IP header and at least 8 bytes after it).</summary>
    internal void SendUnreachable(MacAddress clientMac, Ipv4Address client, Ipv4Address from, byte code, ReadOnlySpan<byte> quote)
    {
        var frame = Frame;
        var l4 = frame[EthernetFrameWriter.L4Offset..];
        l4[4..8].Clear(); // unused
        quote.CopyTo(l4[IcmpPacket.HeaderLength..]);
        int len = IcmpPacket.HeaderLength + quote.Length;
        IcmpPacket.Finish(l4, IcmpPacket.TypeDestinationUnreachable, code, len);
        SendIpv4(frame, clientMac, from, client, IpProtocol.Icmp, len);
    }

    /// <summary>An ICMPv6 error (RFC 4443 §3) from <paramref name="from"/> to the packet's source,
    /// quoting as much of it as fits in the minimum MTU. Never about an ICMPv6 error itself, nor
    /// to a multicast or unspecified source (RFC 4443 §2.4 (e)).</summary>
    internal void SendUnreachableV6(MacAddress clientMac, Ipv6Address client, Ipv6Address from, byte type, byte code, ReadOnlySpan<byte> quote, uint pointer = 0)
    {
        if (client.IsUnspecified || client.IsMulticast) return;
        if (quote.Length > Ipv6Packet.HeaderLength && quote[6] == IpProtocol.Icmpv6 && quote[Ipv6Packet.HeaderLength] < 128) return;
        var frame = Frame;
        var l4 = frame[EthernetFrameWriter.Ipv6L4Offset..];
        BinaryPrimitives.WriteUInt32BigEndian(l4[4..], pointer);   // unused, or the parameter problem's pointer
        quote.CopyTo(l4[Icmpv6Packet.HeaderLength..]);
        int len = Icmpv6Packet.HeaderLength + quote.Length;
        Icmpv6Packet.Finish(l4, type, code, len, from, client);
        SendIpv6(frame, clientMac, from, client, IpProtocol.Icmpv6, len);
    }
}
