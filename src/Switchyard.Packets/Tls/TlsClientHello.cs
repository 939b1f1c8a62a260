using System.Buffers.Binary;

namespace Switchyard.Packets.Tls
{
    /// <summary>Finds the server name (SNI, RFC 6066 §3) in the ClientHello that opens a TLS connection, from
    /// the first bytes of the client→server byte stream. Stateless: the caller passes the whole prefix received
    /// so far (stream offset 0 onwards) every time more arrives, and waits while the answer is
    /// <see cref="ServerNameResult.NeedMore"/>. Reads with bounds checks only, never throws on input, and
    /// allocates nothing but the returned name.</summary>
    /// <remarks>
    /// Decisions that are not obvious from the RFCs:
    /// <list type="bullet">
    /// <item>Found/Absent are given only once the whole ClientHello is in: a later byte could still reveal a
    /// second server_name extension or a broken length, and a sniffer that answers early can be steered.</item>
    /// <item>0x16 0x03 followed by a record version outside 0x01-0x04 (e.g. SSL 3.0, prohibited by RFC 7568)
    /// is <see cref="ServerNameResult.Malformed"/>, not NotThisProtocol: nothing else starts that way.</item>
    /// <item>Only a repeated server_name extension is checked for (RFC 8446 §4.2 forbids any repeat), since it
    /// is the one that could smuggle a second name; checking all pairs would be quadratic.</item>
    /// <item>A host_name that is an IP literal (RFC 6066 §3 forbids it) passes when it fits the name syntax
    /// (dotted IPv4 does, IPv6 does not): the caller matches names, and an address string matches no name.</item>
    /// <item>Encrypted Client Hello (extension 0xfe0d) is not looked into: the name found is then the outer,
    /// public one, which is the server the connection really reaches first.</item>
    /// </list>
    /// </remarks>
    public static class TlsClientHello
    {
        /// <summary>Largest ClientHello handshake message accepted, its 4-byte handshake header included.
        /// Real ones are 0.2-2 KiB (post-quantum key shares included).</summary>
        public const int MaxHelloLength = 16384;

        private const byte ContentTypeHandshake = 22; // RFC 8446 §5.1 ContentType.handshake
        private const byte HandshakeTypeClientHello = 1; // RFC 8446 §4 HandshakeType.client_hello
        private const int RecordHeaderLength = 5; // type(1) legacy_record_version(2) length(2)
        private const int HandshakeHeaderLength = 4; // msg_type(1) length(3)
        // RFC 8446 §5.1 caps TLSPlaintext at 2^14; the extra 2048 (the TLSCiphertext allowance, §5.2) tolerates
        // stacks that size plaintext records loosely.
        private const int MaxRecordLength = (1 << 14) + 2048;
        private const ushort ExtensionServerName = 0; // RFC 6066 §3
        private const byte NameTypeHostName = 0; // RFC 6066 §3 NameType.host_name

        /// <summary>True when the first two bytes can only be TLS: a handshake record (22) with a 3.x record
        /// version. Lets the caller pick this parser before a whole record is in.</summary>
        public static bool LooksLikeTls(ReadOnlySpan<byte> stream) =>
            stream.Length >= 2 && stream[0] == ContentTypeHandshake && stream[1] == 3;

        /// <summary>Parses the TLS records at the start of <paramref name="stream"/>, reassembling the ClientHello
        /// when it spans several records (RFC 8446 §5.1 allows any fragmentation of handshake messages), and
        /// returns the host_name of its server_name extension, lower-cased, without a trailing dot.</summary>
        public static ServerNameResult TryGetServerName(ReadOnlySpan<byte> stream, out string? serverName)
        {
            serverName = null;
            var first = CheckRecordHeader(stream, firstRecord: true, out int recordLength);
            if (first != Step.Ok) return ToResult(first);

            var fragment = stream.Slice(RecordHeaderLength, Math.Min(recordLength, stream.Length - RecordHeaderLength));
            bool firstRecordIncomplete = fragment.Length < recordLength;
            if (firstRecordIncomplete || (recordLength >= HandshakeHeaderLength &&
                HandshakeHeaderLength + ReadUInt24(fragment[1..]) <= recordLength))
            {
                // The common case: the whole message is (or will be) in the first record. Parse in place.
                return ParseHandshake(fragment, out serverName);
            }

            // The message continues in later records: gather its bytes on the stack (bounded by MaxHelloLength).
            Span<byte> gathered = stackalloc byte[MaxHelloLength];
            var gather = Gather(stream, gathered, out int have);
            if (gather != Step.Ok) return ToResult(gather);
            return ParseHandshake(gathered[..have], out serverName);
        }

        private enum Step { Ok, NeedMore, Malformed, NotThisProtocol }

        private static ServerNameResult ToResult(Step step) => step switch
        {
            Step.NeedMore => ServerNameResult.NeedMore,
            Step.NotThisProtocol => ServerNameResult.NotThisProtocol,
            _ => ServerNameResult.Malformed,
        };

