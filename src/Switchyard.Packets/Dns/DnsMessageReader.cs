using System.Buffers.Binary;

namespace Switchyard.Packets.Dns;

/// <summary>A forward-only reader over a DNS message (RFC 1035 §4.1). Call <see cref="TryReadHeader"/>
/// first, then <see cref="TryReadQuestion"/> QuestionCount times, then <see cref="TryReadRecord"/> for
/// the answer, authority and additional records in turn. Every method returns false on truncated or
/// malformed input and leaves <see cref="Position"/> unchanged; none throws on wire data.</summary>
public ref struct DnsMessageReader
{
    private readonly ReadOnlySpan<byte> _message;

    public DnsMessageReader(ReadOnlySpan<byte> message)
    {
        _message = message;
        Position = 0;
    }

    /// <summary>Offset of the next unread byte.</summary>
    public int Position { get; private set; }

    public readonly ReadOnlySpan<byte> Message => _message;

    public bool TryReadHeader(out DnsHeader header)
    {
        if (!DnsHeader.TryRead(_message[Position..], out header)) return false;
        Position += DnsHeader.Length;
        return true;
    }

    /// <summary>A question entry: QNAME, QTYPE, QCLASS (RFC 1035 §4.1.2).</summary>
    public bool TryReadQuestion(out DnsQuestion question)
    {
        question = default;
        if (!DnsWire.TryReadName(_message, Position, out string name, out int p) || p + 4 > _message.Length) return false;
        question = new DnsQuestion(name,
            (DnsType)BinaryPrimitives.ReadUInt16BigEndian(_message[p..]),
            (DnsClass)BinaryPrimitives.ReadUInt16BigEndian(_message[(p + 2)..]));
        Position = p + 4;
        return true;
    }

    /// <summary>Skips a question without decoding its name (no allocation).</summary>
    public bool TrySkipQuestion()
    {
        if (!DnsWire.TrySkipName(_message, Position, out int p) || p + 4 > _message.Length) return false;
        Position = p + 4;
        return true;
    }

    /// <summary>A resource record (RFC 1035 §4.1.3), with its owner name decoded.</summary>
    public bool TryReadRecord(out DnsRecordView record)
    {
        record = default;
        int p = Position;
        if (!DnsWire.TryReadRecordHeader(_message, ref p, out var type, out ushort cls, out int ttlOffset, out int dataOffset, out int dataLength))
            return false;
        if (!DnsWire.TryReadName(_message, Position, out string name, out _)) return false;
        record = new DnsRecordView(_message, name, type, (DnsClass)cls, DnsWire.ReadTtl(_message, ttlOffset), ttlOffset, dataOffset, dataLength);
        Position = p;
        return true;
    }

    /// <summary>Skips a resource record without decoding its name (no allocation).</summary>
    public bool TrySkipRecord(out DnsType type, out int ttlOffset)
    {
        int p = Position;
        if (!DnsWire.TryReadRecordHeader(_message, ref p, out type, out _, out ttlOffset, out _, out _)) return false;
        Position = p;
        return true;
    }

    /// <summary>Decodes a (possibly compressed, RFC 1035 §4.1.4) name at the current position and moves
    /// past it. The result is in presentation form without the trailing dot; bytes outside printable
    /// ASCII, '.' and '\' are escaped (RFC 1035 §5.1) so distinct wire names stay distinct.</summary>
    public bool TryReadName(out string name)
    {
        if (!DnsWire.TryReadName(_message, Position, out name, out int p)) return false;
        Position = p;
        return true;
    }
}
