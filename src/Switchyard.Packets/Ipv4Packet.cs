using System.Buffers.Binary;

namespace Switchyard.Packets;

public static class IpProtocol
{
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Icmpv6 = 58;
}

/// <summary>An IPv4 datagram viewed in place (RFC 791 §3.1).</summary>
public readonly ref struct Ipv4Packet
{
    public const int MinHeaderLength = 20;

    public readonly ReadOnlySpan<byte> Bytes;   // header + payload, trimmed to Total Length
    public readonly int HeaderLength;
    public readonly byte Protocol;
    public readonly byte Ttl;
    public readonly ushort Identification;
    public readonly ushort FlagsAndFragmentOffset;
    public readonly Ipv4Address Source;
    public readonly Ipv4Address Destination;

    private Ipv4Packet(ReadOnlySpan<byte> bytes, int ihl, byte proto, byte ttl, ushort id, ushort frag, Ipv4Address src, Ipv4Address dst)
    {
        Bytes = bytes; HeaderLength = ihl; Protocol = proto; Ttl = ttl; Identification = id; FlagsAndFragmentOffset = frag; Source = src; Destination = dst;
    }

    public ReadOnlySpan<byte> Header => Bytes[..HeaderLength];
    public ReadOnlySpan<byte> Options => Bytes[MinHeaderLength..HeaderLength];
    public ReadOnlySpan<byte> Payload => Bytes[HeaderLength..];
    public int TotalLength => Bytes.Length;
    public bool DontFragment => (FlagsAndFragmentOffset & 0x4000) != 0;
    public bool MoreFragments => (FlagsAndFragmentOffset & 0x2000) != 0;
    public int FragmentOffset => (FlagsAndFragmentOffset & 0x1FFF) * 8;
    /// <summary>Any piece of a fragmented datagram: MF set or a non-zero offset (RFC 791 §3.2).</summary>
    public bool IsFragment => (FlagsAndFragmentOffset & 0x3FFF) != 0;
    public bool IsHeaderChecksumValid => Checksum.Compute(Header) == 0;
    /// <summary>What an ICMP error about this packet quotes: its header and the first 8 bytes of
    /// its data (RFC 792), or less when the packet is shorter.</summary>
    public ReadOnlySpan<byte> ErrorQuote => Bytes[..Math.Min(Bytes.Length, HeaderLength + 8)];

    /// <summary>Validates version, IHL and Total Length against the buffer; the link layer may pad
    /// short frames, so the view is trimmed to Total Length.</summary>
    public static bool TryParse(ReadOnlySpan<byte> p, out Ipv4Packet packet)
    {
        packet = default;
        if (p.Length < MinHeaderLength || p[0] >> 4 != 4) return false;
        int ihl = (p[0] & 0xF) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (ihl < MinHeaderLength || total < ihl || total > p.Length) return false;
        packet = new Ipv4Packet(p[..total], ihl, p[9], p[8], BinaryPrimitives.ReadUInt16BigEndian(p[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(p[6..]), Ipv4Address.Read(p[12..]), Ipv4Address.Read(p[16..]));
        return true;
    }

    /// <summary>Writes a 20-byte header without options and its checksum.</summary>
    public static int WriteHeader(Span<byte> d, Ipv4Address source, Ipv4Address destination, byte protocol, int payloadLength,
        byte ttl = 64, ushort identification = 0, bool dontFragment = true, byte tos = 0)
    {
        d[0] = 0x45;
        d[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], (ushort)(MinHeaderLength + payloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(d[4..], identification);
        BinaryPrimitives.WriteUInt16BigEndian(d[6..], dontFragment ? (ushort)0x4000 : (ushort)0);
        d[8] = ttl;
        d[9] = protocol;
        d[10] = d[11] = 0;
        source.Write(d[12..]);
        destination.Write(d[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(d[10..], Checksum.Compute(d[..MinHeaderLength]));
        return MinHeaderLength;
    }
}
