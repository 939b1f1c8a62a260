using System.Text;

namespace Switchyard.Packets.Http;

/// <summary>What <see cref="HttpRequestHead.TryParse"/> made of the bytes at the start of a request.</summary>
public enum HttpHeadStatus
{
    /// <summary>A longer prefix could still change the answer.</summary>
    NeedMore,
    /// <summary>A whole, well-formed head whose body can be framed.</summary>
    Complete,
    /// <summary>The bytes cannot start an HTTP/1.x request (no method token and space, no HTTP-version: HTTP/0.9 or
    /// another line protocol, or another major version).</summary>
    NotHttp,
    /// <summary>The HTTP/2 connection preface ("PRI * HTTP/2.0", RFC 9113 §3.4): cleartext HTTP/2, whose names
    /// travel HPACK-compressed and are not read here.</summary>
    Http2Preface,
    /// <summary>HTTP/1.x, but broken, oversized or ambiguous (see the remarks on <see cref="HttpRequestHead"/>).</summary>
    Malformed,
    /// <summary>A head whose body cannot be framed safely: Transfer-Encoding with Content-Length, Transfer-Encoding in
    /// HTTP/1.0, a transfer coding other than a final "chunked", a bad or repeated Content-Length (RFC 9112 §6).</summary>
    BadFraming,
    /// <summary>An absolute-form or authority-form request target whose host is not the Host header's.</summary>
    AuthorityMismatch,
}

/// <summary>One parsed request head, as views into the bytes it was parsed from.</summary>
public readonly ref struct HttpRequestInfo
{
    public HttpRequestInfo(int length, ReadOnlySpan<byte> host, long contentLength, bool chunked, bool connect, bool upgrade)
    {
        Length = length;
        Host = host;
        ContentLength = contentLength;
        Chunked = chunked;
        Connect = connect;
        Upgrade = upgrade;
    }

    /// <summary>Bytes from the start of the stream to the end of the head's empty line (leading empty lines included).</summary>
    public int Length { get; }
    /// <summary>The host the request is for (the target's authority, else Host), without port, brackets or trailing
    /// dot, as sent (not lower-cased); empty when the request names none.</summary>
    public ReadOnlySpan<byte> Host { get; }
    /// <summary>The body's length, -1 when there is no Content-Length (then no body, or chunked).</summary>
    public long ContentLength { get; }
    public bool Chunked { get; }
    /// <summary>The method is CONNECT (RFC 9110 §9.3.6): a 2xx answer makes the connection a tunnel.</summary>
    public bool Connect { get; }
    /// <summary>The head carries a non-empty Upgrade field (RFC 9110 §7.8): a 101 answer switches protocols.</summary>
    public bool Upgrade { get; }
}

/// <summary>Reads an HTTP/1.x request head (request line and field section, RFC 9112 §2-§6) in place, from the start of
/// a span of the client→server byte stream. Stateless: the caller passes the bytes from the head's first byte every
/// time more arrive, and waits while the answer is NeedMore. Reads with bounds checks only, never throws on input,
/// and allocates nothing (<see cref="TryGetHost"/> allocates the returned name).</summary>
/// <remarks>
/// What the answers mean, where RFC 9112 leaves a choice:
/// <list type="bullet">
/// <item>Empty lines before the request line are skipped (RFC 9112 §2.2: servers do, so "\r\nGET ..." must be read as
/// the request a server will see, not as "not HTTP").</item>
/// <item>The host is returned without port or trailing dot. An IPv6 literal is returned WITHOUT its brackets and not
/// canonicalized ("[2001:DB8::1]:80" gives "2001:DB8::1").</item>
/// <item>An answer other than NeedMore only once the head is complete (the empty line), except for errors certain
/// earlier: a later line could still be a second Host, which RFC 9112 §3.2 makes an error.</item>
/// <item>The request target's authority is the name for absolute-form (RFC 9112 §3.2.2) and CONNECT's authority-form
/// (§3.2.3). A server must then ignore Host, but not every server does: a non-empty Host that names another host is
/// <see cref="HttpHeadStatus.AuthorityMismatch"/> (hosts compared case-insensitively, ports not compared).</item>
/// <item>NotHttp: the stream does not open with a method token (any RFC 9110 §9.1 token) and a space, or the request
/// line ends without an HTTP-version, or names another major version (the HTTP/2 preface is told apart).</item>
/// <item>Malformed: control or non-ASCII bytes where the grammar has none, a bare CR, obs-fold or whitespace before a
/// colon (RFC 9112 §5.1, §5.2; both were request-smuggling vectors), two Host lines, an invalid host or port,
/// userinfo in the authority (RFC 9110 §4.2.4), or no end of head within <see cref="MaxHeadLength"/>.</item>
/// <item>BadFraming (RFC 9112 §6.1-§6.3): Transfer-Encoding with Content-Length, or in HTTP/1.0; a coding list that
/// does not end in one "chunked", names a coding other than gzip/deflate/compress, or has parameters; more than one
/// Transfer-Encoding or Content-Length line; a Content-Length that is not 1 to 18 digits (lists such as "5, 5" too).
/// A request with neither has no body (§6.3 rule 7), HTTP/1.0 included.</item>
/// <item>A single LF ends a head line as well as CRLF (RFC 9112 §2.2 permits recognizing it).</item>
/// <item>An empty Host value (RFC 9112 §3.2: sent when the target URI has no authority) names no host.</item>
/// </list>
/// </remarks>
public static partial class HttpRequestHead
{
    /// <summary>Largest request head accepted: leading empty lines, request line, header lines and the final empty line.</summary>
    public const int MaxHeadLength = 16384;

