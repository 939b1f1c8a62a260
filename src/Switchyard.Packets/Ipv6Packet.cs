using System.Buffers.Binary;

namespace Switchyard.Packets;

/// <summary>An IPv6 packet viewed in place (RFC 8200 §3). Extension headers are not walked:
/// <see cref="NextHeader"/> is the fixed header's field, and callers treat anything but the upper
/// layers they serve as not theirs.</summary>
public readonly ref struct Ipv6Packet
{
    public const int HeaderLength = 40;

    public readonly ReadOnlySpan<byte> Bytes;   // header + payload, trimmed to Payload Length
    public readonly byte NextHeader;
    public readonly byte HopLimit;
    public readonly Ipv6Address Source;
    public readonly Ipv6Address Destination;

    private Ipv6Packet(ReadOnlySpan<byte> bytes, byte next, byte hops, Ipv6Address src, Ipv6Address dst)
    {
        Bytes = bytes; NextHeader = next; HopLimit = hops; Source = src; Destination = dst;
    }

    public ReadOnlySpan<byte> Payload => Bytes[HeaderLength..];
    public ReadOnlySpan<byte> SourceBytes => Bytes.Slice(8, 16);
    public ReadOnlySpan<byte> DestinationBytes => Bytes.Slice(24, 16);

    /// <summary>What an ICMPv6 error about this packet quotes: as much of it as fits in the minimum
    /// MTU (RFC 4443 §2.4 (c)), here at most header plus 1232 - 48 bytes.</summary>
    public ReadOnlySpan<byte> ErrorQuote => Bytes[..Math.Min(Bytes.Length, 1280 - HeaderLength - 8)];

    /// <summary>Validates version and Payload Length against the buffer; link-layer padding is trimmed.
    /// A jumbogram (payload length 0, RFC 2675) is refused: no link here carries one.</summary>
    public static bool TryParse(ReadOnlySpan<byte> p, out Ipv6Packet packet)
    {
        packet = default;
        if (p.Length < HeaderLength || p[0] >> 4 != 6) return false;
        int payload = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        if (HeaderLength + payload > p.Length) return false;
        packet = new Ipv6Packet(p[..(HeaderLength + payload)], p[6], p[7], Ipv6Address.Read(p[8..]), Ipv6Address.Read(p[24..]));
        return true;
    }

    /// <summary>Writes a 40-byte header: traffic class and flow label zero.</summary>
    public static int WriteHeader(Span<byte> d, Ipv6Address source, Ipv6Address destination, byte nextHeader, int payloadLength, byte hopLimit = 64)
    {
        BinaryPrimitives.WriteUInt32BigEndian(d, 0x6000_0000);
        BinaryPrimitives.WriteUInt16BigEndian(d[4..], (ushort)payloadLength);
        d[6] = nextHeader;
        d[7] = hopLimit;
        source.Write(d[8..]);
        destination.Write(d[24..]);
        return HeaderLength;
    }

    /// <summary>The pseudo-header sum for an upper layer of this packet (RFC 8200 §8.1).</summary>
    public static ulong PseudoHeader(Ipv6Address source, Ipv6Address destination, byte nextHeader, int length)
    {
        Span<byte> a = stackalloc byte[32];
        source.Write(a);
        destination.Write(a[16..]);
        return Checksum.PseudoHeaderV6(a, a[16..], nextHeader, length);
    }

    /// <summary>Whether an upper-layer message's checksum (its field in place) is right; for IPv6
    /// a UDP checksum is mandatory (RFC 8200 §8.1), so zero is not "none".</summary>
    public static bool IsChecksumValid(Ipv6Address source, Ipv6Address destination, byte nextHeader, ReadOnlySpan<byte> upperLayer) =>
        Checksum.Finish(Checksum.Add(PseudoHeader(source, destination, nextHeader, upperLayer.Length), upperLayer)) == 0;

    /// <summary>Fills the checksum at <paramref name="checksumOffset"/> of an upper-layer message already in place.</summary>
    public static void WriteChecksum(Span<byte> upperLayer, Ipv6Address source, Ipv6Address destination, byte nextHeader, int checksumOffset)
    {
        upperLayer[checksumOffset] = upperLayer[checksumOffset + 1] = 0;
        ushort sum = Checksum.Finish(Checksum.Add(PseudoHeader(source, destination, nextHeader, upperLayer.Length), upperLayer));
        // UDP sends a computed zero as all ones (RFC 8200 §8.1); for TCP and ICMPv6 both mean the same sum.
        if (sum == 0 && nextHeader == IpProtocol.Udp) sum = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(upperLayer[checksumOffset..], sum);
    }
}
