using System.Buffers.Binary;

namespace Switchyard.Packets;

/// <summary>What <see cref="VxlanHeader.TryParse"/> made of a UDP payload.</summary>
public enum VxlanParseStatus : byte
{
    /// <summary>An 8-byte header with the I flag and no other flag, and an inner frame after it.</summary>
    Ok,
    /// <summary>Shorter than the 8-byte header.</summary>
    Truncated,
    /// <summary>The I flag is clear, or a flag RFC 7348 reserves is set (see <see cref="VxlanHeader"/>).</summary>
    BadFlags,
}

/// <summary>The VXLAN header (RFC 7348 section 5), viewed in place over a UDP payload:
/// <code>
///  0                   1                   2                   3
/// |R|R|R|R|I|R|R|R|            Reserved (24 bits)                 |
/// |                VXLAN Network Identifier (VNI) |   Reserved    |
/// </code>
/// then the inner Ethernet frame (without its FCS).
///
/// Flags: RFC 7348 says the I flag MUST be 1 and the other seven are reserved, zero on sending and
/// "ignored on receipt". We reject a header with any of them set instead: the extensions that
/// set them give the rest of the datagram another meaning (VXLAN-GBP's G bit 0x80 puts a group
/// policy id in the first reserved field; VXLAN-GPE's P bit 0x04 says the payload may be IPv4,
/// IPv6 or NSH instead of Ethernet), so taking such a datagram as an Ethernet frame would be
/// wrong, and a VTEP that speaks them to us is misconfigured (counted, see VxlanTunnel). The
/// reserved 24-bit and 8-bit fields are ignored on receipt and written as zero, as the RFC asks.</summary>
public readonly ref struct VxlanHeader
{
    public const int Length = 8;

    /// <summary>The I flag (RFC 7348 section 5): the VNI is valid.</summary>
    public const byte FlagI = 0x08;

    /// <summary>The VNI is 24 bits.</summary>
    public const uint MaxVni = (1u << 24) - 1;

    /// <summary>The whole datagram payload: header then inner frame.</summary>
    public readonly ReadOnlySpan<byte> Bytes;

    public byte Flags => Bytes[0];

    /// <summary>The 24-bit VXLAN Network Identifier (octets 4 to 6).</summary>
    public uint Vni => BinaryPrimitives.ReadUInt32BigEndian(Bytes[4..]) >> 8;

    /// <summary>The inner Ethernet frame (possibly empty: the caller checks it is a frame).</summary>
    public ReadOnlySpan<byte> Payload => Bytes[Length..];

    private VxlanHeader(ReadOnlySpan<byte> bytes) => Bytes = bytes;

    /// <summary>Reads the header in place; never throws on wire data.</summary>
    public static VxlanParseStatus TryParse(ReadOnlySpan<byte> p, out VxlanHeader header)
    {
        header = default;
        if (p.Length < Length) return VxlanParseStatus.Truncated;
        if (p[0] != FlagI) return VxlanParseStatus.BadFlags;
        header = new VxlanHeader(p);
        return VxlanParseStatus.Ok;
    }

    /// <summary>Writes the 8-byte header for <paramref name="vni"/> into <paramref name="d"/>:
    /// the I flag, reserved fields zero (RFC 7348 section 5).</summary>
    public static void Write(Span<byte> d, uint vni)
    {
        if (vni > MaxVni) throw new ArgumentOutOfRangeException(nameof(vni), vni, "a VNI is 24 bits");
        BinaryPrimitives.WriteUInt32BigEndian(d, (uint)FlagI << 24);
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], vni << 8);
    }
}