    // Longer than every registered method (the longest, "UPDATEREDIRECTREF", has 17 bytes).
    private const int MaxLikelyMethodLength = 20;
    private const int MaxContentLengthDigits = 18;   // fits a long with room to spare

    /// <summary>True when the stream opens with an upper-case method-shaped word and a space ("GET ",
    /// "PROPFIND ", "BASELINE-CONTROL "): a cheap early pick of this parser. Stricter than
    /// <see cref="TryParse"/>, which accepts any token as a method: an SSH banner is a token too.</summary>
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

    /// <summary>The host of the request head at the start of <paramref name="stream"/>, lower-cased, for a first-bytes
    /// sniff: Found, Absent (no host named), NeedMore, NotThisProtocol (NotHttp and the HTTP/2 preface), or Malformed
    /// (every refusal of <see cref="TryParse"/>).</summary>
    public static ServerNameResult TryGetHost(ReadOnlySpan<byte> stream, out string? host)
    {
        host = null;
        switch (TryParse(stream, out var head))
        {
            case HttpHeadStatus.NeedMore: return ServerNameResult.NeedMore;
            case HttpHeadStatus.NotHttp or HttpHeadStatus.Http2Preface: return ServerNameResult.NotThisProtocol;
            case HttpHeadStatus.Complete: break;
            default: return ServerNameResult.Malformed;
        }
        if (head.Host.IsEmpty) return ServerNameResult.Absent;
        host = HostNameText.ToLowerString(head.Host);
        return ServerNameResult.Found;
    }

