using System.Text;

namespace Switchyard.Packets.Http;

/// <summary>Finds the host an HTTP/1.x request is for, from the first bytes of the client→server byte stream:
/// the request line and header section (RFC 9112 §2-§5). Stateless: the caller passes the whole prefix received
/// so far (stream offset 0 onwards) every time more arrives, and waits while the answer is
/// <see cref="ServerNameResult.NeedMore"/>. Reads with bounds checks only, never throws on input, and allocates
/// nothing but the returned host.</summary>
/// <remarks>
/// What the answers mean, where RFC 9112 leaves a choice:
/// <list type="bullet">
/// <item>The host is returned lower-cased, without port or trailing dot. An IPv6 literal is returned WITHOUT
/// its brackets and not canonicalized ("[2001:DB8::1]:80" gives "2001:db8::1"; IPAddress.TryParse reads it).</item>
/// <item>Found/Absent only once the head is complete (the empty line): a later line could still be a second
/// Host, which RFC 9112 §3.2 makes an error, and a sniffer that answers early can be steered.</item>
/// <item>The request target's authority wins over Host for absolute-form (RFC 9112 §3.2.2) and is the only
/// name for CONNECT's authority-form (§3.2.3); Host is still checked (one at most, valid syntax).</item>
/// <item>NotThisProtocol: the stream does not open with a method token (any RFC 9110 §9.1 token) and a space,
/// or the request line ends without an HTTP-version (HTTP/0.9, or a line protocol such as an SSH banner with a
/// space in it), or names another major version (the HTTP/2 preface "PRI * HTTP/2.0").</item>
/// <item>Malformed: control or non-ASCII bytes where the grammar has none, a bare CR, obs-fold or whitespace
/// before a colon (RFC 9112 §5.1, §5.2; both were request-smuggling vectors), two Host lines, an invalid host or
/// port, userinfo in the authority (RFC 9110 §4.2.4), or no end of head within <see cref="MaxHeadLength"/>.</item>
/// <item>A single LF ends a line as well as CRLF (RFC 9112 §2.2 permits recognizing it).</item>
/// <item>An empty Host value (RFC 9112 §3.2: sent when the target URI has no authority) is Absent.</item>
/// </list>
/// </remarks>
public static class HttpRequestHead
{
    /// <summary>Largest request head accepted: request line, header lines and the final empty line.</summary>
    public const int MaxHeadLength = 16384;

    // Longer than every registered method (the longest, "UPDATEREDIRECTREF", has 17 bytes).
    private const int MaxLikelyMethodLength = 20;

    /// <summary>True when the stream opens with an upper-case method-shaped word and a space ("GET ",
    /// "PROPFIND ", "BASELINE-CONTROL "): a cheap early pick of this parser. Stricter than
    /// <see cref="TryGetHost"/>, which accepts any token as a method: an SSH banner is a token too.</summary>
    public static bool LooksLikeHttp(ReadOnlySpan<byte> stream)
    {
        for (int i = 0; i < stream.Length && i <= MaxLikelyMethodLength; i++)
        {
            byte b = stream[i];
            if (b == (byte)' ') return i > 0;
            if (b is not ((>= (byte)'A' and <= (byte)'Z') or (byte)'-' or (byte)'_')) return false;
        }
        return false;
    }

