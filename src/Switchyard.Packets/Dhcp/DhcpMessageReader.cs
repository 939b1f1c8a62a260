using System.Buffers.Binary;

namespace Switchyard.Packets.Dhcp;

/// <summary>One option as found on the wire: its code and value (RFC 2132 §2 "code, len, data").</summary>
public readonly ref struct DhcpOptionEntry(byte code, ReadOnlySpan<byte> value)
{
    public byte Code { get; } = code;
    public ReadOnlySpan<byte> Value { get; } = value;
}

/// <summary>Walks the options of a validated message in wire order, skipping Pad, stopping at End.</summary>
public ref struct DhcpOptionEnumerator
{
    private readonly ReadOnlySpan<byte> _options;
    private int _next;
    private DhcpOptionEntry _current;

    internal DhcpOptionEnumerator(ReadOnlySpan<byte> options)
    {
        _options = options;
        _next = 0;
        _current = default;
    }

    public readonly DhcpOptionEntry Current => _current;
    public readonly DhcpOptionEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        // _options was validated by TryParse, but keep the bounds checks so a default instance is harmless.
        while (_next < _options.Length)
        {
            byte code = _options[_next];
            if (code == DhcpOption.Pad) { _next++; continue; }
            if (code == DhcpOption.End || _next + 1 >= _options.Length) { _next = _options.Length; return false; }
            int len = _options[_next + 1];
            if (_next + 2 + len > _options.Length) { _next = _options.Length; return false; }
            _current = new DhcpOptionEntry(code, _options.Slice(_next + 2, len));
            _next += 2 + len;
            return true;
        }
        return false;
    }
}

