using System.Buffers.Binary;

namespace Switchyard.Packets.Dns;

/// <summary>Allocation-free primitives over wire-format names and records, shared by the reader,
/// the writer and the <see cref="DnsMessage"/> helpers. Everything here bounds its work: wire data
/// comes from guests and from the network and is never trusted.</summary>
internal static class DnsWire
{
    /// <summary>RFC 1035 §2.3.4: a name is at most 255 octets on the wire (length bytes included).</summary>
    public const int MaxNameLength = 255;
    /// <summary>RFC 1035 §2.3.4: a label is at most 63 octets; the top two length bits mark pointers (§4.1.4).</summary>
    public const int MaxLabelLength = 63;
    /// <summary>Pointer hops allowed while following one name. Backward-only pointers already rule out
    /// loops; the cap bounds the work on chains of pointers to pointers.</summary>
    public const int MaxPointerHops = 128;
    /// <summary>Worst-case presentation length: every label byte escaped as \DDD, plus dots.</summary>
    public const int MaxNameChars = 1024;
    /// <summary>Fixed part of a resource record after its owner name: TYPE, CLASS, TTL, RDLENGTH (RFC 1035 §4.1.3).</summary>
    public const int RecordFixedLength = 10;

    /// <summary>Walks the name at <paramref name="offset"/>. On success <paramref name="next"/> is the
    /// offset just past the name where it starts (a pointer ends it, §4.1.4). When
    /// <paramref name="chars"/> is non-empty the presentation form is written there.</summary>
    public static bool TryWalkName(ReadOnlySpan<byte> message, int offset, Span<char> chars, out int charCount, out int next)
    {
        charCount = 0;
        next = -1;
        int pos = offset;
        int wireLength = 0;
        int hops = 0;
        // A pointer must point strictly before the start of the run of labels it ends (a pointer into
        // its own run would revisit itself), so chains only move backwards: no loops and no forward
        // pointers into data not yet parsed. Compressors only ever point at earlier names anyway.
        int limit = offset;
        bool decode = !chars.IsEmpty;
        while (true)
        {
            if ((uint)pos >= (uint)message.Length) return false;
            byte len = message[pos];
            if ((len & 0xC0) == 0xC0)
            {
                if (pos + 1 >= message.Length) return false;
                int target = ((len & 0x3F) << 8) | message[pos + 1];
                if (next < 0) next = pos + 2;
                if (target >= limit || ++hops > MaxPointerHops) return false;
                limit = target;
                pos = target;
                continue;
            }
            // 0x40 and 0x80 are the reserved/extended label types (RFC 6891 §5 deprecated them): reject.
            if ((len & 0xC0) != 0) return false;
            wireLength += len + 1;
            if (wireLength > MaxNameLength) return false;
            if (len == 0)
            {
                if (next < 0) next = pos + 1;
                return true;
            }
            if (pos + 1 + len > message.Length) return false;
            if (decode)
            {
                if (charCount > 0) chars[charCount++] = '.';
                foreach (byte b in message.Slice(pos + 1, len)) AppendEscaped(chars, ref charCount, b);
            }
            pos += 1 + len;
        }
    }

    /// <summary>Presentation format escaping (RFC 1035 §5.1) so that any label byte round-trips.</summary>
    private static void AppendEscaped(Span<char> chars, ref int n, byte b)
    {
        if (b == '.' || b == '\\')
        {
            chars[n++] = '\\';
            chars[n++] = (char)b;
        }
        else if (b > 0x20 && b < 0x7F)
        {
            chars[n++] = (char)b;
        }
        else
        {
            chars[n++] = '\\';
            chars[n++] = (char)('0' + b / 100);
            chars[n++] = (char)('0' + b / 10 % 10);
            chars[n++] = (char)('0' + b % 10);
        }
    }

    public static bool TrySkipName(ReadOnlySpan<byte> message, int offset, out int next) =>
        TryWalkName(message, offset, default, out _, out next);

    public static bool TryReadName(ReadOnlySpan<byte> message, int offset, out string name, out int next)
    {
        Span<char> chars = stackalloc char[MaxNameChars];
        if (!TryWalkName(message, offset, chars, out int n, out next)) { name = ""; return false; }
        name = n == 0 ? "" : new string(chars[..n]);
        return true;
    }

