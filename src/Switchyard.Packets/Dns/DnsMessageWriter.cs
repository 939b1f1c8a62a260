using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Switchyard.Packets.Dns;

/// <summary>Builds a DNS message into a caller's buffer with name compression (RFC 1035 §4.1.4).
/// Write the header, then questions, then records in section order; <see cref="Finish"/> patches the
/// section counts and returns the length. Every TryWrite returns false, leaving the message as it
/// was, when the buffer is too small. Invalid names and out-of-order sections are programming errors
/// and throw. No heap allocation: compression targets live in a fixed inline table.</summary>
public ref struct DnsMessageWriter
{
    /// <summary>How many name offsets are remembered for compression; later names are still written,
    /// just not offered as targets. Responses we build carry a handful of names.</summary>
    public const int MaxCompressionTargets = 32;

    [InlineArray(MaxCompressionTargets)]
    private struct OffsetTable
    {
        private ushort _element;
    }

    private readonly Span<byte> _buffer;
    private int _position;
    private OffsetTable _offsets;
    private int _offsetCount;
    private int _questionCount;
    private int _answerCount;
    private int _authorityCount;
    private int _additionalCount;
    private int _section; // -1: questions; otherwise the DnsSection last written
    private DnsHeader _header;

    public DnsMessageWriter(Span<byte> buffer)
    {
        // A buffer that cannot hold a header is a caller bug, not a runtime condition.
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer.Length, DnsHeader.Length, nameof(buffer));
        _buffer = buffer;
        _position = DnsHeader.Length;
        _section = -1;
    }

    public readonly int Length => _position;

    /// <summary>Sets the header's id and flags. Its counts are ignored: the writer counts what is written
    /// and fills them in at <see cref="Finish"/>.</summary>
    public void WriteHeader(in DnsHeader header)
    {
        _header = header;
        header.TryWrite(_buffer);
    }

    public bool TryWriteQuestion(in DnsQuestion q)
    {
        if (_section != -1) throw new InvalidOperationException("Questions must precede all records (RFC 1035 §4.1).");
        if (_questionCount == ushort.MaxValue) return false;
        var saved = Save();
        if (!TryWriteName(q.Name, compress: true) || !TryWriteUInt16((ushort)q.Type) || !TryWriteUInt16((ushort)q.Class))
            return Restore(saved);
        _questionCount++;
        return true;
    }

    public bool TryWriteA(string name, uint ttl, scoped ReadOnlySpan<byte> ipv4, DnsSection section = DnsSection.Answer)
    {
        if (ipv4.Length != 4) throw new ArgumentException("An IPv4 address is 4 bytes.", nameof(ipv4));
        return TryWriteRecord(name, DnsType.A, DnsClass.IN, ttl, ipv4, section);
    }

    public bool TryWriteA(string name, uint ttl, Ipv4Address address, DnsSection section = DnsSection.Answer)
    {
        Span<byte> b = stackalloc byte[4];
        address.Write(b);
        return TryWriteRecord(name, DnsType.A, DnsClass.IN, ttl, b, section);
    }

    /// <summary>RFC 3596 §2.2: the RDATA is the 16-byte address.</summary>
    public bool TryWriteAaaa(string name, uint ttl, scoped ReadOnlySpan<byte> ipv6, DnsSection section = DnsSection.Answer)
    {
        if (ipv6.Length != 16) throw new ArgumentException("An IPv6 address is 16 bytes.", nameof(ipv6));
        return TryWriteRecord(name, DnsType.AAAA, DnsClass.IN, ttl, ipv6, section);
    }

    public bool TryWritePtr(string name, uint ttl, string target, DnsSection section = DnsSection.Answer) =>
        TryWriteNameRecord(name, DnsType.PTR, ttl, target, section);

    public bool TryWriteCname(string name, uint ttl, string target, DnsSection section = DnsSection.Answer) =>
        TryWriteNameRecord(name, DnsType.CNAME, ttl, target, section);

    public bool TryWriteNs(string name, uint ttl, string target, DnsSection section = DnsSection.Answer) =>
        TryWriteNameRecord(name, DnsType.NS, ttl, target, section);

    /// <summary>RFC 2782: the target is written uncompressed ("name compression is not to be used for
    /// this field"), since SRV postdates RFC 1035 and old resolvers need not expand it (RFC 3597 §4).</summary>
    public bool TryWriteSrv(string name, uint ttl, ushort priority, ushort weight, ushort port, string target, DnsSection section = DnsSection.Answer)
    {
        var saved = Save();
        if (!TryBeginRecord(name, DnsType.SRV, DnsClass.IN, ttl, section, out int lengthAt)
            || !TryWriteUInt16(priority) || !TryWriteUInt16(weight) || !TryWriteUInt16(port)
            || !TryWriteName(target, compress: false))
            return Restore(saved);
        return EndRecord(lengthAt, section);
    }

    /// <summary>TXT RDATA is a sequence of character-strings, each at most 255 bytes (RFC 1035 §3.3.14).
    /// Strings are written as Latin-1 (one byte per char); longer or wider strings throw.</summary>
    public bool TryWriteTxt(string name, uint ttl, scoped ReadOnlySpan<string> strings, DnsSection section = DnsSection.Answer)
    {
        foreach (string s in strings)
        {
            if (s.Length > 255) throw new ArgumentException("A TXT character-string holds at most 255 bytes.", nameof(strings));
            foreach (char c in s)
                if (c > 0xFF) throw new ArgumentException("TXT strings are written one byte per char.", nameof(strings));
        }
        var saved = Save();
        if (!TryBeginRecord(name, DnsType.TXT, DnsClass.IN, ttl, section, out int lengthAt)) return Restore(saved);
        // An empty TXT RDATA is not allowed: at least one (possibly empty) string.
        if (strings.IsEmpty && !TryWriteByte(0)) return Restore(saved);
        foreach (string s in strings)
        {
            if (_position + 1 + s.Length > _buffer.Length) return Restore(saved);
            _buffer[_position++] = (byte)s.Length;
            foreach (char c in s) _buffer[_position++] = (byte)c;
        }
        return EndRecord(lengthAt, section);
    }

    /// <summary>SOA (RFC 1035 §3.3.13), by default into authority: that is where a negative answer carries
    /// it so resolvers can cache the negative result for min(TTL, MINIMUM) (RFC 2308 §3, §5).</summary>
    public bool TryWriteSoa(string name, uint ttl, string mname, string rname, uint serial, uint refresh, uint retry, uint expire, uint minimum,
        DnsSection section = DnsSection.Authority)
    {
        var saved = Save();
        if (!TryBeginRecord(name, DnsType.SOA, DnsClass.IN, ttl, section, out int lengthAt)
            || !TryWriteName(mname, compress: true) || !TryWriteName(rname, compress: true)
            || !TryWriteUInt32(serial) || !TryWriteUInt32(refresh) || !TryWriteUInt32(retry)
            || !TryWriteUInt32(expire) || !TryWriteUInt32(minimum))
            return Restore(saved);
        return EndRecord(lengthAt, section);
    }

    /// <summary>The EDNS0 OPT pseudo-record (RFC 6891 §6.1.2): root owner, CLASS = our UDP payload size,
    /// TTL = extended RCODE/version/flags (all zero: version 0, no DO bit), RDATA = options. Always additional.</summary>
    public bool TryWriteOpt(ushort udpPayloadSize, scoped ReadOnlySpan<byte> options = default) =>
        TryWriteRecord("", DnsType.OPT, (DnsClass)udpPayloadSize, 0, options, DnsSection.Additional);

    /// <summary>Any record with opaque RDATA (which must not contain compressible names).</summary>
    public bool TryWriteRecord(string name, DnsType type, DnsClass @class, uint ttl, scoped ReadOnlySpan<byte> data, DnsSection section = DnsSection.Answer)
    {
        var saved = Save();
        if (!TryBeginRecord(name, type, @class, ttl, section, out int lengthAt) || !TryWriteBytes(data)) return Restore(saved);
        return EndRecord(lengthAt, section);
    }

    /// <summary>Patches the header counts and returns the message length.</summary>
    public int Finish()
    {
        new DnsHeader(_header.Id, _header.Flags, (ushort)_questionCount, (ushort)_answerCount, (ushort)_authorityCount, (ushort)_additionalCount)
            .TryWrite(_buffer);
        return _position;
    }

    private bool TryWriteNameRecord(string name, DnsType type, uint ttl, string target, DnsSection section)
    {
        var saved = Save();
        // RFC 1035 §4.1.4 allows compression inside the RDATA of the well-known types (CNAME, PTR, NS, SOA).
        if (!TryBeginRecord(name, type, DnsClass.IN, ttl, section, out int lengthAt) || !TryWriteName(target, compress: true))
            return Restore(saved);
        return EndRecord(lengthAt, section);
    }

    private bool TryBeginRecord(string name, DnsType type, DnsClass @class, uint ttl, DnsSection section, out int lengthAt)
    {
        lengthAt = 0;
        if ((int)section < _section)
            throw new InvalidOperationException($"Cannot write a {section} record after the {(DnsSection)_section} section (RFC 1035 §4.1).");
        if ((uint)section > (uint)DnsSection.Additional) throw new ArgumentOutOfRangeException(nameof(section));
        if (CountOf(section) == ushort.MaxValue) return false;
        if (!TryWriteName(name, compress: true) || !TryWriteUInt16((ushort)type) || !TryWriteUInt16((ushort)@class)
            || !TryWriteUInt32(ttl))
            return false;
        lengthAt = _position;
        return TryWriteUInt16(0);
    }

    private bool EndRecord(int lengthAt, DnsSection section)
    {
        int dataLength = _position - lengthAt - 2;
        if (dataLength > ushort.MaxValue) return false; // cannot happen with a 64 KiB message, but be exact
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[lengthAt..], (ushort)dataLength);
        _section = (int)section;
        if (section == DnsSection.Answer) _answerCount++;
        else if (section == DnsSection.Authority) _authorityCount++;
        else _additionalCount++;
        return true;
    }

    private readonly int CountOf(DnsSection section) => section switch
    {
        DnsSection.Answer => _answerCount,
        DnsSection.Authority => _authorityCount,
        _ => _additionalCount,
    };

    /// <summary>Writes a name, replacing its longest suffix already in the message by a pointer, and
    /// remembers where its own labels start for later names. Pointers carry 14-bit offsets, so only
    /// labels in the first 16 KiB can be targets.</summary>
    private bool TryWriteName(string name, bool compress)
    {
        Span<byte> wire = stackalloc byte[DnsWire.MaxNameLength];
        if (!DnsWire.TryEncodeName(name, wire, out int length))
            throw new ArgumentException($"'{name}' is not a valid domain name (labels 1-63 ASCII bytes, at most 255 bytes in all).", nameof(name));
        wire = wire[..length];

        int matchAt = length - 1; // the root label: written as itself
        int target = -1;
        if (compress)
        {
            for (int i = 0; i < length - 1 && target < 0; i += wire[i] + 1)
            {
                for (int k = 0; k < _offsetCount; k++)
                {
                    if (DnsWire.NameEquals(wire[i..], _buffer[.._position], _offsets[k]))
                    {
                        matchAt = i;
                        target = _offsets[k];
                        break;
                    }
                }
            }
        }
        int needed = matchAt + (target >= 0 ? 2 : 1);
        if (_position + needed > _buffer.Length) return false;
        int start = _position;
        wire[..matchAt].CopyTo(_buffer[_position..]);
        _position += matchAt;
        if (target >= 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[_position..], (ushort)(0xC000 | target));
            _position += 2;
        }
        else
        {
            _buffer[_position++] = 0;
        }
        if (compress)
        {
            for (int i = 0; i < matchAt && _offsetCount < MaxCompressionTargets && start + i < 0x4000; i += wire[i] + 1)
                _offsets[_offsetCount++] = (ushort)(start + i);
        }
        return true;
    }

    private bool TryWriteByte(byte value)
    {
        if (_position >= _buffer.Length) return false;
        _buffer[_position++] = value;
        return true;
    }

    private bool TryWriteUInt16(ushort value)
    {
        if (!BinaryPrimitives.TryWriteUInt16BigEndian(_buffer[_position..], value)) return false;
        _position += 2;
        return true;
    }

    private bool TryWriteUInt32(uint value)
    {
        if (!BinaryPrimitives.TryWriteUInt32BigEndian(_buffer[_position..], value)) return false;
        _position += 4;
        return true;
    }

    private bool TryWriteBytes(scoped ReadOnlySpan<byte> data)
    {
        if (!data.TryCopyTo(_buffer[_position..])) return false;
        _position += data.Length;
        return true;
    }

    private readonly (int Position, int OffsetCount) Save() => (_position, _offsetCount);

    /// <summary>Rolls back a partly written entry; compression targets inside it are forgotten too.</summary>
    private bool Restore((int Position, int OffsetCount) saved)
    {
        _position = saved.Position;
        _offsetCount = saved.OffsetCount;
        return false;
    }
}
