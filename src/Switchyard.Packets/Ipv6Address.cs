using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchyard.Packets;

/// <summary>An IPv6 address as a host-order <see cref="UInt128"/>: comparable, cheap to hash, and
/// free of the allocation that <see cref="IPAddress"/> costs on the data path.</summary>
public readonly record struct Ipv6Address(UInt128 Value) : IComparable<Ipv6Address>
{
    public const int Length = 16;
    public static readonly Ipv6Address Any = new(UInt128.Zero);
    public static readonly Ipv6Address Loopback = new(UInt128.One);
    /// <summary>ff02::1, all nodes on the link (RFC 4291 §2.7.1).</summary>
    public static readonly Ipv6Address AllNodes = new(new UInt128(0xFF02_0000_0000_0000UL, 1));
    /// <summary>ff02::2, all routers on the link.</summary>
    public static readonly Ipv6Address AllRouters = new(new UInt128(0xFF02_0000_0000_0000UL, 2));

    public Ipv6Address(ulong high, ulong low) : this(new UInt128(high, low)) { }

    public ulong High => (ulong)(Value >> 64);
    public ulong Low => (ulong)Value;

    public static Ipv6Address Read(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source[8..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Low);
    }

    public bool IsUnspecified => Value == UInt128.Zero;
    public bool IsLoopback => Value == UInt128.One;
    /// <summary>ff00::/8 (RFC 4291 §2.7).</summary>
    public bool IsMulticast => (High >> 56) == 0xFF;
    /// <summary>fe80::/10 (RFC 4291 §2.5.6).</summary>
    public bool IsLinkLocal => (High >> 54) == (0xFE80UL >> 6);
    /// <summary>::ffff:0:0/96, an IPv4 address in IPv6 clothes (RFC 4291 §2.5.5.2).</summary>
    public bool IsIpv4Mapped => High == 0 && (Low >> 32) == 0xFFFF;

    /// <summary>::ffff:a.b.c.d for an IPv4 address (RFC 4291 §2.5.5.2).</summary>
    public static Ipv6Address MapIpv4(Ipv4Address a) => new(0, 0xFFFF_0000_0000UL | a.Value);
    /// <summary>The IPv4 address inside an IPv4-mapped one.</summary>
    public Ipv4Address MappedIpv4 => new((uint)Low);

    /// <summary>The modified EUI-64 interface identifier of a MAC (RFC 4291 Appendix A): ff:fe in
    /// the middle and the universal/local bit inverted.</summary>
    public static ulong InterfaceId(MacAddress mac)
    {
        ulong m = mac.Value;
        ulong upper = (m >> 24) & 0xFF_FFFF, lower = m & 0xFF_FFFF;
        return ((upper << 40) | (0xFFFEUL << 24) | lower) ^ 0x0200_0000_0000_0000UL;
    }

    /// <summary>The link-local address a host forms from its MAC (RFC 4862 §5.3).</summary>
    public static Ipv6Address LinkLocal(MacAddress mac) => new(0xFE80_0000_0000_0000UL, InterfaceId(mac));

    /// <summary>The address SLAAC forms in a /64 from a MAC (RFC 4862 §5.5.3 with an EUI-64 identifier).</summary>
    public static Ipv6Address Slaac(Ipv6Prefix prefix, MacAddress mac) => new(prefix.Network.High, InterfaceId(mac));

    /// <summary>ff02::1:ffXX:XXXX, the solicited-node group of an address (RFC 4291 §2.7.1).</summary>
    public Ipv6Address SolicitedNode => new(0xFF02_0000_0000_0000UL, 0x0000_0001_FF00_0000UL | (Low & 0xFF_FFFF));

    /// <summary>33:33 and the group's last 32 bits (RFC 2464 §7).</summary>
    public MacAddress MulticastMac => new(0x3333_0000_0000UL | (Low & 0xFFFF_FFFF));

    public static Ipv6Address FromIPAddress(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            throw new ArgumentException($"{address} is not an IPv6 address", nameof(address));
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        return Read(b);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> b = stackalloc byte[16];
        Write(b);
        return new IPAddress(b);
    }

    /// <summary>An IPv6 address in text (RFC 4291 §2.2), without a zone or brackets.</summary>
    public static bool TryParse(string? text, out Ipv6Address address)
    {
        address = default;
        if (string.IsNullOrEmpty(text) || !text.Contains(':') || text.Contains('%') || text.Contains('[')
            || !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6) return false;
        address = FromIPAddress(ip);
        return true;
    }

    public static Ipv6Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IPv6 address");

    public int CompareTo(Ipv6Address other) => Value.CompareTo(other.Value);

    /// <summary>The canonical text form (RFC 5952).</summary>
    public override string ToString() => ToIPAddress().ToString();
}

