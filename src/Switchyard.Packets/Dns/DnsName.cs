using System.Globalization;

namespace Switchyard.Packets.Dns;

/// <summary>Helpers for names in presentation form ("host.example", trailing dot optional):
/// RFC 4343 case-insensitive comparison, validation, and the reverse-mapping names used by PTR
/// queries (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa).</summary>
public static class DnsName
{
    private const string Ipv4ReverseSuffix = "in-addr.arpa";
    private const string Ipv6ReverseSuffix = "ip6.arpa";

    /// <summary>An <see cref="IEqualityComparer{T}"/> for dictionaries keyed by name.</summary>
    public static DnsNameComparer Comparer => DnsNameComparer.Instance;

    /// <summary>RFC 4343: ASCII letters compare case-insensitively, everything else exactly; a trailing
    /// dot (the explicit root) does not matter.</summary>
    public static bool Equals(string? a, string? b)
    {
        if (a is null || b is null) return a is null && b is null;
        return EqualsIgnoreCase(TrimRoot(a), TrimRoot(b));
    }

    /// <summary>True when <paramref name="name"/> is <paramref name="zone"/> or below it.</summary>
    public static bool IsSubdomainOf(string name, string zone)
    {
        ReadOnlySpan<char> n = TrimRoot(name), z = TrimRoot(zone);
        if (z.IsEmpty) return true;
        if (n.Length == z.Length) return EqualsIgnoreCase(n, z);
        // Must end at a label boundary: "xexample.test" is not under "example.test".
        return n.Length > z.Length && n[n.Length - z.Length - 1] == '.' && EqualsIgnoreCase(n[^z.Length..], z);
    }

    /// <summary>True when <paramref name="name"/> encodes: labels of 1-63 bytes, 255 bytes in all, ASCII.</summary>
    public static bool IsValidName(string? name)
    {
        if (name is null) return false;
        Span<byte> wire = stackalloc byte[DnsWire.MaxNameLength];
        return DnsWire.TryEncodeName(name, wire, out _);
    }

    /// <summary>A host name label per RFC 1123 §2.1 (letters, digits, hyphen; no leading or trailing
    /// hyphen; 1-63 chars): what we accept from DHCP clients before publishing their names.</summary>
    public static bool IsValidHostLabel(ReadOnlySpan<char> label)
    {
        if (label.IsEmpty || label.Length > DnsWire.MaxLabelLength || label[0] == '-' || label[^1] == '-') return false;
        foreach (char c in label)
            if (!char.IsAsciiLetterOrDigit(c) && c != '-') return false;
        return true;
    }

    /// <summary>"4.3.2.1.in-addr.arpa" for 1.2.3.4 (host-order <paramref name="address"/>).</summary>
    public static string FormatReverseIpv4(uint address) =>
        string.Create(CultureInfo.InvariantCulture, $"{address & 0xFF}.{(address >> 8) & 0xFF}.{(address >> 16) & 0xFF}.{address >> 24}.{Ipv4ReverseSuffix}");

    public static string FormatReverseIpv4(Ipv4Address address) => FormatReverseIpv4(address.Value);

    /// <summary>Parses a full four-octet in-addr.arpa name (canonical decimal, no leading zeros).
    /// Shorter names (classless delegations, RFC 2317) are not host addresses and return false.</summary>
    public static bool TryParseReverseIpv4(string? name, out uint address)
    {
        address = 0;
        if (name is null) return false;
        ReadOnlySpan<char> n = TrimRoot(name);
        if (!TryStripSuffix(ref n, Ipv4ReverseSuffix)) return false;
        for (int i = 0; i < 4; i++)
        {
            int dot = n.IndexOf('.');
            ReadOnlySpan<char> label = dot < 0 ? n : n[..dot];
            if (label.IsEmpty || label.Length > 3 || (label.Length > 1 && label[0] == '0')) return false;
            int value = 0;
            foreach (char c in label)
            {
                if (!char.IsAsciiDigit(c)) return false;
                value = value * 10 + (c - '0');
            }
            if (value > 255) return false;
            address |= (uint)value << (8 * i); // least significant octet comes first
            if (i < 3)
            {
                if (dot < 0) return false;
                n = n[(dot + 1)..];
            }
            else if (dot >= 0) return false;
        }
        return true;
    }

    /// <summary>The ip6.arpa name of a 16-byte address: 32 nibble labels, least significant first (RFC 3596 §2.5).</summary>
    public static string FormatReverseIpv6(ReadOnlySpan<byte> address)
    {
        if (address.Length != 16) throw new ArgumentException("An IPv6 address is 16 bytes.", nameof(address));
        Span<char> chars = stackalloc char[64 + Ipv6ReverseSuffix.Length];
        int n = 0;
        for (int i = 15; i >= 0; i--)
        {
            chars[n++] = "0123456789abcdef"[address[i] & 0xF];
            chars[n++] = '.';
            chars[n++] = "0123456789abcdef"[address[i] >> 4];
            chars[n++] = '.';
        }
        Ipv6ReverseSuffix.CopyTo(chars[n..]);
        return new string(chars[..(n + Ipv6ReverseSuffix.Length)]);
    }

    /// <summary>Parses a full 32-nibble ip6.arpa name into <paramref name="address"/> (16 bytes).</summary>
    public static bool TryParseReverseIpv6(string? name, Span<byte> address)
    {
        if (address.Length < 16 || name is null) return false;
        ReadOnlySpan<char> n = TrimRoot(name);
        if (!TryStripSuffix(ref n, Ipv6ReverseSuffix) || n.Length != 63) return false;
        for (int i = 0; i < 32; i++)
        {
            if (i < 31 && n[2 * i + 1] != '.') return false;
            int nibble = HexValue(n[2 * i]);
            if (nibble < 0) return false;
            int index = 15 - i / 2;
            address[index] = (byte)(i % 2 == 0 ? nibble : address[index] | nibble << 4);
        }
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Removes ".suffix" (case-insensitively), leaving the labels before it.</summary>
    private static bool TryStripSuffix(ref ReadOnlySpan<char> name, string suffix)
    {
        if (name.Length <= suffix.Length + 1 || name[^(suffix.Length + 1)] != '.' || !EqualsIgnoreCase(name[^suffix.Length..], suffix)) return false;
        name = name[..^(suffix.Length + 1)];
        return true;
    }

    internal static ReadOnlySpan<char> TrimRoot(string name)
    {
        // "a\." ends in an escaped dot, which is part of the label, not the root.
        if (name.Length > 0 && name[^1] == '.' && !(name.Length > 1 && name[^2] == '\\')) return name.AsSpan(0, name.Length - 1);
        return name;
    }

    internal static bool EqualsIgnoreCase(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if (FoldCase(a[i]) != FoldCase(b[i])) return false;
        return true;
    }

    internal static char FoldCase(char c) => c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c;
}
