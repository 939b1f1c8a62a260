using Switchyard.Network.Egress;
using Switchyard.Packets;
using Switchyard.Packets.Dns;

namespace Switchyard.Network.Dns;

/// <summary>The network's DNS server on the gateway. Answers <c>NAME.DOMAIN</c> for endpoints and
/// the gateway (A, and AAAA on IPv6 networks), and PTR for the subnet and the IPv6 prefix
/// (in-addr.arpa, ip6.arpa), with authority; a name that has no address of the type asked is
/// NOERROR with no data (RFC 2308 §2.2), never NXDOMAIN; bare single-label names that match an
/// endpoint too (for clients that skip the search list); everything else goes to the
/// <see cref="DnsForwarder"/>, or is refused when there is none (an internal network). With an
/// egress policy, a name it does not allow gets NXDOMAIN instead of going upstream, and the
/// addresses in an allowed name's answer are pinned for the guest that asked.</summary>
public sealed class DnsServer
{
    /// <summary>Local answers change as guests come and go, so they are kept short.</summary>
    public const uint LocalTtl = 5;
    /// <summary>The EDNS UDP payload size we advertise (the DNS flag day 2020 recommendation).</summary>
    public const ushort EdnsPayloadSize = 1232;

    private readonly string _domain;
    private const string ReverseZone = "in-addr.arpa";
    private const string ReverseZone6 = "ip6.arpa";
    private readonly Ipv4Subnet _subnet;
    private readonly Ipv6Prefix? _prefix;
    private readonly ILocalNames _names;
    private readonly DnsForwarder? _forwarder;
    private readonly EgressGuard? _egress;

    private readonly Func<MacAddress, Nat.FlowShare?>? _shares;

    /// <summary>Forwarded queries one guest may have in flight: a quarter of the forwarder's 1024.</summary>
    public const int DefaultMaxInFlightPerGuest = 256;

    /// <param name="shares">The asking guest's share (by MAC), whose queries in flight are bounded
    /// by <see cref="MaxInFlightPerGuest"/>; null: no per-guest bound.</param>
    public DnsServer(string domain, Ipv4Subnet subnet, ILocalNames names, DnsForwarder? forwarder, EgressGuard? egress = null, Ipv6Prefix? ipv6 = null,
        Func<MacAddress, Nat.FlowShare?>? shares = null)
    {
        _shares = shares;
        _prefix = ipv6;
        _domain = domain.TrimEnd('.');
        _subnet = subnet;
        _names = names;
        _forwarder = forwarder;
        _egress = egress;
    }

    public string Domain => _domain;

    /// <summary>Forwarded queries one guest may have in flight; past it a query is REFUSED at once,
    /// so one guest cannot take the forwarder's whole table (and its sockets) from the others.</summary>
    public int MaxInFlightPerGuest { get; set; } = DefaultMaxInFlightPerGuest;

    /// <summary>Queries refused because their guest had <see cref="MaxInFlightPerGuest"/> in flight.</summary>
    public long RefusedInFlight => Volatile.Read(ref _refusedInFlight);
    private long _refusedInFlight;
    public long Queries => Volatile.Read(ref _queries);
    private long _queries;
    /// <summary>Queries that did not parse (bad header, a question that runs off the end or loops).</summary>
    public long Malformed => Volatile.Read(ref _malformed);
    private long _malformed;

    /// <summary>Answers one query message. Completes synchronously for local names, cache hits and
    /// errors; only forwarding awaits. Returns the response length (0: malformed, no answer).
    /// <paramref name="client"/>: the asking guest's MAC, whose egress policy applies.</summary>
    public ValueTask<int> ResolveAsync(ReadOnlyMemory<byte> query, Memory<byte> response, MacAddress client = default)
    {
        var pending = Resolve(query, response, client, out int length);
        if (pending is null)
        {
            Counters.Count(DnsAnswerSource.Local, response.Span, length);
            return ValueTask.FromResult(length);
        }
        return pending.Value;
    }

    /// <summary>Replies sent, by source and response code.</summary>
    public DnsCounters Counters { get; } = new();