/// <summary>An IPv6 prefix. Switchyard networks use /64s, the length SLAAC needs (RFC 4862 §5.5.3,
/// RFC 4291 §2.5.1).</summary>
public readonly record struct Ipv6Prefix(Ipv6Address Network, int PrefixLength)
{
    public const int SlaacLength = 64;

    public UInt128 Mask => PrefixLength == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - PrefixLength);
    public bool Contains(Ipv6Address a) => (a.Value & Mask) == Network.Value;
    /// <summary>prefix::1, the gateway's address by Switchyard's convention.</summary>
    public Ipv6Address FirstHost => new(Network.Value + UInt128.One);

    /// <summary>A /64 such as fd12:3456:789a:1::/64; any other length is refused with a one-line reason.</summary>
    public static bool TryParseSlaac(string? text, out Ipv6Prefix prefix, out string? error)
    {
        prefix = default;
        error = null;
        int slash = text?.IndexOf('/') ?? -1;
        if (text is null || slash < 0) { error = $"'{text}' is not an IPv6 prefix (expected ADDRESS/64 such as fd00:1:2:3::/64)"; return false; }
        if (!Ipv6Address.TryParse(text[..slash], out var addr)) { error = $"'{text}': '{text[..slash]}' is not an IPv6 address"; return false; }
        if (!int.TryParse(text[(slash + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int len) || len > 128)
        { error = $"'{text}': prefix length must be 0..128"; return false; }
        if (len != SlaacLength) { error = $"'{text}' is a /{len}; an IPv6 network must be a /64 (SLAAC needs 64-bit interface identifiers, RFC 4862)"; return false; }
        prefix = new Ipv6Prefix(addr, len);
        if ((addr.Value & prefix.Mask) != addr.Value) { error = $"'{text}' has host bits set (did you mean {new Ipv6Prefix(new(addr.Value & prefix.Mask), len)}?)"; return false; }
        // A /64 with its host bits clear: ::/64 holds the unspecified and loopback addresses and
        // the IPv4-mapped and -compatible ones (RFC 4291 §2.5.2, §2.5.3, §2.5.5).
        string? why = addr.IsMulticast ? "multicast (ff00::/8, RFC 4291 §2.7): a group address cannot be a host's"
            : addr.IsLinkLocal ? "link-local (fe80::/10, RFC 4291 §2.5.6): every interface makes its own and routers never forward it"
            : (addr.High >> 56) == 0 ? "in ::/8 (reserved, RFC 4291 §2.4), with the unspecified, loopback and IPv4-mapped addresses"
            : null;
        if (why is not null)
        { error = $"'{text}' is not a unicast prefix a network can use: it is {why}; choose another, e.g. --ipv6 auto (a unique local fd00::/8 prefix)"; prefix = default; return false; }
        return true;
    }

    public static Ipv6Prefix Parse(string text) => TryParseSlaac(text, out var p, out var e) ? p : throw new FormatException(e);

    /// <summary>A stable unique local /64 for a network name (RFC 4193 §3.2 in spirit: fd00::/8, a
    /// 40-bit global ID, here from a hash of the name rather than of time and an EUI-64, so the
    /// same name always gets the same prefix; subnet ID 0).</summary>
    public static Ipv6Prefix StableUla(string networkName)
    {
        Span<byte> hash = stackalloc byte[32];
        StableHash.Sha256(Encoding.UTF8.GetBytes("switchyard-ula:" + networkName), hash);
        ulong high = 0xFDUL << 56;
        for (int i = 0; i < 5; i++) high |= (ulong)hash[i] << (48 - 8 * i);
        return new Ipv6Prefix(new Ipv6Address(high, 0), SlaacLength);
    }

    public override string ToString() => $"{Network}/{PrefixLength}";
}
