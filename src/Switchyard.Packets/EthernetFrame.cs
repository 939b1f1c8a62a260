using System.Buffers.Binary;

namespace Switchyard.Packets;

public static class EtherType
{
    public const ushort IPv4 = 0x0800;
    public const ushort Arp = 0x0806;
    public const ushort Vlan = 0x8100;   // IEEE 802.1Q
    public const ushort QinQ = 0x88A8;   // IEEE 802.1ad
    public const ushort IPv6 = 0x86DD;
}

/// <summary>An Ethernet II frame viewed in place (IEEE 802.3 §3.1.1). One 802.1Q/802.1ad tag is
/// skipped so the payload is reachable, and remembered so a caller that forwards the frame
/// unchanged keeps it.</summary>
public readonly ref struct EthernetFrame
{
    public const int HeaderLength = 14;
    public const int VlanTagLength = 4;

    public readonly ReadOnlySpan<byte> Bytes;
    public readonly MacAddress Destination;
    public readonly MacAddress Source;
    /// <summary>The EtherType of the payload, after any VLAN tag.</summary>
    public readonly ushort EtherType;
    /// <summary>The 802.1Q tag control information, or -1 when untagged.</summary>
    public readonly int VlanTci;
    public readonly int PayloadOffset;

    private EthernetFrame(ReadOnlySpan<byte> bytes, MacAddress dst, MacAddress src, ushort etherType, int vlanTci, int payloadOffset)
    {
        Bytes = bytes; Destination = dst; Source = src; EtherType = etherType; VlanTci = vlanTci; PayloadOffset = payloadOffset;
    }

    public ReadOnlySpan<byte> Payload => Bytes[PayloadOffset..];

    public static bool TryParse(ReadOnlySpan<byte> frame, out EthernetFrame result)
    {
        result = default;
        if (frame.Length < HeaderLength) return false;
        var dst = MacAddress.Read(frame);
        var src = MacAddress.Read(frame[6..]);
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        int offset = HeaderLength, tci = -1;
        if (type is Packets.EtherType.Vlan or Packets.EtherType.QinQ)
        {
            if (frame.Length < HeaderLength + VlanTagLength) return false;
            tci = BinaryPrimitives.ReadUInt16BigEndian(frame[14..]);
            type = BinaryPrimitives.ReadUInt16BigEndian(frame[16..]);
            offset += VlanTagLength;
        }
        // EtherType values below 0x0600 are 802.3 length fields (LLC frames, e.g. STP): no payload we serve.
        result = new EthernetFrame(frame, dst, src, type, tci, offset);
        return true;
    }

    /// <summary>Reads only the two addresses, for the switch's forwarding decision.</summary>
    public static bool TryReadAddresses(ReadOnlySpan<byte> frame, out MacAddress destination, out MacAddress source)
    {
        if (frame.Length < HeaderLength) { destination = source = default; return false; }
        destination = MacAddress.Read(frame);
        source = MacAddress.Read(frame[6..]);
        return true;
    }

    public static int WriteHeader(Span<byte> destination, MacAddress dst, MacAddress src, ushort etherType)
    {
        dst.Write(destination);
        src.Write(destination[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[12..], etherType);
        return HeaderLength;
    }
}
