using System.Buffers.Binary;

namespace Switchyard.Packets;

/// <summary>What walking an IPv6 packet's header chain found.</summary>
public enum Ipv6ChainResult
{
    /// <summary>The upper-layer header's protocol and offset are known (its bytes may still be short).</summary>
    UpperLayer,
    /// <summary>A fragment other than the first: the upper-layer header is in another packet.</summary>
    LaterFragment,
    /// <summary>The chain runs past the packet's end, or is longer than any real one.</summary>
    Truncated,
}

/// <summary>
/// Walks an IPv6 packet's extension-header chain (RFC 8200 §4) to its upper-layer header, in
/// place. RA guard needs this (RFC 7113 §3): a router advertisement behind a Hop-by-Hop or
/// Destination Options header is still an RA to the host that receives it.
/// </summary>
public static class Ipv6HeaderChain
{
    public const byte HopByHop = 0, Routing = 43, Fragment = 44, Esp = 50, Ah = 51, NoNextHeader = 59, DestinationOptions = 60,
        Mobility = 135, Hip = 139, Shim6 = 140, Experimental1 = 253, Experimental2 = 254;

    /// <summary>More extension headers than this is no packet a host sends (and bounds the walk).</summary>
    private const int MaxHeaders = 16;

    /// <param name="packet">The IPv6 packet from its fixed header on (at least 40 bytes).</param>
    /// <param name="protocol">The upper layer's protocol number (ESP and No Next Header end the walk too).</param>
    /// <param name="offset">Where the upper-layer header starts in <paramref name="packet"/>.</param>
    public static Ipv6ChainResult Walk(ReadOnlySpan<byte> packet, out byte protocol, out int offset) =>
        Walk(packet, out protocol, out offset, out _);

    /// <param name="firstFragment">Whether the chain holds a Fragment header of offset 0: then the
    /// rest of the datagram is in later packets, and what this one leaves out may hide something.</param>
    public static Ipv6ChainResult Walk(ReadOnlySpan<byte> packet, out byte protocol, out int offset, out bool firstFragment)
    {
        firstFragment = false;
        protocol = packet[6];
        offset = Ipv6Packet.HeaderLength;
        for (int i = 0; i <= MaxHeaders; i++)
        {
            int length;
            switch (protocol)
            {
                case HopByHop or Routing or DestinationOptions or Mobility or Hip or Shim6 or Experimental1 or Experimental2:
                    // RFC 8200 §4.3-4.6 (and RFC 6564's uniform format): Hdr Ext Len in 8-octet units, not counting the first 8.
                    if (packet.Length < offset + 8) return Ipv6ChainResult.Truncated;
                    length = (packet[offset + 1] + 1) * 8;
                    break;
                case Ah:
                    // RFC 4302 §2.2: Payload Len in 4-octet units, minus 2.
                    if (packet.Length < offset + 8) return Ipv6ChainResult.Truncated;
                    length = (packet[offset + 1] + 2) * 4;
                    break;
                case Fragment:
                    // RFC 8200 §4.5: 8 bytes; a non-zero Fragment Offset means the chain's end is elsewhere.
                    if (packet.Length < offset + 8) return Ipv6ChainResult.Truncated;
                    if ((BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]) & 0xFFF8) != 0)
                    {
                        protocol = packet[offset];
                        offset += 8;
                        return Ipv6ChainResult.LaterFragment;
                    }
                    firstFragment = true;
                    length = 8;
                    break;
                default:
                    return offset <= packet.Length ? Ipv6ChainResult.UpperLayer : Ipv6ChainResult.Truncated;
            }
            protocol = packet[offset];
            offset += length;
        }
        return Ipv6ChainResult.Truncated;
    }
}
