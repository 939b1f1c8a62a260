using System.Buffers.Binary;

namespace Switchyard.Packets.Dns;

/// <summary>The fixed 12-byte message header (RFC 1035 §4.1.1). Flag accessors decode
/// <see cref="Flags"/>; the counts say how many entries each section holds.</summary>
public readonly record struct DnsHeader(ushort Id, ushort Flags, ushort QuestionCount, ushort AnswerCount, ushort AuthorityCount, ushort AdditionalCount)
{
    public const int Length = 12;

    // Bit positions of the second header word (RFC 1035 §4.1.1; AD/CD from RFC 4035 §3.2).
    public const ushort QrFlag = 0x8000;
    public const ushort AaFlag = 0x0400;
    public const ushort TcFlag = 0x0200;
    public const ushort RdFlag = 0x0100;
    public const ushort RaFlag = 0x0080;
    public const ushort AdFlag = 0x0020;
    public const ushort CdFlag = 0x0010;

    public bool IsResponse => (Flags & QrFlag) != 0;
    public byte Opcode => (byte)((Flags >> 11) & 0xF);
    public bool Authoritative => (Flags & AaFlag) != 0;
    public bool Truncated => (Flags & TcFlag) != 0;
    public bool RecursionDesired => (Flags & RdFlag) != 0;
    public bool RecursionAvailable => (Flags & RaFlag) != 0;
    public bool AuthenticData => (Flags & AdFlag) != 0;
    public bool CheckingDisabled => (Flags & CdFlag) != 0;
    public DnsResponseCode ResponseCode => (DnsResponseCode)(Flags & 0xF);

    /// <summary>Composes a flags word; opcode and rcode are masked to their 4 bits.</summary>
    public static ushort MakeFlags(bool response, byte opcode = 0, bool authoritative = false, bool truncated = false,
        bool recursionDesired = false, bool recursionAvailable = false, DnsResponseCode responseCode = DnsResponseCode.NoError)
    {
        int f = (opcode & 0xF) << 11 | ((byte)responseCode & 0xF);
        if (response) f |= QrFlag;
        if (authoritative) f |= AaFlag;
        if (truncated) f |= TcFlag;
        if (recursionDesired) f |= RdFlag;
        if (recursionAvailable) f |= RaFlag;
        return (ushort)f;
    }

    /// <summary>The header of a reply to <paramref name="query"/>: same id and opcode, RD copied
    /// (RFC 1035 §4.1.1 "copied into the response"), counts zero (the writer fills them in).</summary>
    public static DnsHeader CreateResponse(in DnsHeader query, DnsResponseCode responseCode,
        bool authoritative = true, bool recursionAvailable = true) =>
        new(query.Id, MakeFlags(true, query.Opcode, authoritative, false, query.RecursionDesired, recursionAvailable, responseCode), 0, 0, 0, 0);

    public static bool TryRead(ReadOnlySpan<byte> source, out DnsHeader header)
    {
        if (source.Length < Length) { header = default; return false; }
        header = new DnsHeader(
            BinaryPrimitives.ReadUInt16BigEndian(source),
            BinaryPrimitives.ReadUInt16BigEndian(source[2..]),
            BinaryPrimitives.ReadUInt16BigEndian(source[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(source[6..]),
            BinaryPrimitives.ReadUInt16BigEndian(source[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(source[10..]));
        return true;
    }

    public bool TryWrite(Span<byte> destination)
    {
        if (destination.Length < Length) return false;
        BinaryPrimitives.WriteUInt16BigEndian(destination, Id);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], Flags);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], QuestionCount);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], AnswerCount);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], AuthorityCount);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], AdditionalCount);
        return true;
    }
}
