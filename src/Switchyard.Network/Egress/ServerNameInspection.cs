using System.Net;
using System.Text;
using Switchyard.Packets;
using Switchyard.Packets.Http;
using Switchyard.Packets.Tls;

namespace Switchyard.Network.Egress;

/// <summary>
/// The check of a TCP flow that the egress policy allowed by name: the guest's bytes are held back from the host
/// until they show which name the client means, and that name must be allowed and be one the guest resolved to this
/// destination through our DNS. TLS: the ClientHello's SNI (RFC 6066 §3), once; after it the bytes are encrypted and
/// pass unread. Plain HTTP/1.x: EVERY request head on the connection (RFC 9112 §3.2 Host, or the target's
/// authority, which must agree with Host), with the message boundaries tracked between them
/// (<see cref="HttpRequestFraming"/>): a head is held until it is complete and checked, body bytes pass as they come.
/// We read, never decrypt: no TLS interception, no CA in the guest. A client that sends neither (SSH, a database
/// protocol) passes on the strength of the address alone, as does a server that speaks first. See docs/egress.md.
/// </summary>
/// <remarks>Not thread-safe: the flow's lock guards it. Allocates nothing per segment: heads are parsed in place over
/// the flow's held bytes, and a request for the host the flow already had allowed is let through without another
/// policy check (nor audit record), as open flows keep running when the policy changes.</remarks>
internal sealed class ServerNameInspection(EgressGuard guard, IPEndPoint destination)
{
    /// <summary>How long a partial ClientHello or request head may take to complete (bytes dribbled
    /// one per segment must not hold a flow, nor our queue, forever).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public enum Outcome
    {
        /// <summary>Keep inspecting: the bytes the examine call released may go, the rest stays held.</summary>
        Pending,
        /// <summary>Inspection is over: everything held and everything after it passes unread.</summary>
        Allowed,
        /// <summary>Reset the flow; nothing more goes to the host.</summary>
        Denied,
    }

    private HttpRequestFraming _framing;
    private bool _http;            // the first head was HTTP: every head is checked
    private string? _allowedHost;  // the last host the policy allowed on this flow (lower case)
    private int _headParsed;       // a partial head past its request line was parsed up to here (ParseHead)

    /// <summary>When the first byte of what is held now (a partial ClientHello or request head) arrived, on the
    /// NAT's clock (<c>NatEngine.NowTicks</c>); 0 while nothing is held.</summary>
    public long FirstByteAt { get; private set; }

    /// <summary>Whether the guest sent anything yet (a server that speaks first ends the inspection only before).</summary>
    public bool Started { get; private set; }

    /// <summary>Looks at the held bytes: the stream from the first byte not yet released (the start of a head, or
    /// of body bytes). <paramref name="release"/>: how many of them may go to the host now (Pending only).</summary>
    public Outcome Examine(MacAddress guest, ReadOnlySpan<byte> held, long now, out int release)
    {
        release = 0;
        if (held.IsEmpty) return Outcome.Pending;
        Started = true;
        if (FirstByteAt == 0) FirstByteAt = now;
        return _http ? ExamineRequests(guest, held, now, out release) : ExamineFirst(guest, held, now, out release);
    }

    /// <summary>The stream's first bytes: TLS (22 is a handshake record; decided on the first byte alone, so a hello
    /// sent one byte per segment cannot slip past as "not TLS" before its second byte arrives), HTTP, or neither.</summary>
    private Outcome ExamineFirst(MacAddress guest, ReadOnlySpan<byte> held, long now, out int release)
    {
        release = 0;
        if (held[0] == 22)
        {
            return TlsClientHello.TryGetServerName(held, out var sni) switch
            {
                ServerNameResult.NeedMore => Outcome.Pending,
                ServerNameResult.Found or ServerNameResult.Absent =>
                    guard.CheckServerName(guest, destination, sni, tls: true) ? Outcome.Allowed : Outcome.Denied,
                _ => Deny(guest, "malformed-hello"),
            };
        }
        var status = ParseHead(held, out _);
        if (status == HttpHeadStatus.NeedMore) return Outcome.Pending;
        if (status == HttpHeadStatus.NotHttp) return Outcome.Allowed;   // neither TLS nor HTTP: the address was vetted
        _http = true;
        return ExamineRequests(guest, held, now, out release);
    }