        private static int ReadUInt24(ReadOnlySpan<byte> b) => (b[0] << 16) | (b[1] << 8) | b[2];

        /// <summary>RFC 8446 §5.1 TLSPlaintext header, judged byte by byte as far as the prefix goes. Only the
        /// first record decides NotThisProtocol; a bad later record inside a ClientHello is Malformed.</summary>
        private static Step CheckRecordHeader(ReadOnlySpan<byte> record, bool firstRecord, out int length)
        {
            length = 0;
            var notOurs = firstRecord ? Step.NotThisProtocol : Step.Malformed;
            if (record.IsEmpty) return Step.NeedMore;
            // RFC 8446 §5.1: handshake messages MUST NOT be interleaved with other record types.
            if (record[0] != ContentTypeHandshake) return notOurs;
            if (record.Length < 2) return Step.NeedMore;
            if (record[1] != 3) return notOurs;
            if (record.Length < 3) return Step.NeedMore;
            // legacy_record_version: 0x0301 (what RFC 8446 §5.1 recommends for the first ClientHello) to 0x0304.
            if (record[2] is < 1 or > 4) return Step.Malformed;
            if (record.Length < RecordHeaderLength) return Step.NeedMore;
            length = BinaryPrimitives.ReadUInt16BigEndian(record[3..]);
            // RFC 8446 §5.1: zero-length handshake fragments MUST NOT be sent.
            return length is 0 or > MaxRecordLength ? Step.Malformed : Step.Ok;
        }

        /// <summary>Copies handshake bytes from consecutive records into <paramref name="into"/> until the
        /// ClientHello is complete or the prefix ends. Ok means "gathered what there is"; the parser then says
        /// NeedMore if it is short.</summary>
        private static Step Gather(ReadOnlySpan<byte> stream, Span<byte> into, out int have)
        {
            have = 0;
            int need = -1; // the message's full length, once its header is in
            int pos = 0;
            for (bool firstRecord = true; need < 0 || have < need; firstRecord = false)
            {
                var header = CheckRecordHeader(stream[pos..], firstRecord, out int recordLength);
                if (header == Step.NeedMore) return Step.Ok;
                if (header != Step.Ok) return header;
                var fragment = stream.Slice(pos + RecordHeaderLength,
                    Math.Min(recordLength, stream.Length - pos - RecordHeaderLength));
                int room = need >= 0 ? need - have : into.Length - have;
                int take = Math.Min(fragment.Length, room);
                fragment[..take].CopyTo(into[have..]);
                have += take;
                if (need < 0 && have >= HandshakeHeaderLength)
                {
                    if (into[0] != HandshakeTypeClientHello) return Step.Malformed;
                    need = HandshakeHeaderLength + ReadUInt24(into[1..]);
                    if (need > MaxHelloLength) return Step.Malformed;
                    have = Math.Min(have, need); // bytes after the ClientHello are not ours to judge
                }
                if (fragment.Length < recordLength) return Step.Ok; // the prefix ends inside this record
                pos += RecordHeaderLength + recordLength;
            }
            return Step.Ok;
        }

        /// <summary>RFC 8446 §4 Handshake header, then the ClientHello body. <paramref name="handshake"/> is the
        /// part of the handshake stream received so far (possibly with bytes after the message).</summary>
        private static ServerNameResult ParseHandshake(ReadOnlySpan<byte> handshake, out string? serverName)
        {
            serverName = null;
            if (handshake.IsEmpty) return ServerNameResult.NeedMore;
            // The client's first handshake message is always ClientHello (RFC 8446 §2).
            if (handshake[0] != HandshakeTypeClientHello) return ServerNameResult.Malformed;
            if (handshake.Length < HandshakeHeaderLength) return ServerNameResult.NeedMore;
            int bodyLength = ReadUInt24(handshake[1..]);
            if (HandshakeHeaderLength + bodyLength > MaxHelloLength) return ServerNameResult.Malformed;
            var body = handshake.Slice(HandshakeHeaderLength, Math.Min(bodyLength, handshake.Length - HandshakeHeaderLength));
            return ParseBody(new Body(body, bodyLength), out serverName);
        }

        /// <summary>The ClientHello body as received so far, with its declared length: a field that runs past an
        /// enclosing declared end is Malformed at once; one that only runs past the received bytes is NeedMore.</summary>
        private readonly ref struct Body(ReadOnlySpan<byte> received, int declaredLength)
        {
            public readonly ReadOnlySpan<byte> Bytes = received;
            public readonly int Length = declaredLength;

            public Step Need(int at, int count, int end) =>
                at + count > end ? Step.Malformed : at + count > Bytes.Length ? Step.NeedMore : Step.Ok;
        }

