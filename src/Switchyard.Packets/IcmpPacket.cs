using System.Buffers.Binary;

namespace Switchyard.Packets;

/// <summary>ICMP for IPv4 (RFC 792), viewed in place.</summary>
public readonly ref struct IcmpPacket
{
    public const int HeaderLength = 8;
    public const byte TypeEchoReply = 0;
    public const byte TypeDestinationUnreachable = 3;
    public const byte TypeEchoRequest = 8;
    public const byte TypeTimeExceeded = 11;

    public readonly ReadOnlySpan<byte> Bytes;
    public byte Type => Bytes[0];
    public byte Code => Bytes[1];
    /// <summary>Echo identifier and sequence (RFC 792, "Echo or Echo Reply Message").</summary>
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(Bytes[4..]);
    public ushort Sequence => BinaryPrimitives.ReadUInt16BigEndian(Bytes[6..]);
    public ReadOnlySpan<byte> Payload => Bytes[HeaderLength..];
    public bool IsChecksumValid => Checksum.Compute(Bytes) == 0;

    private IcmpPacket(ReadOnlySpan<byte> bytes) => Bytes = bytes;

    public static bool TryParse(ReadOnlySpan<byte> p, out IcmpPacket icmp)
    {
        icmp = p.Length >= HeaderLength ? new IcmpPacket(p) : default;
        return p.Length >= HeaderLength;
    }

    /// <summary>Writes an ICMP message whose body (bytes 4.. of the header plus data) is already in
    /// place at d[4..length]; fills type, code and checksum.</summary>
    public static void Finish(Span<byte> d, byte type, byte code, int length)
    {
        d[0] = type;
        d[1] = code;
        d[2] = d[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], Checksum.Compute(d[..length]));
    }
}