/// <summary>A zero-copy view of a DHCPv4 message (the UDP payload, a BOOTP message; RFC 2131 §2).
/// <see cref="TryParse"/> validates the fixed header, the magic cookie (RFC 2131 §3) and that every
/// option's length stays inside the message (RFC 2132 §2), so the accessors never fail on wire data.
/// Option overloading (option 52, RFC 2132 §9.3) is deliberately ignored: options are only read from
/// the options field, never from sname/file. No Switchyard guest needs it, and it only widens the attack
/// surface.</summary>
public ref struct DhcpMessageReader
{
    private ReadOnlySpan<byte> _message;
    /// <summary>The options field after the cookie, cut at End (or at the end of the message).</summary>
    private ReadOnlySpan<byte> _options;

    /// <summary>Parses <paramref name="bootp"/>; false if it is truncated, not Ethernet (htype 1, hlen 6),
    /// has no magic cookie, has an unknown op, or an option whose length runs past the end. A message
    /// whose last option ends exactly at the end of the buffer without End is accepted (seen from
    /// some embedded clients; RFC 2131 §4.1 asks receivers to be liberal).</summary>
    public static bool TryParse(ReadOnlySpan<byte> bootp, out DhcpMessageReader reader)
    {
        reader = default;
        if (bootp.Length < DhcpLayout.OptionsOffset) return false;
        if (bootp[DhcpLayout.OpOffset] is not (DhcpLayout.BootRequest or DhcpLayout.BootReply)) return false;
        if (bootp[DhcpLayout.HtypeOffset] != DhcpLayout.HardwareTypeEthernet || bootp[DhcpLayout.HlenOffset] != DhcpLayout.HardwareLengthEthernet) return false;
        if (BinaryPrimitives.ReadUInt32BigEndian(bootp[DhcpLayout.CookieOffset..]) != DhcpLayout.MagicCookie) return false;

        var options = bootp[DhcpLayout.OptionsOffset..];
        int i = 0, end = -1;
        while (i < options.Length)
        {
            byte code = options[i];
            if (code == DhcpOption.Pad) { i++; continue; } // RFC 2132 §3.1
            if (code == DhcpOption.End) { end = i; break; } // RFC 2132 §3.2: anything after is padding
            if (i + 1 >= options.Length) return false;     // code without a length byte
            int next = i + 2 + options[i + 1];
            if (next > options.Length) return false;        // length runs past the end
            i = next;
        }
        if (end < 0) end = options.Length;

        reader._message = bootp;
        reader._options = options[..end];
        return true;
    }

    /// <summary>The whole message as parsed.</summary>
    public readonly ReadOnlySpan<byte> Message => _message;

    /// <summary>1 = BOOTREQUEST, 2 = BOOTREPLY (RFC 2131 §2).</summary>
    public readonly byte Op => _message.IsEmpty ? (byte)0 : _message[DhcpLayout.OpOffset];
    public readonly byte Hops => _message.IsEmpty ? (byte)0 : _message[DhcpLayout.HopsOffset];
    public readonly uint TransactionId => _message.IsEmpty ? 0 : BinaryPrimitives.ReadUInt32BigEndian(_message[DhcpLayout.XidOffset..]);
    public readonly ushort Seconds => _message.IsEmpty ? (ushort)0 : BinaryPrimitives.ReadUInt16BigEndian(_message[DhcpLayout.SecsOffset..]);
    public readonly ushort Flags => _message.IsEmpty ? (ushort)0 : BinaryPrimitives.ReadUInt16BigEndian(_message[DhcpLayout.FlagsOffset..]);
    /// <summary>RFC 2131 §4.1: the client cannot receive unicast before it is configured.</summary>
    public readonly bool BroadcastFlag => (Flags & DhcpLayout.BroadcastFlag) != 0;

    /// <summary>ciaddr: filled in only in BOUND, RENEW or REBINDING state (RFC 2131 §2).</summary>
    public readonly Ipv4Address ClientAddress => Address(DhcpLayout.CiaddrOffset);
    /// <summary>yiaddr: "your" (client) address.</summary>
    public readonly Ipv4Address YourAddress => Address(DhcpLayout.YiaddrOffset);
    /// <summary>siaddr: the next server in bootstrap.</summary>
    public readonly Ipv4Address ServerAddress => Address(DhcpLayout.SiaddrOffset);
    /// <summary>giaddr: the relay agent, 0 when not relayed.</summary>
    public readonly Ipv4Address RelayAddress => Address(DhcpLayout.GiaddrOffset);
    /// <summary>The first 6 bytes of chaddr (hlen is 6, checked by <see cref="TryParse"/>).</summary>
    public readonly MacAddress ClientHardwareAddress => _message.IsEmpty ? default : MacAddress.Read(_message[DhcpLayout.ChaddrOffset..]);

    private readonly Ipv4Address Address(int offset) => _message.IsEmpty ? default : Ipv4Address.Read(_message[offset..]);

    /// <summary>The options in wire order (Pad skipped, stops at End).</summary>
    public readonly DhcpOptionEnumerator Options => new(_options);

    /// <summary>The value of the first occurrence of <paramref name="code"/>. Pad and End have no value.</summary>
    public readonly bool TryGetOption(byte code, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (code is DhcpOption.Pad or DhcpOption.End) return false;
        foreach (var option in Options)
        {
            if (option.Code == code) { value = option.Value; return true; }
        }
        return false;
    }

    /// <summary>Concatenates every occurrence of <paramref name="code"/> in order (RFC 3396 §7, used for
    /// long options such as the domain search list). False when absent or <paramref name="destination"/>
    /// is too small.</summary>
    public readonly bool TryCopyConcatenatedOption(byte code, Span<byte> destination, out int written)
    {
        written = 0;
        bool found = false;
        if (code is DhcpOption.Pad or DhcpOption.End) return false;
        foreach (var option in Options)
        {
            if (option.Code != code) continue;
            if (!option.Value.TryCopyTo(destination[written..])) { written = 0; return false; }
            written += option.Value.Length;
            found = true;
        }
        return found;
    }

    /// <summary>Option 53 (RFC 2132 §9.6); null when missing, not one byte long, or out of range 1..8.</summary>
    public readonly DhcpMessageType? MessageType =>
        TryGetOption(DhcpOption.MessageType, out var v) && v.Length == 1 && v[0] is >= 1 and <= 8 ? (DhcpMessageType)v[0] : null;

    /// <summary>Option 50 (RFC 2132 §9.1); null unless exactly 4 bytes.</summary>
    public readonly Ipv4Address? RequestedIpAddress => AddressOption(DhcpOption.RequestedIpAddress);
    /// <summary>Option 54 (RFC 2132 §9.7); null unless exactly 4 bytes.</summary>
    public readonly Ipv4Address? ServerIdentifier => AddressOption(DhcpOption.ServerIdentifier);

    /// <summary>Option 57 (RFC 2132 §9.10); null unless exactly 2 bytes.</summary>
    public readonly ushort? MaxMessageSize =>
        TryGetOption(DhcpOption.MaxMessageSize, out var v) && v.Length == 2 ? BinaryPrimitives.ReadUInt16BigEndian(v) : null;

    /// <summary>Option 61 (RFC 2132 §9.14), type byte included; empty when absent.</summary>
    public readonly ReadOnlySpan<byte> ClientIdentifier => OptionOrEmpty(DhcpOption.ClientIdentifier);
    /// <summary>Option 55 (RFC 2132 §9.8): the codes the client asks for, in its order of preference.
    /// Only data: which options to send is the server's decision. Empty when absent.</summary>
    public readonly ReadOnlySpan<byte> ParameterRequestList => OptionOrEmpty(DhcpOption.ParameterRequestList);
    /// <summary>Option 12 (RFC 2132 §3.14) as raw bytes (NVT ASCII, not NUL-terminated); empty when absent.</summary>
    public readonly ReadOnlySpan<byte> HostName => OptionOrEmpty(DhcpOption.HostName);

    /// <summary>True when option 55 lists <paramref name="code"/>.</summary>
    public readonly bool Requests(byte code) => ParameterRequestList.Contains(code);

    private readonly ReadOnlySpan<byte> OptionOrEmpty(byte code) => TryGetOption(code, out var v) ? v : default;

    private readonly Ipv4Address? AddressOption(byte code) =>
        TryGetOption(code, out var v) && v.Length == Ipv4Address.Length ? Ipv4Address.Read(v) : null;
}
