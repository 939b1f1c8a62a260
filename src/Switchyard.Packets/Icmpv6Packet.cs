using System.Buffers.Binary;
using System.Text;

namespace Switchyard.Packets;

/// <summary>ICMPv6 (RFC 4443), viewed in place, with the Neighbor Discovery messages (RFC 4861 §4)
/// the gateway answers and sends.</summary>
public readonly ref struct Icmpv6Packet
{
    public const int HeaderLength = 8;
    public const byte TypeDestinationUnreachable = 1;
    public const byte TypePacketTooBig = 2;
    public const byte TypeTimeExceeded = 3;
    public const byte TypeParameterProblem = 4;
    public const byte TypeEchoRequest = 128;
    public const byte TypeEchoReply = 129;
    public const byte TypeRouterSolicitation = 133;
    public const byte TypeRouterAdvertisement = 134;
    public const byte TypeNeighborSolicitation = 135;
    public const byte TypeNeighborAdvertisement = 136;
    public const byte TypeRedirect = 137;

    public readonly ReadOnlySpan<byte> Bytes;
    public byte Type => Bytes[0];
    public byte Code => Bytes[1];
    /// <summary>Echo identifier and sequence (RFC 4443 §4.1).</summary>
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(Bytes[4..]);
    public ushort Sequence => BinaryPrimitives.ReadUInt16BigEndian(Bytes[6..]);

    private Icmpv6Packet(ReadOnlySpan<byte> bytes) => Bytes = bytes;

    public static bool TryParse(ReadOnlySpan<byte> p, out Icmpv6Packet icmp)
    {
        icmp = p.Length >= HeaderLength ? new Icmpv6Packet(p) : default;
        return p.Length >= HeaderLength;
    }

    public bool IsChecksumValid(Ipv6Address source, Ipv6Address destination) =>
        Ipv6Packet.IsChecksumValid(source, destination, IpProtocol.Icmpv6, Bytes);

    /// <summary>The target of a Neighbor Solicitation or Advertisement (RFC 4861 §4.3, §4.4).</summary>
    public bool TryGetTarget(out Ipv6Address target)
    {
        target = default;
        if (Type is not (TypeNeighborSolicitation or TypeNeighborAdvertisement) || Bytes.Length < 24) return false;
        target = Ipv6Address.Read(Bytes[8..]);
        return true;
    }

    /// <summary>The options after an ND message's fixed part (RFC 4861 §4.6), or false when the
    /// message is too short for its type.</summary>
    public bool TryGetNdOptions(out NdOptionReader options)
    {
        int fixedPart = Type switch
        {
            TypeRouterSolicitation => 8,
            TypeRouterAdvertisement => 16,
            TypeNeighborSolicitation or TypeNeighborAdvertisement => 24,
            TypeRedirect => 40,
            _ => -1,
        };
        options = default;
        if (fixedPart < 0 || Bytes.Length < fixedPart) return false;
        options = new NdOptionReader(Bytes[fixedPart..]);
        return true;
    }

    /// <summary>Finishes a message whose bytes 4.. are in place at d[4..length]: type, code and the
    /// checksum over the IPv6 pseudo-header.</summary>
    public static void Finish(Span<byte> d, byte type, byte code, int length, Ipv6Address source, Ipv6Address destination)
    {
        d[0] = type;
        d[1] = code;
        Ipv6Packet.WriteChecksum(d[..length], source, destination, IpProtocol.Icmpv6, 2);
    }

    /// <summary>A Neighbor Advertisement for <paramref name="target"/> with its Target Link-Layer
    /// Address option (RFC 4861 §4.4, §7.2.4): Router set, Solicited as asked, Override set.
    /// Returns the ICMPv6 length.</summary>
    public static int WriteNeighborAdvertisement(Span<byte> d, Ipv6Address source, Ipv6Address destination, Ipv6Address target,
        MacAddress targetMac, bool solicited)
    {
        d[4] = (byte)(0x80 | (solicited ? 0x40 : 0) | 0x20);
        d[5] = d[6] = d[7] = 0;
        target.Write(d[8..]);
        int n = 24 + NdOption.WriteLinkLayerAddress(d[24..], NdOption.TargetLinkLayerAddress, targetMac);
        Finish(d, TypeNeighborAdvertisement, 0, n, source, destination);
        return n;
    }

    /// <summary>A Router Advertisement (RFC 4861 §4.2) with M=0 and O=0 (addresses by SLAAC,
    /// nothing from DHCPv6), the router's link-layer address, the MTU, one on-link autonomous
    /// prefix, and DNS (RFC 8106: RDNSS and DNSSL). A router lifetime of 0 says "not a default
    /// router" (RFC 4861 §6.2.3). Returns the ICMPv6 length; the caller's buffer must be large
    /// enough for <paramref name="dnsSearch"/>.</summary>
    public static int WriteRouterAdvertisement(Span<byte> d, Ipv6Address source, Ipv6Address destination, MacAddress routerMac,
        ushort routerLifetimeSeconds, int mtu, Ipv6Prefix prefix, uint validLifetime, uint preferredLifetime,
        Ipv6Address? dnsServer, uint dnsLifetime, string? dnsSearch)
    {
        d[4] = 64;      // Cur Hop Limit
        d[5] = 0;       // M=0, O=0
        BinaryPrimitives.WriteUInt16BigEndian(d[6..], routerLifetimeSeconds);
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], 0);    // Reachable Time: unspecified
        BinaryPrimitives.WriteUInt32BigEndian(d[12..], 0);   // Retrans Timer: unspecified
        int n = 16;
        n += NdOption.WriteLinkLayerAddress(d[n..], NdOption.SourceLinkLayerAddress, routerMac);
        n += NdOption.WriteMtu(d[n..], (uint)mtu);
        n += NdOption.WritePrefixInformation(d[n..], prefix, onLink: true, autonomous: true, validLifetime, preferredLifetime);
        if (dnsServer is { } dns) n += NdOption.WriteRdnss(d[n..], dnsLifetime, dns);
        if (!string.IsNullOrEmpty(dnsSearch)) n += NdOption.WriteDnssl(d[n..], dnsLifetime, dnsSearch);
        Finish(d, TypeRouterAdvertisement, 0, n, source, destination);
        return n;
    }
}

