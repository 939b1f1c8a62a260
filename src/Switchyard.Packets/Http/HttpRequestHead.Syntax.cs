namespace Switchyard.Packets.Http;

// The grammar pieces of a request head: the request line, the request target's form, one field line.
public static partial class HttpRequestHead
{
    private enum Step { Ok, NeedMore, Malformed, NotThisProtocol }

    /// <summary>RFC 9112 §3: request-line = method SP request-target SP HTTP-version, judged byte by byte as
    /// far as the prefix goes. <paramref name="next"/> is where the first header line starts.</summary>
    private static Step ParseRequestLine(ReadOnlySpan<byte> head, out int next, out ReadOnlySpan<byte> target, out bool connect, out bool http10)
    {
        next = 0;
        http10 = false;
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
        http10 = head[p - 1] == (byte)'0';
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
    internal static bool IsTokenByte(byte b) =>
        char.IsAsciiLetterOrDigit((char)b) || b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&'
            or (byte)'\'' or (byte)'*' or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`'
            or (byte)'|' or (byte)'~';
}
