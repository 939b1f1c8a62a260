using System.Buffers.Binary;

namespace Switchyard.Packets.Dhcp;

/// <summary>Builds a BOOTREPLY (op 2) into a caller-provided buffer: <see cref="WriteReplyHeader"/>, then
/// options, then <see cref="Finish"/>. Every Try method returns false and writes nothing when the option is
/// invalid or would not fit (one byte is always kept for End); <see cref="Finish"/> returns 0 then.</summary>
public ref struct DhcpMessageWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public DhcpMessageWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>Bytes written so far (header and options, without End or padding).</summary>
    public readonly int Length => _position;

    /// <summary>The fixed header per RFC 2131 §4.3.1 table 3: op 2, htype/hlen from the request, hops 0,
    /// xid, flags, giaddr and chaddr copied from the request, secs 0, yiaddr and siaddr as given, sname and
    /// file zeroed, then the magic cookie (RFC 2131 §3). ciaddr is copied when the request is a DHCPREQUEST
    /// or DHCPINFORM (the ACK case of table 3) and is 0 otherwise. If the buffer cannot hold the 240-byte
    /// header nothing is written and every later call fails.</summary>
    public void WriteReplyHeader(in DhcpMessageReader request, Ipv4Address yourAddress, Ipv4Address serverAddress)
    {
        _position = 0;
        if (_buffer.Length < DhcpLayout.OptionsOffset || request.Message.Length < DhcpLayout.OptionsOffset) return;
        var header = _buffer[..DhcpLayout.OptionsOffset];
        var source = request.Message;
        header.Clear();
        header[DhcpLayout.OpOffset] = DhcpLayout.BootReply;
        header[DhcpLayout.HtypeOffset] = source[DhcpLayout.HtypeOffset];
        header[DhcpLayout.HlenOffset] = source[DhcpLayout.HlenOffset];
        source.Slice(DhcpLayout.XidOffset, 4).CopyTo(header[DhcpLayout.XidOffset..]);
        source.Slice(DhcpLayout.FlagsOffset, 2).CopyTo(header[DhcpLayout.FlagsOffset..]);
        if (request.MessageType is DhcpMessageType.Request or DhcpMessageType.Inform)
            source.Slice(DhcpLayout.CiaddrOffset, 4).CopyTo(header[DhcpLayout.CiaddrOffset..]);
        yourAddress.Write(header[DhcpLayout.YiaddrOffset..]);
        serverAddress.Write(header[DhcpLayout.SiaddrOffset..]);
        source.Slice(DhcpLayout.GiaddrOffset, 4).CopyTo(header[DhcpLayout.GiaddrOffset..]);
        source.Slice(DhcpLayout.ChaddrOffset, DhcpLayout.ChaddrLength).CopyTo(header[DhcpLayout.ChaddrOffset..]);
        BinaryPrimitives.WriteUInt32BigEndian(header[DhcpLayout.CookieOffset..], DhcpLayout.MagicCookie);
        _position = DhcpLayout.OptionsOffset;
    }

    /// <summary>Writes a BOOTREQUEST (op 1) header; used by <see cref="DhcpClientMessage"/>. False if the buffer is too small.</summary>
    public bool TryWriteRequestHeader(uint xid, MacAddress chaddr, Ipv4Address clientAddress, ushort seconds = 0, bool broadcast = false)
    {
        _position = 0;
        if (_buffer.Length < DhcpLayout.OptionsOffset) return false;
        var header = _buffer[..DhcpLayout.OptionsOffset];
        header.Clear();
        header[DhcpLayout.OpOffset] = DhcpLayout.BootRequest;
        header[DhcpLayout.HtypeOffset] = DhcpLayout.HardwareTypeEthernet;
        header[DhcpLayout.HlenOffset] = DhcpLayout.HardwareLengthEthernet;
        BinaryPrimitives.WriteUInt32BigEndian(header[DhcpLayout.XidOffset..], xid);
        BinaryPrimitives.WriteUInt16BigEndian(header[DhcpLayout.SecsOffset..], seconds);
        BinaryPrimitives.WriteUInt16BigEndian(header[DhcpLayout.FlagsOffset..], broadcast ? DhcpLayout.BroadcastFlag : (ushort)0);
        clientAddress.Write(header[DhcpLayout.CiaddrOffset..]);
        chaddr.Write(header[DhcpLayout.ChaddrOffset..]);
        BinaryPrimitives.WriteUInt32BigEndian(header[DhcpLayout.CookieOffset..], DhcpLayout.MagicCookie);
        _position = DhcpLayout.OptionsOffset;
        return true;
    }

    /// <summary>Option 53 (RFC 2132 §9.6). RFC 2131 §4.1 recommends sending it first.</summary>
    public bool TryWriteMessageType(DhcpMessageType type) =>
        type is >= DhcpMessageType.Discover and <= DhcpMessageType.Inform && TryReserve(DhcpOption.MessageType, 1, out var v) && Set(v, (byte)type);

    /// <summary>A single-address option: 1, 3, 28, 50, 54 (RFC 2132 §3.3, §3.5, §5.3, §9.1, §9.7).</summary>
    public bool TryWriteAddress(byte code, Ipv4Address address)
    {
        if (!TryReserve(code, Ipv4Address.Length, out var v)) return false;
        address.Write(v);
        return true;
    }

    /// <summary>An address-list option such as 3 or 6 (RFC 2132 §3.5, §3.8): at least one, at most 63 addresses.</summary>
    public bool TryWriteAddresses(byte code, scoped ReadOnlySpan<Ipv4Address> addresses)
    {
        if (addresses.IsEmpty || addresses.Length * Ipv4Address.Length > byte.MaxValue) return false;
        if (!TryReserve(code, addresses.Length * Ipv4Address.Length, out var v)) return false;
        for (int i = 0; i < addresses.Length; i++) addresses[i].Write(v[(i * Ipv4Address.Length)..]);
        return true;
    }

    /// <summary>A 32-bit option: 51, 58, 59 (RFC 2132 §9.2, §9.11, §9.12).</summary>
    public bool TryWriteUInt32(byte code, uint value)
    {
        if (!TryReserve(code, 4, out var v)) return false;
        BinaryPrimitives.WriteUInt32BigEndian(v, value);
        return true;
    }

    /// <summary>A 16-bit option such as 26, the interface MTU (RFC 2132 §5.1).</summary>
    public bool TryWriteUInt16(byte code, ushort value)
    {
        if (!TryReserve(code, 2, out var v)) return false;
        BinaryPrimitives.WriteUInt16BigEndian(v, value);
        return true;
    }

    /// <summary>An NVT ASCII string option such as 12 or 15 (RFC 2132 §3.14, §3.17), 1..255 characters,
    /// not NUL-terminated (RFC 2132 §2). False for characters outside 0x01..0x7E.</summary>
    public bool TryWriteString(byte code, scoped ReadOnlySpan<char> ascii)
    {
        if (ascii.IsEmpty || ascii.Length > byte.MaxValue) return false;
        foreach (char c in ascii) if (c is '\0' or > '~') return false;
        if (!TryReserve(code, ascii.Length, out var v)) return false;
        for (int i = 0; i < ascii.Length; i++) v[i] = (byte)ascii[i];
        return true;
    }

    /// <summary>Option 119, the domain search list (RFC 3397 §2), compressed; split into consecutive
    /// instances of at most 255 bytes when longer (RFC 3396 §7). Encoded in place, without allocating.</summary>
    public bool TryWriteDomainSearch(scoped ReadOnlySpan<string> domains)
    {
        if (domains.IsEmpty) return false;
        int free = _buffer.Length - 1 - _position; // keep one byte for End
        if (_position < DhcpLayout.OptionsOffset || free <= 2) return false;
        // Encode behind room for every possible chunk header, then slide the chunks down to make room
        // for their headers. Destinations never pass their sources, so the moves are safe in place.
        int headerRoom = 2 * ((free + byte.MaxValue - 1) / byte.MaxValue);
        if (headerRoom >= free) return false;
        var scratch = _buffer.Slice(_position + headerRoom, free - headerRoom);
        if (!DhcpDomainSearch.TryEncode(domains, scratch, out int n) || n == 0) return false;
        int chunks = (n + byte.MaxValue - 1) / byte.MaxValue;
        if (n + 2 * chunks > free) return false;
        int dst = _position;
        for (int k = 0; k < chunks; k++)
        {
            int len = Math.Min(byte.MaxValue, n - k * byte.MaxValue);
            _buffer.Slice(_position + headerRoom + k * byte.MaxValue, len).CopyTo(_buffer[(dst + 2)..]);
            _buffer[dst] = DhcpOption.DomainSearch;
            _buffer[dst + 1] = (byte)len;
            dst += 2 + len;
        }
        _position = dst;
        return true;
    }

    /// <summary>Any option, verbatim: 0..255 bytes. Pad and End cannot be written this way.</summary>
    public bool TryWriteRaw(byte code, scoped ReadOnlySpan<byte> value)
    {
        if (value.Length > byte.MaxValue || !TryReserve(code, value.Length, out var v)) return false;
        value.CopyTo(v);
        return true;
    }

    /// <summary>Any option, split into consecutive instances of at most 255 bytes (RFC 3396 §7).
    /// An empty value is written as one zero-length instance.</summary>
    public bool TryWriteLong(byte code, scoped ReadOnlySpan<byte> value)
    {
        int chunks = Math.Max(1, (value.Length + byte.MaxValue - 1) / byte.MaxValue);
        if (code is DhcpOption.Pad or DhcpOption.End || _position < DhcpLayout.OptionsOffset) return false;
        if (_position + value.Length + 2 * chunks + 1 > _buffer.Length) return false;
        do
        {
            int len = Math.Min(byte.MaxValue, value.Length);
            TryReserve(code, len, out var v);
            value[..len].CopyTo(v);
            value = value[len..];
        } while (!value.IsEmpty);
        return true;
    }

    /// <summary>Writes End (RFC 2132 §3.2), zero-pads to 300 bytes (RFC 1542 §3.1.1) and returns the
    /// message length; 0 if no header was written or the buffer cannot hold End and the padding.</summary>
    public int Finish()
    {
        if (_position < DhcpLayout.OptionsOffset) return 0;
        int length = Math.Max(_position + 1, DhcpLayout.MinimumMessageLength);
        if (length > _buffer.Length) return 0;
        _buffer[_position] = DhcpOption.End;
        _buffer[(_position + 1)..length].Clear();
        return length;
    }

    private bool TryReserve(byte code, int length, out Span<byte> value)
    {
        value = default;
        if (code is DhcpOption.Pad or DhcpOption.End || length > byte.MaxValue) return false;
        if (_position < DhcpLayout.OptionsOffset || _position + 2 + length + 1 > _buffer.Length) return false;
        _buffer[_position] = code;
        _buffer[_position + 1] = (byte)length;
        value = _buffer.Slice(_position + 2, length);
        _position += 2 + length;
        return true;
    }

    private static bool Set(Span<byte> value, byte b)
    {
        value[0] = b;
        return true;
    }
}