    /// <summary>Answers at once (null, with the local answer's <paramref name="length"/>) or
    /// returns the forwarding that will (which counts its own reply).</summary>
    private ValueTask<int>? Resolve(ReadOnlyMemory<byte> query, Memory<byte> response, MacAddress client, out int length)
    {
        Interlocked.Increment(ref _queries);
        length = 0;
        var reader = new DnsMessageReader(query.Span);
        if (!reader.TryReadHeader(out var header)) { Interlocked.Increment(ref _malformed); return null; }
        if (header.IsResponse) return null;
        if (header.Opcode != 0) { length = WriteError(header, null, DnsResponseCode.NotImp, response.Span); return null; }
        if (header.QuestionCount != 1 || !reader.TryReadQuestion(out var q))
        {
            if (header.QuestionCount == 1) Interlocked.Increment(ref _malformed);
            length = WriteError(header, null, DnsResponseCode.FormErr, response.Span);
            return null;
        }
        bool edns = DnsMessage.TryGetOpt(query.Span, out _, out bool dnssecOk);

        if (TryAnswerLocally(header, q, edns, response.Span, out length)) return null;
        // An internal network forwards nothing: a name outside it is refused at once, by policy
        // (RFC 1035 §4.1.1 REFUSED), so a guest's resolver fails fast instead of retrying a SERVFAIL.
        if (_forwarder is null) { length = WriteError(header, q, DnsResponseCode.Refused, response.Span, edns); return null; }
        // A name the egress policy does not allow does not exist for this guest (RFC 8020: nothing below it either).
        if (_egress is not null && !_egress.CheckQuery(client, q.Name)) { length = WriteError(header, q, DnsResponseCode.NXDomain, response.Span, edns); return null; }
        // One guest's queries in flight are bounded (RFC 1035 §4.1.1 REFUSED: policy, answered at once).
        var share = _shares?.Invoke(client);
        if (share is not null && !share.TryTakeDns(MaxInFlightPerGuest))
        {
            Interlocked.Increment(ref _refusedInFlight);
            share.CountDnsRefused();
            length = WriteError(header, q, DnsResponseCode.Refused, response.Span, edns);
            return null;
        }
        return ForwardAsync(query, response, header, q, edns, dnssecOk, client, share);
    }

    private async ValueTask<int> ForwardAsync(ReadOnlyMemory<byte> query, Memory<byte> response, DnsHeader header, DnsQuestion q, bool edns, bool dnssecOk,
        MacAddress client, Nat.FlowShare? share)
    {
        int n;
        bool cached;
        try { (n, cached) = await _forwarder!.ForwardWithSourceAsync(query, response, q, dnssecOk).ConfigureAwait(false); }
        finally { share?.ReturnDns(); }
        if (n > 0)
        {
            _egress?.Remember(client, q.Name, response.Span[..n]);
            Counters.Count(cached ? DnsAnswerSource.Cache : DnsAnswerSource.Forwarded, response.Span, n);
            return n;
        }
        n = WriteError(header, q, DnsResponseCode.ServFail, response.Span, edns);
        Counters.Count(DnsAnswerSource.Local, response.Span, n);   // we say SERVFAIL, no upstream did
        return n;
    }

