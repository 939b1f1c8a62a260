using System.Buffers.Binary;

namespace Switchyard.Packets;

/// <summary>ARP for IPv4 over Ethernet (RFC 826), viewed in place.</summary>
public readonly ref struct ArpPacket
{
    public const int Length = 28;
    public const ushort OpRequest = 1;
    public const ushort OpReply = 2;

    public readonly ushort Operation;
    public readonly MacAddress SenderMac;
    public readonly Ipv4Address SenderIp;
    public readonly MacAddress TargetMac;
    public readonly Ipv4Address TargetIp;

    private ArpPacket(ushort op, MacAddress sha, Ipv4Address spa, MacAddress tha, Ipv4Address tpa)
    {
        Operation = op; SenderMac = sha; SenderIp = spa; TargetMac = tha; TargetIp = tpa;
    }

    /// <summary>Accepts only hardware type 1 (Ethernet), protocol 0x0800, lengths 6 and 4: the only
    /// combination an IPv4 guest sends.</summary>
    public static bool TryParse(ReadOnlySpan<byte> p, out ArpPacket arp)
    {
        arp = default;
        if (p.Length < Length) return false;
        if (BinaryPrimitives.ReadUInt16BigEndian(p) != 1 || BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != EtherType.IPv4 || p[4] != 6 || p[5] != 4)
            return false;
        arp = new ArpPacket(BinaryPrimitives.ReadUInt16BigEndian(p[6..]), MacAddress.Read(p[8..]), Ipv4Address.Read(p[14..]),
            MacAddress.Read(p[18..]), Ipv4Address.Read(p[24..]));
        return true;
    }

    /// <summary>A gratuitous ARP or ARP probe (RFC 5227 §1.1): sender and target IP equal, or sender 0.0.0.0.</summary>
    public bool IsProbeOrAnnouncement => SenderIp.IsAny || SenderIp == TargetIp;

    public static int Write(Span<byte> d, ushort op, MacAddress senderMac, Ipv4Address senderIp, MacAddress targetMac, Ipv4Address targetIp)
    {
        BinaryPrimitives.WriteUInt16BigEndian(d, 1);
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], EtherType.IPv4);
        d[4] = 6; d[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(d[6..], op);
        senderMac.Write(d[8..]);
        senderIp.Write(d[14..]);
        targetMac.Write(d[18..]);
        targetIp.Write(d[24..]);
        return Length;
    }
}