    /// <summary>Encodes a presentation-form name (trailing dot optional, "\X" and "\DDD" escapes) into
    /// uncompressed wire form. False when the text is not a valid name.</summary>
    public static bool TryEncodeName(ReadOnlySpan<char> name, Span<byte> destination, out int length)
    {
        length = 0;
        if (name.Length == 1 && name[0] == '.') name = default;
        int pos = 0;
        int i = 0;
        while (i < name.Length)
        {
            int lenPos = pos++;
            if (pos > destination.Length) return false;
            int labelLength = 0;
            while (i < name.Length && name[i] != '.')
            {
                int b = name[i++];
                if (b == '\\')
                {
                    if (i >= name.Length) return false;
                    if (char.IsAsciiDigit(name[i]))
                    {
                        if (i + 3 > name.Length || !char.IsAsciiDigit(name[i + 1]) || !char.IsAsciiDigit(name[i + 2])) return false;
                        b = (name[i] - '0') * 100 + (name[i + 1] - '0') * 10 + (name[i + 2] - '0');
                        if (b > 255) return false;
                        i += 3;
                    }
                    else
                    {
                        b = name[i++];
                    }
                }
                // Names are ASCII on the wire; IDNs must arrive already in A-label (punycode) form.
                if (b > 0x7F && name[i - 1] == b) return false;
                if (pos >= destination.Length || ++labelLength > MaxLabelLength) return false;
                destination[pos++] = (byte)b;
            }
            if (labelLength == 0) return false; // empty label: "a..b" or a leading dot
            destination[lenPos] = (byte)labelLength;
            if (i < name.Length) i++; // the dot; a trailing dot ends the loop
        }
        if (pos >= destination.Length || pos + 1 > MaxNameLength) return false;
        destination[pos++] = 0;
        length = pos;
        return true;
    }

    /// <summary>Reads the fixed part of a resource record at <paramref name="pos"/> and advances past the
    /// whole record. Only bounds are checked; RDATA is not interpreted.</summary>
    public static bool TryReadRecordHeader(ReadOnlySpan<byte> message, ref int pos, out DnsType type, out ushort @class,
        out int ttlOffset, out int dataOffset, out int dataLength)
    {
        type = 0; @class = 0; ttlOffset = 0; dataOffset = 0; dataLength = 0;
        if (!TrySkipName(message, pos, out int p) || p + RecordFixedLength > message.Length) return false;
        type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(message[p..]);
        @class = BinaryPrimitives.ReadUInt16BigEndian(message[(p + 2)..]);
        ttlOffset = p + 4;
        dataLength = BinaryPrimitives.ReadUInt16BigEndian(message[(p + 8)..]);
        dataOffset = p + RecordFixedLength;
        if (dataOffset + dataLength > message.Length) return false;
        pos = dataOffset + dataLength;
        return true;
    }

    /// <summary>Skips the header and all questions; returns the offset of the first record.</summary>
    public static bool TrySkipToRecords(ReadOnlySpan<byte> message, out DnsHeader header, out int pos)
    {
        pos = DnsHeader.Length;
        if (!DnsHeader.TryRead(message, out header)) return false;
        for (int i = 0; i < header.QuestionCount; i++)
        {
            if (!TrySkipName(message, pos, out pos) || pos + 4 > message.Length) return false;
            pos += 4;
        }
        return true;
    }

    /// <summary>RFC 2181 §8: a TTL with the top bit set is treated as zero.</summary>
    public static uint ReadTtl(ReadOnlySpan<byte> message, int offset)
    {
        uint ttl = BinaryPrimitives.ReadUInt32BigEndian(message[offset..]);
        return ttl > int.MaxValue ? 0 : ttl;
    }

    /// <summary>ASCII-only case folding (RFC 4343 §3): non-ASCII bytes compare exactly.</summary>
    public static byte FoldCase(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;

    /// <summary>Does the uncompressed wire name <paramref name="name"/> equal the (possibly compressed)
    /// name at <paramref name="offset"/> in <paramref name="message"/>, ignoring ASCII case?
    /// Only used by the writer on names it wrote itself, but still bounded.</summary>
    public static bool NameEquals(ReadOnlySpan<byte> name, ReadOnlySpan<byte> message, int offset)
    {
        int i = 0;
        int pos = offset;
        int hops = 0;
        while (true)
        {
            if ((uint)pos >= (uint)message.Length || i >= name.Length) return false;
            byte len = message[pos];
            if ((len & 0xC0) == 0xC0)
            {
                if (pos + 1 >= message.Length || ++hops > MaxPointerHops) return false;
                pos = ((len & 0x3F) << 8) | message[pos + 1];
                continue;
            }
            if (len != name[i]) return false;
            if (len == 0) return true;
            if (pos + 1 + len > message.Length || i + 1 + len > name.Length) return false;
            for (int k = 1; k <= len; k++)
                if (FoldCase(message[pos + k]) != FoldCase(name[i + k])) return false;
            pos += len + 1;
            i += len + 1;
        }
    }
}
