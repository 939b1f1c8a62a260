using System.Buffers.Binary;

namespace Switchyard.Packets.Dns;

/// <summary>Whole-message operations a forwarding cache needs: TTL inspection and aging, UDP
/// truncation, EDNS payload size and id rewriting. None of them allocates.</summary>
public static class DnsMessage
{
    /// <summary>RFC 1035 §4.2.1: the UDP payload limit without EDNS.</summary>
    public const int DefaultUdpPayloadSize = 512;

    public static ushort ReadId(ReadOnlySpan<byte> message) => BinaryPrimitives.ReadUInt16BigEndian(message);
    public static void WriteId(Span<byte> message, ushort id) => BinaryPrimitives.WriteUInt16BigEndian(message, id);

    /// <summary>The smallest TTL among answer and authority records, i.e. how long the whole response may
    /// be cached. For a negative answer (NXDOMAIN, or no answer records) the SOA in authority bounds it by
    /// min(SOA TTL, SOA MINIMUM) (RFC 2308 §5). False when there is no such record or the message is malformed.</summary>
    public static bool TryGetMinimumTtl(ReadOnlySpan<byte> message, out uint ttl)
    {
        ttl = uint.MaxValue;
        if (!DnsWire.TrySkipToRecords(message, out var header, out int pos)) return false;
        bool negative = header.AnswerCount == 0 || header.ResponseCode == DnsResponseCode.NXDomain;
        int records = header.AnswerCount + header.AuthorityCount;
        bool found = false;
        for (int i = 0; i < records; i++)
        {
            if (!DnsWire.TryReadRecordHeader(message, ref pos, out var type, out _, out int ttlOffset, out int dataOffset, out int dataLength))
                return false;
            if (type == DnsType.OPT) continue; // not a real record: its "TTL" is EDNS flags (RFC 6891 §6.1.3)
            uint t = DnsWire.ReadTtl(message, ttlOffset);
            // SOA RDATA ends with five 32-bit fields, MINIMUM last (RFC 1035 §3.3.13); the two names
            // before them take at least one byte each.
            if (negative && type == DnsType.SOA && dataLength >= 22)
                t = Math.Min(t, DnsWire.ReadTtl(message, dataOffset + dataLength - 4));
            ttl = Math.Min(ttl, t);
            found = true;
        }
        if (!found) ttl = 0;
        return found;
    }

    /// <summary>Subtracts <paramref name="elapsedSeconds"/> from the TTL of every record except OPT,
    /// clamping at zero, so a cached response tells the client how long it is still valid
    /// (RFC 1035 §7.3, RFC 2181 §8). The message is validated first and left untouched when malformed.</summary>
    public static bool TryAgeTtls(Span<byte> message, uint elapsedSeconds)
    {
        if (!Walk(message, elapsedSeconds, apply: false)) return false;
        Walk(message, elapsedSeconds, apply: true);
        return true;
    }

    private static bool Walk(Span<byte> message, uint elapsed, bool apply)
    {
        if (!DnsWire.TrySkipToRecords(message, out var header, out int pos)) return false;
        int records = header.AnswerCount + header.AuthorityCount + header.AdditionalCount;
        for (int i = 0; i < records; i++)
        {
            if (!DnsWire.TryReadRecordHeader(message, ref pos, out var type, out _, out int ttlOffset, out _, out _)) return false;
            if (!apply || type == DnsType.OPT) continue;
            uint ttl = DnsWire.ReadTtl(message, ttlOffset);
            BinaryPrimitives.WriteUInt32BigEndian(message[ttlOffset..], ttl > elapsed ? ttl - elapsed : 0);
        }
        return true;
    }

    /// <summary>Fits a response into a UDP datagram of <paramref name="maxSize"/> bytes (RFC 1035 §4.2.1).
    /// A message that already fits is left alone. Otherwise it is cut to the header and question, TC is
    /// set, and the OPT record is kept (moved up) when it fits so the client still sees our EDNS
    /// parameters (RFC 6891 §7). Answer records are dropped rather than kept partially: a client that
    /// sees TC retries over TCP, and partial RRsets must not be cached (RFC 2181 §9). A malformed
    /// message is cut to its header. Returns the new length.</summary>
    public static int TruncateForUdp(Span<byte> message, int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSize, DnsHeader.Length);
        if (message.Length <= maxSize) return message.Length;

        int questionCount = 0;
        int end = DnsHeader.Length;
        int optStart = -1, optEnd = -1;
        if (DnsWire.TrySkipToRecords(message, out var header, out int pos))
        {
            questionCount = header.QuestionCount;
            end = pos;
            int records = header.AnswerCount + header.AuthorityCount + header.AdditionalCount;
            int additionalFrom = header.AnswerCount + header.AuthorityCount;
            for (int i = 0; i < records; i++)
            {
                int start = pos;
                if (!DnsWire.TryReadRecordHeader(message, ref pos, out var type, out _, out _, out _, out _)) break;
                // OPT's owner is the root (one zero byte) and its RDATA holds no names, so it carries
                // no compression pointers and can be moved (RFC 6891 §6.1.2).
                if (i >= additionalFrom && type == DnsType.OPT && message[start] == 0)
                {
                    optStart = start;
                    optEnd = pos;
                    break;
                }
            }
        }
        if (end > maxSize)
        {
            // Not even the question fits (only possible with a tiny limit): keep the bare header.
            questionCount = 0;
            end = DnsHeader.Length;
        }
        ushort additional = 0;
        if (optStart >= 0 && end + (optEnd - optStart) <= maxSize)
        {
            message[optStart..optEnd].CopyTo(message[end..]);
            end += optEnd - optStart;
            additional = 1;
        }
        ushort flags = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(message[2..]) | DnsHeader.TcFlag);
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], flags);
        BinaryPrimitives.WriteUInt16BigEndian(message[4..], (ushort)questionCount);
        BinaryPrimitives.WriteUInt16BigEndian(message[6..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(message[8..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(message[10..], additional);
        return end;
    }

    /// <summary>The UDP payload size the sender of <paramref name="query"/> can receive: the CLASS of its
    /// OPT record (RFC 6891 §6.2.3), or 512 without one. Values below 512 mean 512 (RFC 6891 §6.2.5).</summary>
    public static int ClientUdpPayloadSize(ReadOnlySpan<byte> query) =>
        TryGetOpt(query, out ushort size, out _) ? Math.Max((int)size, DefaultUdpPayloadSize) : DefaultUdpPayloadSize;

    /// <summary>Finds the OPT pseudo-record in the additional section (RFC 6891 §6.1.2): its
    /// CLASS is the sender's UDP payload size and bit 15 of its TTL's low half is DO (RFC 3225 §3).</summary>
    public static bool TryGetOpt(ReadOnlySpan<byte> message, out ushort udpPayloadSize, out bool dnssecOk)
    {
        udpPayloadSize = 0;
        dnssecOk = false;
        if (!DnsWire.TrySkipToRecords(message, out var header, out int pos)) return false;
        int records = header.AnswerCount + header.AuthorityCount + header.AdditionalCount;
        int additionalFrom = header.AnswerCount + header.AuthorityCount;
        for (int i = 0; i < records; i++)
        {
            if (!DnsWire.TryReadRecordHeader(message, ref pos, out var type, out ushort cls, out int ttlOffset, out _, out _)) return false;
            if (i >= additionalFrom && type == DnsType.OPT)
            {
                udpPayloadSize = cls;
                dnssecOk = (BinaryPrimitives.ReadUInt32BigEndian(message[ttlOffset..]) & 0x8000) != 0;
                return true;
            }
        }
        return false;
    }
}
