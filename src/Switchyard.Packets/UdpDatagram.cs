using System.Buffers.Binary;

namespace Switchyard.Packets;

/// <summary>A UDP datagram (RFC 768), viewed in place.</summary>
public readonly ref struct UdpDatagram
{
    public const int HeaderLength = 8;

    public readonly ReadOnlySpan<byte> Bytes;  // header + payload, trimmed to the UDP Length field
    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(Bytes);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(Bytes[2..]);
    public ushort ChecksumField => BinaryPrimitives.ReadUInt16BigEndian(Bytes[6..]);
    public ReadOnlySpan<byte> Payload => Bytes[HeaderLength..];

    private UdpDatagram(ReadOnlySpan<byte> bytes) => Bytes = bytes;

    public static bool TryParse(ReadOnlySpan<byte> p, out UdpDatagram udp)
    {
        udp = default;
        if (p.Length < HeaderLength) return false;
        int len = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        if (len < HeaderLength || len > p.Length) return false;
        udp = new UdpDatagram(p[..len]);
        return true;
    }

    /// <summary>A zero checksum means the sender did not compute one (RFC 768), which IPv4 allows.</summary>
    public bool IsChecksumValid(Ipv4Address source, Ipv4Address destination) =>
        ChecksumField == 0 || Checksum.Finish(Checksum.Add(Checksum.PseudoHeaderV4(source, destination, IpProtocol.Udp, Bytes.Length), Bytes)) == 0;

    /// <summary>Writes the header for a payload already in place at d[8..8+payloadLength] and its checksum.</summary>
    public static int Write(Span<byte> d, Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort, int payloadLength)
    {
        int len = HeaderLength + payloadLength;
        BinaryPrimitives.WriteUInt16BigEndian(d, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(d[4..], (ushort)len);
        d[6] = d[7] = 0;
        ushort sum = Checksum.Finish(Checksum.Add(Checksum.PseudoHeaderV4(source, destination, IpProtocol.Udp, len), d[..len]));
        // A computed zero is sent as all ones: zero means "no checksum" (RFC 768).
        BinaryPrimitives.WriteUInt16BigEndian(d[6..], sum == 0 ? (ushort)0xFFFF : sum);
        return len;
    }

    /// <summary>Over IPv6 the checksum is mandatory (RFC 8200 §8.1): zero is invalid.</summary>
    public bool IsChecksumValid(Ipv6Address source, Ipv6Address destination) =>
        ChecksumField != 0 && Ipv6Packet.IsChecksumValid(source, destination, IpProtocol.Udp, Bytes);

    /// <summary>Writes the header for a payload already in place at d[8..8+payloadLength] and its IPv6 checksum.</summary>
    public static int WriteV6(Span<byte> d, Ipv6Address source, Ipv6Address destination, ushort sourcePort, ushort destinationPort, int payloadLength)
    {
        int len = HeaderLength + payloadLength;
        BinaryPrimitives.WriteUInt16BigEndian(d, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(d[4..], (ushort)len);
        Ipv6Packet.WriteChecksum(d[..len], source, destination, IpProtocol.Udp, 6);
        return len;
    }
}