    private bool TryAnswerLocally(in DnsHeader header, DnsQuestion q, bool edns, Span<byte> response, out int length)
    {
        length = 0;
        string name = q.Name.TrimEnd('.');
        if (q.Class != DnsClass.IN) return false;

        if (name.EndsWith("." + ReverseZone, StringComparison.OrdinalIgnoreCase))
        {
            if (!DnsName.TryParseReverseIpv4(name, out uint raw) || !_subnet.Contains(new Ipv4Address(raw))) return false;
            bool known = _names.TryGetName(new Ipv4Address(raw), out var host);
            if (known && q.Type is DnsType.PTR or DnsType.ANY)
            {
                var w = Begin(header, q, DnsResponseCode.NoError, response);
                length = w.TryWritePtr(q.Name, LocalTtl, $"{host}.{_domain}") ? End(ref w, edns) : 0;
            }
            else length = WriteNegative(header, q, edns, response, known ? DnsResponseCode.NoError : DnsResponseCode.NXDomain);
            return true;
        }

        if (_prefix is { } prefix && name.EndsWith("." + ReverseZone6, StringComparison.OrdinalIgnoreCase))
        {
            Span<byte> raw = stackalloc byte[16];
            if (!DnsName.TryParseReverseIpv6(name, raw) || !prefix.Contains(Ipv6Address.Read(raw))) return false;
            bool known = _names.TryGetName(Ipv6Address.Read(raw), out var host);
            if (known && q.Type is DnsType.PTR or DnsType.ANY)
            {
                var w = Begin(header, q, DnsResponseCode.NoError, response);
                length = w.TryWritePtr(q.Name, LocalTtl, $"{host}.{_domain}") ? End(ref w, edns) : 0;
            }
            else length = WriteNegative(header, q, edns, response, known ? DnsResponseCode.NoError : DnsResponseCode.NXDomain);
            return true;
        }

        string? label = null;
        if (name.Equals(_domain, StringComparison.OrdinalIgnoreCase))
        {
            length = WriteNegative(header, q, edns, response, DnsResponseCode.NoError); // the apex exists, holds no addresses
            return true;
        }
        if (name.EndsWith("." + _domain, StringComparison.OrdinalIgnoreCase))
            label = name[..^(_domain.Length + 1)];
        else if (name.Length > 0 && !name.Contains('.') && q.Type is DnsType.A or DnsType.AAAA or DnsType.ANY)
            label = name;   // a bare host name: ours if an endpoint has it, never sent upstream (dnsmasq's domain-needed);
                            // the root and top-level names (NS, DS, DNSKEY...) go upstream like any other
        if (label is null) return false;

        if (!label.Contains('.') && _names.TryGetAddress(label, out Ipv4Address address))
        {
            bool hasV6 = _names.TryGetAddress(label, out Ipv6Address address6);
            bool a = q.Type is DnsType.A or DnsType.ANY, aaaa = hasV6 && q.Type is DnsType.AAAA or DnsType.ANY;
            if (a || aaaa)
            {
                var w = Begin(header, q, DnsResponseCode.NoError, response);
                Span<byte> v6 = stackalloc byte[16];
                address6.Write(v6);
                bool ok = (!a || w.TryWriteA(q.Name, LocalTtl, address)) && (!aaaa || w.TryWriteAaaa(q.Name, LocalTtl, v6));
                length = ok ? End(ref w, edns) : 0;
            }
            else length = WriteNegative(header, q, edns, response, DnsResponseCode.NoError); // NODATA (RFC 2308 §2.2)
            return true;
        }
        length = WriteNegative(header, q, edns, response, DnsResponseCode.NXDomain);
        return true;
    }

    /// <summary>RFC 1035 §4.1.1: QR, the query's opcode and RD copied, RA (we recurse on the
    /// guest's behalf), AA for our own zone.</summary>
    private static DnsHeader ReplyHeader(in DnsHeader query, DnsResponseCode rcode, bool authoritative) =>
        DnsHeader.CreateResponse(query, rcode, authoritative, recursionAvailable: true);

    private static DnsMessageWriter Begin(in DnsHeader header, in DnsQuestion q, DnsResponseCode rcode, Span<byte> response)
    {
        var w = new DnsMessageWriter(response);
        w.WriteHeader(ReplyHeader(header, rcode, true));
        w.TryWriteQuestion(q);
        return w;
    }

    private static int End(ref DnsMessageWriter w, bool edns) => !edns || w.TryWriteOpt(EdnsPayloadSize) ? w.Finish() : 0;

    private int WriteNegative(in DnsHeader header, in DnsQuestion q, bool edns, Span<byte> response, DnsResponseCode rcode)
    {
        var w = Begin(header, q, rcode, response);
        string qname = q.Name.TrimEnd('.');
        string zone = qname.EndsWith(ReverseZone, StringComparison.OrdinalIgnoreCase) ? ReverseZone
            : qname.EndsWith(ReverseZone6, StringComparison.OrdinalIgnoreCase) ? ReverseZone6 : _domain;
        // The SOA in the authority section carries the negative-caching TTL (RFC 2308 §3).
        return w.TryWriteSoa(zone, LocalTtl, $"gateway.{_domain}", $"hostmaster.{_domain}", 1, 3600, 600, 86400, LocalTtl, DnsSection.Authority)
            ? End(ref w, edns) : 0;
    }

    private static int WriteError(in DnsHeader header, DnsQuestion? q, DnsResponseCode rcode, Span<byte> response, bool edns = false)
    {
        var w = new DnsMessageWriter(response);
        w.WriteHeader(ReplyHeader(header, rcode, false));
        if (q is { } question && !w.TryWriteQuestion(question)) return 0;
        return End(ref w, edns);
    }
}
