using System.Net;
using Switchyard.Packets;
using Switchyard.Packets.Http;
using Switchyard.Packets.Tls;

namespace Switchyard.Network.Egress;

/// <summary>
/// The check of a TCP flow that the egress policy allowed by name: the guest's first bytes are
/// held back from the host until they show which name the client means, a TLS ClientHello's SNI
/// (RFC 6066 §3) or an HTTP request's Host (RFC 9112 §3.2), and that name must be allowed and be
/// one the guest resolved to this destination through our DNS. We read, never decrypt: no TLS
/// interception, no CA in the guest. A client that sends neither (SSH, a database protocol)
/// passes on the strength of the address alone, as does a server that speaks first.
/// </summary>
internal sealed class ServerNameInspection(EgressGuard guard, IPEndPoint destination)
{
    /// <summary>How long a partial ClientHello or request head may take to complete (bytes dribbled
    /// one per segment must not hold a flow, nor our queue, forever).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public enum Outcome { Pending, Allowed, Denied }

    /// <summary>When the first held byte arrived (the NAT's clock, <c>NatEngine.NowTicks</c>), 0 before that.</summary>
    public long FirstByteAt { get; private set; }

    /// <summary>Looks at everything the guest sent so far (the stream from its first byte).</summary>
    public Outcome Examine(MacAddress guest, ReadOnlySpan<byte> prefix, long now)
    {
        if (prefix.IsEmpty) return Outcome.Pending;
        if (FirstByteAt == 0) FirstByteAt = now;
        // 22 is a TLS handshake record; decided on the first byte alone, so a hello sent one byte per
        // segment cannot slip past as "not TLS" before its second byte arrives.
        bool tls = prefix[0] == 22;
        var result = tls ? TlsClientHello.TryGetServerName(prefix, out var name) : HttpRequestHead.TryGetHost(prefix, out name);
        switch (result)
        {
            case ServerNameResult.NeedMore:
                return Outcome.Pending;
            case ServerNameResult.Found:
                return guard.CheckServerName(guest, destination, name, tls) ? Outcome.Allowed : Outcome.Denied;
            case ServerNameResult.Absent:
                return guard.CheckServerName(guest, destination, null, tls) ? Outcome.Allowed : Outcome.Denied;
            case ServerNameResult.NotThisProtocol when !tls:
                return Outcome.Allowed;   // neither TLS nor HTTP: the address was vetted, there is no name to read
            default:
                guard.RecordInspectionFailure(guest, destination, tls ? "malformed-hello" : "malformed-request");
                return Outcome.Denied;
        }
    }

    /// <summary>The guest stopped short (FIN, or the timeout): what it sent never named a server.</summary>
    public void Fail(MacAddress guest, string reason) => guard.RecordInspectionFailure(guest, destination, reason);
}
