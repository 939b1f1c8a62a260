namespace Switchyard.Packets.Http;

/// <summary>The authority syntax of a Host value or a request target (RFC 3986 §3.2 as RFC 9110 §4.2 narrows it).</summary>
internal static class HttpAuthority
{
    /// <summary>RFC 3986 §3.2.2-§3.2.3 authority without userinfo: host [":" port]. The host is a reg-name of
    /// the <see cref="HostNameText"/> syntax (dotted IPv4 fits it; percent-encoding is refused) or an IPv6
    /// literal in brackets (IPvFuture and zone identifiers are refused). <paramref name="host"/> is the name
    /// without brackets or trailing dot.</summary>
    public static bool TryParse(ReadOnlySpan<byte> authority, bool requirePort, out ReadOnlySpan<byte> host)
    {
        host = default;
        ReadOnlySpan<byte> rest;
        if (!authority.IsEmpty && authority[0] == (byte)'[')
        {
            int close = authority.IndexOf((byte)']');
            if (close < 0 || !IsIpv6Address(authority[1..close])) return false;
            host = authority[1..close];
            rest = authority[(close + 1)..];
        }
        else
        {
            int colon = authority.IndexOf((byte)':');
            var name = colon < 0 ? authority : authority[..colon];
            if (!HostNameText.TryTrim(name, out host)) return false;
            rest = colon < 0 ? default : authority[colon..];
        }

        if (rest.IsEmpty) return !requirePort;
        // port = *DIGIT (RFC 3986 §3.2.3): may be empty, but must fit 16 bits here.
        if (rest[0] != (byte)':' || rest.Length > 6) return false;
        var digits = rest[1..];
        if (digits.IsEmpty) return !requirePort;
        int port = 0;
        foreach (byte b in digits)
        {
            if (!char.IsAsciiDigit((char)b)) return false;
            port = port * 10 + (b - '0');
        }
        return port <= ushort.MaxValue;
    }

    /// <summary>RFC 4291 §2.2 text forms: eight 1-4 digit hex groups, one "::" for a run of zero groups, and
    /// optionally a dotted IPv4 address in place of the last two groups.</summary>
    private static bool IsIpv6Address(ReadOnlySpan<byte> s)
    {
        if (s.Length is < 2 or > 45) return false;
        int groups = 0, i = 0;
        bool compressed = false;
        if (s[0] == (byte)':')
        {
            if (s[1] != (byte)':') return false;
            compressed = true;
            i = 2;
            if (i == s.Length) return true;
        }
        while (true)
        {
            int start = i;
            while (i < s.Length && i - start < 5 && char.IsAsciiHexDigit((char)s[i])) i++;
            if (i < s.Length && s[i] == (byte)'.')
            {
                if (!IsIpv4Address(s[start..])) return false;
                groups += 2;
                break;
            }
            if (i == start || i - start > 4) return false;
            groups++;
            if (i == s.Length) break;
            if (s[i] != (byte)':' || ++i == s.Length) return false;
            if (s[i] == (byte)':')
            {
                if (compressed) return false;
                compressed = true;
                if (++i == s.Length) break;
            }
        }
        return compressed ? groups < 8 : groups == 8;
    }

    /// <summary>RFC 3986 §3.2.2 IPv4address: four dec-octets 0-255 without leading zeros.</summary>
    private static bool IsIpv4Address(ReadOnlySpan<byte> s)
    {
        int parts = 0, i = 0;
        while (true)
        {
            int start = i, value = 0;
            while (i < s.Length && i - start < 4 && char.IsAsciiDigit((char)s[i])) value = value * 10 + (s[i++] - '0');
            int length = i - start;
            if (length is 0 or > 3 || value > 255 || (length > 1 && s[start] == (byte)'0')) return false;
            if (++parts == 4) return i == s.Length;
            if (i == s.Length || s[i++] != (byte)'.') return false;
        }
    }
}