        /// <summary>RFC 8446 §4.1.2:
        /// <code>
        /// uint16 legacy_version; opaque random[32]; opaque legacy_session_id&lt;0..32&gt;;
        /// CipherSuite cipher_suites&lt;2..2^16-2&gt;; opaque legacy_compression_methods&lt;1..2^8-1&gt;;
        /// Extension extensions&lt;8..2^16-1&gt;;
        /// </code>
        /// Extensions may be missing altogether in a TLS 1.2 ClientHello (RFC 5246 §7.4.1.2): then Absent.</summary>
        private static ServerNameResult ParseBody(Body body, out string? serverName)
        {
            serverName = null;
            var b = body.Bytes;
            int end = body.Length;
            int p = 0;
            Step s;

            if ((s = body.Need(p, 2, end)) != Step.Ok) return ToResult(s);
            if (b[p] != 3 || b[p + 1] is < 1 or > 4) return ServerNameResult.Malformed; // legacy_version 3.1-3.4
            p += 2 + 32; // legacy_version, random

            if ((s = body.Need(p, 1, end)) != Step.Ok) return ToResult(s);
            int sessionIdLength = b[p++];
            if (sessionIdLength > 32) return ServerNameResult.Malformed;
            p += sessionIdLength;

            if ((s = body.Need(p, 2, end)) != Step.Ok) return ToResult(s);
            int cipherSuitesLength = BinaryPrimitives.ReadUInt16BigEndian(b[p..]);
            if (cipherSuitesLength < 2 || cipherSuitesLength % 2 != 0) return ServerNameResult.Malformed; // 2-byte suites
            p += 2 + cipherSuitesLength;

            if ((s = body.Need(p, 1, end)) != Step.Ok) return ToResult(s);
            int compressionLength = b[p++];
            if (compressionLength < 1) return ServerNameResult.Malformed;
            p += compressionLength;

            if ((s = body.Need(p, 0, end)) != Step.Ok) return ToResult(s);
            if (p == end) return ServerNameResult.Absent; // no extensions block
            if ((s = body.Need(p, 2, end)) != Step.Ok) return ToResult(s);
            int extensionsLength = BinaryPrimitives.ReadUInt16BigEndian(b[p..]);
            p += 2;
            // The extensions block is the rest of the body, exactly: trailing bytes would be a second parse.
            if (p + extensionsLength != end) return ServerNameResult.Malformed;

            int nameAt = -1, nameLength = 0;
            bool serverNameSeen = false;
            while (p < end)
            {
                // RFC 8446 §4.2: struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; }
                if ((s = body.Need(p, 4, end)) != Step.Ok) return ToResult(s);
                ushort type = BinaryPrimitives.ReadUInt16BigEndian(b[p..]);
                int length = BinaryPrimitives.ReadUInt16BigEndian(b[(p + 2)..]);
                p += 4;
                if ((s = body.Need(p, length, end)) != Step.Ok) return ToResult(s);
                if (type == ExtensionServerName)
                {
                    // RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type".
                    if (serverNameSeen) return ServerNameResult.Malformed;
                    serverNameSeen = true;
                    if ((s = ParseServerNameList(b.Slice(p, length), out nameAt, out nameLength)) != Step.Ok)
                        return ToResult(s);
                    if (nameAt >= 0) nameAt += p;
                }
                p += length;
            }

            if (nameAt < 0) return ServerNameResult.Absent;
            // Validated in ParseServerNameList; trimming again just recovers the span.
            HostNameText.TryTrim(b.Slice(nameAt, nameLength), out var name);
            serverName = HostNameText.ToLowerString(name);
            return ServerNameResult.Found;
        }

        /// <summary>RFC 6066 §3 (the extension is complete here):
        /// <code>
        /// struct { NameType name_type; select (name_type) { case host_name: HostName; } name; } ServerName;
        /// opaque HostName&lt;1..2^16-1&gt;;  struct { ServerName server_name_list&lt;1..2^16-1&gt; } ServerNameList;
        /// </code>
        /// "The ServerNameList MUST NOT contain more than one name of the same name_type"; future name types
        /// "MUST begin with a 16-bit length field", so unknown ones are skipped. The host name is "ASCII
        /// encoding without a trailing dot" (one trailing dot is tolerated and dropped).</summary>
        private static Step ParseServerNameList(ReadOnlySpan<byte> data, out int nameAt, out int nameLength)
        {
            nameAt = -1;
            nameLength = 0;
            if (data.Length < 2) return Step.Malformed;
            int listLength = BinaryPrimitives.ReadUInt16BigEndian(data);
            if (listLength == 0 || 2 + listLength != data.Length) return Step.Malformed;
            for (int q = 2; q < data.Length;)
            {
                if (q + 3 > data.Length) return Step.Malformed;
                byte nameType = data[q];
                int length = BinaryPrimitives.ReadUInt16BigEndian(data[(q + 1)..]);
                q += 3;
                if (length == 0 || q + length > data.Length) return Step.Malformed;
                if (nameType == NameTypeHostName)
                {
                    if (nameAt >= 0) return Step.Malformed;
                    if (!HostNameText.TryTrim(data.Slice(q, length), out _)) return Step.Malformed;
                    nameAt = q;
                    nameLength = length;
                }
                q += length;
            }
            return Step.Ok;
        }
    }
}