    /// <summary>Parses the request head at the start of <paramref name="stream"/> (see the remarks on the class for
    /// every outcome); <paramref name="head"/> is set when the answer is Complete, and for AuthorityMismatch (its Host
    /// is then the target's).</summary>
    public static HttpHeadStatus TryParse(ReadOnlySpan<byte> stream, out HttpRequestInfo head)
    {
        head = default;
        var window = stream.Length > MaxHeadLength ? stream[..MaxHeadLength] : stream;
        // Once MaxHeadLength bytes are in without the end of the head, more bytes cannot help.
        var needMore = stream.Length >= MaxHeadLength ? HttpHeadStatus.Malformed : HttpHeadStatus.NeedMore;

        int start = 0;
        while (start < window.Length && window[start] is (byte)'\r' or (byte)'\n') start++;
        if (start == window.Length) return needMore;
        var requestLine = ParseRequestLine(window[start..], out int p, out var target, out bool connect, out bool http10);
        if (requestLine == Step.NeedMore) return needMore;
        if (requestLine == Step.NotThisProtocol)
            return window[start..].StartsWith("PRI * HTTP/2"u8) ? HttpHeadStatus.Http2Preface : HttpHeadStatus.NotHttp;
        if (requestLine != Step.Ok) return HttpHeadStatus.Malformed;
        p += start;

        var targetForm = ClassifyTarget(target, connect, out var targetAuthority);
        if (targetForm == TargetForm.Invalid) return HttpHeadStatus.Malformed;
        ReadOnlySpan<byte> targetHost = default;
        if (targetForm == TargetForm.Authority &&
            !HttpAuthority.TryParse(targetAuthority, requirePort: connect, out targetHost)) return HttpHeadStatus.Malformed;

        // RFC 9112 §5: field-line = field-name ":" OWS field-value OWS, one per line, until an empty line.
        ReadOnlySpan<byte> hostHeader = default;
        bool hostSeen = false, chunked = false, transferEncoding = false, upgrade = false, badFraming = false;
        long contentLength = -1;
        while (true)
        {
            if (p == window.Length) return needMore;
            int lf = window[p..].IndexOf((byte)'\n');
            bool complete = lf >= 0;
            var line = complete ? window.Slice(p, lf) : window[p..];
            // A CR may only end a line (RFC 9112 §2.2); a last CR of an incomplete line awaits its LF.
            if (!line.IsEmpty && line[^1] == (byte)'\r') line = line[..^1];
            if (complete && line.IsEmpty) { p += lf + 1; break; } // end of head

            var field = CheckFieldLine(line, complete, out int colon);
            if (field == Step.Malformed) return HttpHeadStatus.Malformed;
            if (!complete) return needMore;

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(" \t"u8); // OWS around the value is not part of it
            if (Ascii.EqualsIgnoreCase(name, "host"u8))
            {
                // RFC 9112 §3.2: more than one Host line, or an invalid value, is answered with 400.
                if (hostSeen) return HttpHeadStatus.Malformed;
                hostSeen = true;
                if (!value.IsEmpty && !HttpAuthority.TryParse(value, requirePort: false, out hostHeader))
                    return HttpHeadStatus.Malformed;
            }
            else if (Ascii.EqualsIgnoreCase(name, "content-length"u8))
            {
                badFraming |= contentLength >= 0 || !TryParseContentLength(value, out contentLength);
                if (contentLength < 0) contentLength = 0;   // seen (and refused below)
            }
            else if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8))
            {
                badFraming |= transferEncoding || !EndsInChunked(value);
                transferEncoding = chunked = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "upgrade"u8)) upgrade |= !value.IsEmpty;
            p += lf + 1;
        }

        // RFC 9112 §6.1: Transfer-Encoding with Content-Length "ought to be handled as an error", and in HTTP/1.0
        // the framing is faulty; §6.3 rule 4: a request whose final coding is not chunked gets a 400.
        if (badFraming || (transferEncoding && (contentLength >= 0 || http10))) return HttpHeadStatus.BadFraming;
        head = new HttpRequestInfo(p, targetForm == TargetForm.Authority ? targetHost : hostHeader, contentLength, chunked, connect, upgrade);
        return targetForm == TargetForm.Authority && !hostHeader.IsEmpty && !Ascii.EqualsIgnoreCase(targetHost, hostHeader)
            ? HttpHeadStatus.AuthorityMismatch : HttpHeadStatus.Complete;
    }

    /// <summary>RFC 9110 §8.6: Content-Length = 1*DIGIT. A list of equal values, which a recipient MAY accept, is refused.</summary>
    private static bool TryParseContentLength(ReadOnlySpan<byte> value, out long length)
    {
        length = -1;
        if (value.IsEmpty || value.Length > MaxContentLengthDigits) return false;
        long n = 0;
        foreach (byte b in value)
        {
            if (!char.IsAsciiDigit((char)b)) return false;
            n = n * 10 + (b - '0');
        }
        length = n;
        return true;
    }

    /// <summary>RFC 9112 §6.1 / §7: a transfer-coding list whose last coding is "chunked", applied once, after only
    /// codings we know that take no parameters (gzip, x-gzip, deflate, compress, x-compress, RFC 9110 §8.4.1).</summary>
    private static bool EndsInChunked(ReadOnlySpan<byte> value)
    {
        bool chunkedLast = false;
        foreach (var range in value.Split((byte)','))
        {
            var coding = value[range].Trim(" \t"u8);
            if (coding.IsEmpty) continue;   // RFC 9110 §5.6.1: empty list elements are ignored
            if (chunkedLast) return false;  // chunked was not the last, or came twice
            if (Ascii.EqualsIgnoreCase(coding, "chunked"u8)) chunkedLast = true;
            else if (!(Ascii.EqualsIgnoreCase(coding, "gzip"u8) || Ascii.EqualsIgnoreCase(coding, "x-gzip"u8)
                || Ascii.EqualsIgnoreCase(coding, "deflate"u8) || Ascii.EqualsIgnoreCase(coding, "compress"u8)
                || Ascii.EqualsIgnoreCase(coding, "x-compress"u8))) return false;
        }
        return chunkedLast;
    }
}