/// <summary>A Neighbor Discovery option (RFC 4861 §4.6): type, length in 8-byte units, value.</summary>
public readonly ref struct NdOption
{
    public const byte SourceLinkLayerAddress = 1;
    public const byte TargetLinkLayerAddress = 2;
    public const byte PrefixInformation = 3;
    public const byte Mtu = 5;
    public const byte RecursiveDnsServer = 25;   // RFC 8106 §5.1
    public const byte DnsSearchList = 31;        // RFC 8106 §5.2

    public readonly byte Type;
    /// <summary>The whole option, type and length bytes included.</summary>
    public readonly ReadOnlySpan<byte> Bytes;

    internal NdOption(byte type, ReadOnlySpan<byte> bytes) { Type = type; Bytes = bytes; }

    /// <summary>The MAC of a source or target link-layer address option on Ethernet (RFC 2464 §6).</summary>
    public bool TryGetLinkLayerAddress(out MacAddress mac)
    {
        mac = default;
        if (Type is not (SourceLinkLayerAddress or TargetLinkLayerAddress) || Bytes.Length < 8) return false;
        mac = MacAddress.Read(Bytes[2..]);
        return true;
    }

    public static int WriteLinkLayerAddress(Span<byte> d, byte type, MacAddress mac)
    {
        d[0] = type;
        d[1] = 1;
        mac.Write(d[2..]);
        return 8;
    }

    public static int WriteMtu(Span<byte> d, uint mtu)
    {
        d[0] = Mtu;
        d[1] = 1;
        d[2] = d[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], mtu);
        return 8;
    }

    /// <summary>Prefix Information (RFC 4861 §4.6.2).</summary>
    public static int WritePrefixInformation(Span<byte> d, Ipv6Prefix prefix, bool onLink, bool autonomous, uint validLifetime, uint preferredLifetime)
    {
        d[0] = PrefixInformation;
        d[1] = 4;
        d[2] = (byte)prefix.PrefixLength;
        d[3] = (byte)((onLink ? 0x80 : 0) | (autonomous ? 0x40 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], validLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], preferredLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(d[12..], 0);   // Reserved2
        prefix.Network.Write(d[16..]);
        return 32;
    }

    /// <summary>Recursive DNS Server with one address (RFC 8106 §5.1).</summary>
    public static int WriteRdnss(Span<byte> d, uint lifetime, Ipv6Address server)
    {
        d[0] = RecursiveDnsServer;
        d[1] = 3;
        d[2] = d[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], lifetime);
        server.Write(d[8..]);
        return 24;
    }

    /// <summary>DNS Search List with one domain (RFC 8106 §5.2): the name in DNS wire form
    /// (RFC 1035 §3.1, no compression), zero-padded to a multiple of 8 bytes.</summary>
    public static int WriteDnssl(Span<byte> d, uint lifetime, string domain)
    {
        d[0] = DnsSearchList;
        d[2] = d[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], lifetime);
        int n = 8;
        foreach (var range in domain.AsSpan().Split('.'))
        {
            var label = domain.AsSpan()[range];
            if (label.Length == 0) continue;
            d[n++] = (byte)label.Length;
            n += Encoding.ASCII.GetBytes(label, d[n..]);
        }
        d[n++] = 0;
        int padded = (n + 7) & ~7;
        d[n..padded].Clear();
        d[1] = (byte)(padded / 8);
        return padded;
    }
}

/// <summary>Walks ND options; stops (returns false, <see cref="Malformed"/> set) at a zero length
/// or an option that runs past the message, which RFC 4861 §4.6 says makes the message invalid.</summary>
public ref struct NdOptionReader
{
    private readonly ReadOnlySpan<byte> _options;
    private int _offset;

    public NdOptionReader(ReadOnlySpan<byte> options) { _options = options; _offset = 0; Malformed = false; }

    public bool Malformed { get; private set; }

    public bool TryRead(out NdOption option)
    {
        option = default;
        if (_offset >= _options.Length) return false;
        if (_options.Length - _offset < 2) { Malformed = true; return false; }
        int len = _options[_offset + 1] * 8;
        if (len == 0 || _offset + len > _options.Length) { Malformed = true; return false; }
        option = new NdOption(_options[_offset], _options.Slice(_offset, len));
        _offset += len;
        return true;
    }

    /// <summary>Whether every option is well formed, and the source link-layer address when one is given.</summary>
    public bool TryValidate(out MacAddress? sourceLinkLayer)
    {
        sourceLinkLayer = null;
        while (TryRead(out var o))
            if (o.Type == NdOption.SourceLinkLayerAddress && o.TryGetLinkLayerAddress(out var mac)) sourceLinkLayer = mac;
        return !Malformed;
    }
}