    /// <summary>Parses the request head at the start of <paramref name="stream"/> and returns the host it names
    /// (see the remarks on the class for every outcome).</summary>
    public static ServerNameResult TryGetHost(ReadOnlySpan<byte> stream, out string? host)
    {
        host = null;
        var head = stream.Length > MaxHeadLength ? stream[..MaxHeadLength] : stream;
        // Once MaxHeadLength bytes are in without the end of the head, more bytes cannot help.
        var needMore = stream.Length >= MaxHeadLength ? ServerNameResult.Malformed : ServerNameResult.NeedMore;

        var requestLine = ParseRequestLine(head, out int p, out var target, out bool connect);
        if (requestLine == Step.NeedMore) return needMore;
        if (requestLine != Step.Ok) return ToResult(requestLine);

        var targetForm = ClassifyTarget(target, connect, out var targetAuthority);
        if (targetForm == TargetForm.Invalid) return ServerNameResult.Malformed;
        if (targetForm == TargetForm.Authority &&
            !TryParseAuthority(targetAuthority, requirePort: connect, out _)) return ServerNameResult.Malformed;

        // RFC 9112 §5: field-line = field-name ":" OWS field-value OWS, one per line, until an empty line.
        int hostAt = -1, hostLength = 0;
        while (true)
        {
            if (p == head.Length) return needMore;
            int lf = head[p..].IndexOf((byte)'\n');
            bool complete = lf >= 0;
            var line = complete ? head.Slice(p, lf) : head[p..];
            // A CR may only end a line (RFC 9112 §2.2); a last CR of an incomplete line awaits its LF.
            if (!line.IsEmpty && line[^1] == (byte)'\r') line = line[..^1];
            if (complete && line.IsEmpty) break; // end of head

            var field = CheckFieldLine(line, complete, out int colon);
            if (field != Step.Ok) return ToResult(field);
            if (!complete) return needMore;

            if (Ascii.EqualsIgnoreCase(line[..colon], "host"u8))
            {
                // RFC 9112 §3.2: more than one Host line, or an invalid value, is answered with 400.
                if (hostAt >= 0) return ServerNameResult.Malformed;
                var raw = line[(colon + 1)..];
                var value = raw.Trim(" \t"u8); // OWS around the value is not part of it
                if (!value.IsEmpty && !TryParseAuthority(value, requirePort: false, out _))
                    return ServerNameResult.Malformed;
                hostAt = p + colon + 1 + (raw.Length - raw.TrimStart(" \t"u8).Length);
                hostLength = value.Length;
            }
            p += lf + 1;
        }

        var authority = targetForm == TargetForm.Authority ? targetAuthority
            : hostAt >= 0 ? head.Slice(hostAt, hostLength) : default;
        if (authority.IsEmpty) return ServerNameResult.Absent;
        TryParseAuthority(authority, requirePort: false, out var name); // validated above
        host = HostNameText.ToLowerString(name);
        return ServerNameResult.Found;
    }

    private enum Step { Ok, NeedMore, Malformed, NotThisProtocol }

    private static ServerNameResult ToResult(Step step) => step switch
    {
        Step.NeedMore => ServerNameResult.NeedMore,
        Step.NotThisProtocol => ServerNameResult.NotThisProtocol,
        _ => ServerNameResult.Malformed,
    };

    /// <summary>RFC 9112 §3: request-line = method SP request-target SP HTTP-version, judged byte by byte as
    /// far as the prefix goes. <paramref name="next"/> is where the first header line starts.</summary>
    private static Step ParseRequestLine(ReadOnlySpan<byte> head, out int next, out ReadOnlySpan<byte> target, out bool connect)
    {
        next = 0;
        target = default;
        connect = false;
        int p = 0;
        while (p < head.Length && IsTokenByte(head[p])) p++;
        if (p == head.Length) return Step.NeedMore;
        if (p == 0 || head[p] != (byte)' ') return Step.NotThisProtocol;
        connect = head[..p].SequenceEqual("CONNECT"u8); // methods are case-sensitive (RFC 9110 §9.1)

        int targetAt = ++p;
        while (p < head.Length && head[p] is > 0x20 and < 0x7F) p++;
        if (p == head.Length) return Step.NeedMore;
        // A line that ends here has no HTTP-version: HTTP/0.9 or some other line-based protocol.
        if (head[p] is (byte)'\r' or (byte)'\n') return Step.NotThisProtocol;
        if (head[p] != (byte)' ' || p == targetAt) return Step.Malformed; // control/non-ASCII byte, or empty target
        target = head[targetAt..p];
        p++;

        // RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. Any 1.x is read as 1.1
        // (RFC 9110 §2.5: minor versions are compatible); another major version is another protocol.
        ReadOnlySpan<byte> version = "HTTP/1.0"u8;
        for (int i = 0; i < version.Length; i++, p++)
        {
            if (p == head.Length) return Step.NeedMore;
            byte b = head[p];
            bool ok = i switch
            {
                < 5 => b == version[i],
                5 => b == (byte)'1',
                6 => b == (byte)'.',
                _ => char.IsAsciiDigit((char)b),
            };
            if (!ok) return i < 5 || (i == 5 && char.IsAsciiDigit((char)b)) ? Step.NotThisProtocol : Step.Malformed;
        }
        if (p == head.Length) return Step.NeedMore;
        if (head[p] == (byte)'\r')
        {
            if (++p == head.Length) return Step.NeedMore;
        }
        if (head[p] != (byte)'\n') return Step.Malformed;
        next = p + 1;
        return Step.Ok;
    }