    /// <summary>HTTP/1.x: body bytes are released as they come; each head is held until complete, then checked.</summary>
    private Outcome ExamineRequests(MacAddress guest, ReadOnlySpan<byte> held, long now, out int release)
    {
        int pos = 0;
        release = 0;
        while (pos < held.Length)
        {
            if (_framing.AtHead)
            {
                var status = ParseHead(held[pos..], out var head);
                if (status == HttpHeadStatus.NeedMore) break;
                if (status != HttpHeadStatus.Complete) return Refuse(guest, status, head.Host);
                if (!CheckHost(guest, head.Host)) return Outcome.Denied;
                pos += head.Length;
                release = pos;
                FirstByteAt = 0;   // the next head's wait starts with its first byte
                _framing.Begin(head);
                continue;
            }
            int taken = _framing.Consume(held[pos..]);
            if (taken < 0) return Deny(guest, "bad-framing");
            pos += taken;
            release = pos;
            if (_framing.IsOpaque) return Outcome.Allowed;   // a tunnel or another protocol: see HttpRequestFraming
        }
        if (pos == held.Length) FirstByteAt = 0;
        else if (FirstByteAt == 0) FirstByteAt = now;
        return Outcome.Pending;
    }

    /// <summary>Parses the head at the start of <paramref name="held"/>, unless it cannot have changed: once its request
    /// line has ended (so it is HTTP), a partial head becomes complete only with a new LF, and every other answer it
    /// could reach without one is a refusal that may as well wait for that LF (the bytes are held meanwhile, and the
    /// deadline and <see cref="HttpRequestHead.MaxHeadLength"/> still apply). So a head dribbled a byte per segment
    /// costs a scan of each new byte, not a parse of the whole head each time.</summary>
    private HttpHeadStatus ParseHead(ReadOnlySpan<byte> held, out HttpRequestInfo head)
    {
        if (_headParsed > 0 && held.Length > _headParsed && held.Length < HttpRequestHead.MaxHeadLength
            && held[_headParsed..].IndexOf((byte)'\n') < 0)
        {
            head = default;
            return HttpHeadStatus.NeedMore;
        }
        var status = HttpRequestHead.TryParse(held, out head);
        _headParsed = status == HttpHeadStatus.NeedMore && held.TrimStart("\r\n"u8).IndexOf((byte)'\n') >= 0 ? held.Length : 0;
        return status;
    }

    /// <summary>The host a complete head names; the policy is asked only when it differs from the flow's last allowed one.</summary>
    private bool CheckHost(MacAddress guest, ReadOnlySpan<byte> host)
    {
        if (_allowedHost is not null && !host.IsEmpty && Ascii.EqualsIgnoreCase(host, _allowedHost)) return true;
        string? name = host.IsEmpty ? null : Lower(host);
        if (!guard.CheckServerName(guest, destination, name, tls: false)) return false;
        if (name is not null) _allowedHost = name;
        return true;
    }

    /// <param name="targetHost">For a mismatch, the target's host (the audit record names it).</param>
    private Outcome Refuse(MacAddress guest, HttpHeadStatus status, ReadOnlySpan<byte> targetHost) => status switch
    {
        HttpHeadStatus.BadFraming => Deny(guest, "bad-framing"),
        HttpHeadStatus.AuthorityMismatch => Deny(guest, "authority-mismatch", Lower(targetHost)),
        HttpHeadStatus.Http2Preface => Deny(guest, "http2-cleartext"),
        _ => Deny(guest, "malformed-request"),
    };

    /// <summary>A host as the policy compares names: ASCII lower case (RFC 4343); the parser let only ASCII through.</summary>
    private static string Lower(ReadOnlySpan<byte> host)
    {
        Span<char> chars = stackalloc char[host.Length];
        Ascii.ToLower(host, chars, out int written);
        return new string(chars[..written]);
    }

    private Outcome Deny(MacAddress guest, string reason, string? name = null)
    {
        guard.RecordInspectionFailure(guest, destination, reason, name);
        return Outcome.Denied;
    }

    /// <summary>The guest stopped short (FIN, or the timeout): what it sent never completed a head or hello.</summary>
    public void Fail(MacAddress guest, string reason) => guard.RecordInspectionFailure(guest, destination, reason);
}