    private enum TargetForm { Origin, Authority, Invalid }

    /// <summary>RFC 9112 §3.2: origin-form ("/path") and asterisk-form ("*") name no host; absolute-form
    /// ("http://host:port/path") and, for CONNECT only, authority-form ("host:port") do.</summary>
    private static TargetForm ClassifyTarget(ReadOnlySpan<byte> target, bool connect, out ReadOnlySpan<byte> authority)
    {
        authority = default;
        if (connect)
        {
            authority = target;
            return TargetForm.Authority;
        }
        if (target[0] == (byte)'/' || target.SequenceEqual("*"u8)) return TargetForm.Origin;

        // absolute-URI (RFC 3986 §3): scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://" authority.
        int i = 0;
        if (!char.IsAsciiLetter((char)target[0])) return TargetForm.Invalid;
        while (i < target.Length && (char.IsAsciiLetterOrDigit((char)target[i]) || target[i] is (byte)'+' or (byte)'-' or (byte)'.')) i++;
        if (!target[i..].StartsWith("://"u8)) return TargetForm.Invalid;
        var rest = target[(i + 3)..];
        int end = rest.IndexOfAny("/?#"u8);
        authority = end < 0 ? rest : rest[..end];
        // RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid; §4.2.4: userinfo is an error.
        return authority.IsEmpty || authority.Contains((byte)'@') ? TargetForm.Invalid : TargetForm.Authority;
    }

    /// <summary>RFC 3986 §3.2.2-§3.2.3 authority without userinfo: host [":" port]. The host is a reg-name of
    /// the <see cref="HostNameText"/> syntax (dotted IPv4 fits it; percent-encoding is refused) or an IPv6
    /// literal in brackets (IPvFuture and zone identifiers are refused). <paramref name="host"/> is the name
    /// without brackets or trailing dot.</summary>
    private static bool TryParseAuthority(ReadOnlySpan<byte> authority, bool requirePort, out ReadOnlySpan<byte> host)
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

    /// <summary>One field line (RFC 9112 §5, RFC 9110 §5.5), without its line ending; an incomplete line is
    /// judged as far as it goes. <paramref name="colon"/> is the index of the name's colon.</summary>
    private static Step CheckFieldLine(ReadOnlySpan<byte> line, bool complete, out int colon)
    {
        colon = -1;
        if (line.IsEmpty) return Step.Ok; // an incomplete line with nothing yet (complete empty = end of head)
        // RFC 9112 §5.2 obs-fold and §2.2 whitespace after the start line: both rejected.
        if (line[0] is (byte)' ' or (byte)'\t') return Step.Malformed;
        int i = 0;
        while (i < line.Length && IsTokenByte(line[i])) i++;
        if (i == line.Length) return complete ? Step.Malformed : Step.Ok; // no colon (yet)
        // RFC 9112 §5.1: no whitespace between name and colon; the name is a non-empty token.
        if (line[i] != (byte)':' || i == 0) return Step.Malformed;
        colon = i;
        // field-value bytes: VCHAR, SP, HTAB, obs-text. No CR, LF, NUL or other controls.
        foreach (byte b in line[(i + 1)..])
            if (b is < 0x20 and not (byte)'\t' or 0x7F) return Step.Malformed;
        return Step.Ok;
    }

    /// <summary>RFC 9110 §5.6.2 tchar.</summary>
    private static bool IsTokenByte(byte b) =>
        char.IsAsciiLetterOrDigit((char)b) || b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&'
            or (byte)'\'' or (byte)'*' or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`'
            or (byte)'|' or (byte)'~';
}
