using System.Net;
using System.Net.Sockets;
using Switchyard.Packets;
using Switchyard.Packets.Dns;

namespace Switchyard.Network.Egress;

/// <summary>One egress decision for the audit log and the live event stream.</summary>
public sealed record EgressDecision(DateTimeOffset Time, string Network, string Endpoint, string Protocol, IPEndPoint? Destination,
    string? Name, bool Allowed, string Reason);

/// <summary>Where decisions go (the daemon's audit log). Called on data-plane threads: it must not block.</summary>
public interface IEgressAudit
{
    void Record(EgressDecision decision);
}

/// <summary>
/// One guest's egress state: its own policy (which narrows the network's), the addresses our DNS
/// gave it for allowed names ("pins", each until its TTL plus <see cref="EgressGuard.PinGrace"/>),
/// and its decision counters. Lives on the guest's <see cref="EndpointPort"/>.
/// </summary>
public sealed class GuestEgress(string endpoint)
{
    private readonly Dictionary<IPAddress, List<(string Name, long Expires)>> _pins = [];
    private long _allowed, _denied;

    public string Endpoint { get; } = endpoint;
    public EgressPolicy? Policy { get; internal set; }
    public long Allowed => Interlocked.Read(ref _allowed);
    public long Denied => Interlocked.Read(ref _denied);

    internal void Count(bool allowed) => Interlocked.Increment(ref allowed ? ref _allowed : ref _denied);

    /// <summary>Above this many pinned addresses a new pin first drops the expired ones, so a
    /// guest that resolves much and connects little does not grow the table without end.</summary>
    private const int PruneThreshold = 4096;

    internal void Pin(IPAddress address, string name, long expires, long now)
    {
        lock (_pins)
        {
            if (_pins.Count >= PruneThreshold) Prune(now);
            if (!_pins.TryGetValue(address, out var names)) _pins[address] = names = [];
            int i = names.FindIndex(p => p.Name == name);
            if (i >= 0) names[i] = (name, Math.Max(expires, names[i].Expires));
            else names.Add((name, expires));
        }
    }

    /// <summary>The names that resolved to <paramref name="address"/> for this guest and have not
    /// expired (expired ones are dropped on the way).</summary>
    internal IReadOnlyList<string> PinnedNames(IPAddress address, long now)
    {
        lock (_pins)
        {
            if (!_pins.TryGetValue(address, out var names)) return [];
            names.RemoveAll(p => p.Expires < now);
            if (names.Count == 0) { _pins.Remove(address); return []; }
            return names.ConvertAll(p => p.Name);
        }
    }

    /// <summary>Forgets expired pins; the caller holds the lock.</summary>
    private void Prune(long now)
    {
        List<IPAddress>? empty = null;
        foreach (var (address, names) in _pins)
            if (names.RemoveAll(p => p.Expires < now) > 0 && names.Count == 0) (empty ??= []).Add(address);
        foreach (var address in empty ?? []) _pins.Remove(address);
    }
}

/// <summary>
/// A network's egress enforcement (docs/egress.md): the gateway's DNS asks it before resolving a
/// name upstream and tells it the answers; the NAT asks it before opening a flow and, for flows
/// allowed by name, again with the TLS SNI the guest's first bytes carry or the Host of each of its
/// plaintext HTTP requests. A flow
/// must pass the network's policy and the guest's own. With no policy anywhere it costs one
/// volatile read per new flow.
/// </summary>
public sealed class EgressGuard
{
    /// <summary>How long an address stays pinned after its record's TTL ran out: clients cache
    /// answers past their TTL (browsers a minute, the JVM 30 s) and reuse open pools.</summary>
    public static readonly TimeSpan PinGrace = TimeSpan.FromMinutes(2);
    /// <summary>The least time a pin lasts, whatever the TTL (a TTL of 0 would make every answer useless).</summary>
    public static readonly TimeSpan MinPinLifetime = TimeSpan.FromSeconds(30);

    private readonly string _network;
    private readonly Func<MacAddress, GuestEgress?> _guests;
    private readonly IEgressAudit? _audit;
    private readonly TimeProvider _time;
    private volatile EgressPolicy? _policy;
    private int _guestPolicies;

    /// <param name="guests">The guest a MAC belongs to (its own policy, pins and counters); null for a stranger.</param>
    /// <param name="audit">Where decisions are recorded; null: nowhere (tests of the data plane alone).</param>
    public EgressGuard(string network, Func<MacAddress, GuestEgress?> guests, IEgressAudit? audit = null, TimeProvider? time = null)
    {
        _network = network;
        _guests = guests;
        _audit = audit;
        _time = time ?? TimeProvider.System;
    }

    public EgressPolicy? Policy
    {
        get => _policy;
        set => _policy = value;
    }

    /// <summary>Every decision recorded on this network, by verdict and reason.</summary>
    public EgressDecisionCounters Decisions { get; } = new();

    /// <summary>Whether any policy applies on this network (the network's, or a guest's own).</summary>
    public bool Active => _policy is not null || Volatile.Read(ref _guestPolicies) > 0;

    public void SetGuestPolicy(GuestEgress guest, EgressPolicy? policy)
    {
        var before = guest.Policy;
        guest.Policy = policy;
        if (before is null && policy is not null) Interlocked.Increment(ref _guestPolicies);
        else if (before is not null && policy is null) Interlocked.Decrement(ref _guestPolicies);
    }

    /// <summary>A guest left: its policy stops counting.</summary>
    public void Forget(GuestEgress guest) => SetGuestPolicy(guest, null);

    private long Now => _time.GetTimestamp();

    /// <summary>Whether the gateway's DNS may resolve <paramref name="name"/> upstream for the guest at <paramref name="mac"/>.</summary>
    public bool CheckQuery(MacAddress mac, string name)
    {
        if (!Active) return true;
        var guest = _guests(mac);
        name = Normalize(name);
        var verdict = Both(guest, p => p.CheckQuery(name));
        Record(guest, "dns", null, verdict with { Name = name });
        return verdict.Allowed;
    }

    /// <summary>Pins the addresses of an upstream answer to <paramref name="name"/> for the guest
    /// that asked (every A and AAAA record in the answer section: those behind a CNAME chain too,
    /// since the name asked for is the one the policy allowed).</summary>
    public void Remember(MacAddress mac, string name, ReadOnlySpan<byte> response)
    {
        if (!Active || _guests(mac) is not { } guest) return;
        name = Normalize(name);
        var reader = new DnsMessageReader(response);
        if (!reader.TryReadHeader(out var header) || header.ResponseCode != DnsResponseCode.NoError) return;
        for (int i = 0; i < header.QuestionCount; i++)
            if (!reader.TrySkipQuestion()) return;
        long now = Now;
        for (int i = 0; i < header.AnswerCount; i++)
        {
            if (!reader.TryReadRecord(out var record)) return;
            IPAddress? address = null;
            if (record.Type == DnsType.A && record.TryGetIpv4(out var v4)) address = v4.ToIPAddress();
            else if (record.Type == DnsType.AAAA && record.TryGetIpv6(out var v6)) address = v6;
            if (address is null) continue;
            var lifetime = TimeSpan.FromSeconds(record.Ttl) < MinPinLifetime ? MinPinLifetime : TimeSpan.FromSeconds(record.Ttl);
            guest.Pin(address, name, now + (long)((lifetime + PinGrace).TotalSeconds * _time.TimestampFrequency), now);
        }
    }

    /// <summary>A new flow from the guest at <paramref name="mac"/>; records the decision.</summary>
    public EgressVerdict CheckFlow(MacAddress mac, ProtocolType protocol, IPAddress destination, int port)
    {
        var guest = _guests(mac);
        var pinned = guest?.PinnedNames(destination, Now) ?? [];
        var verdict = Both(guest, p => p.CheckFlow(protocol, destination, port, pinned));
        Record(guest, Protocol(protocol), new IPEndPoint(destination, port), verdict);
        return verdict;
    }

    /// <summary>The TLS SNI or HTTP Host of a TCP flow <see cref="CheckFlow"/> allowed with Inspect; records the decision.</summary>
    public bool CheckServerName(MacAddress mac, IPEndPoint destination, string? serverName, bool tls)
    {
        var guest = _guests(mac);
        var pinned = guest?.PinnedNames(destination.Address, Now) ?? [];
        var verdict = Both(guest, p => p.CheckServerName(serverName, tls, destination.Port, pinned));
        Record(guest, "tcp", destination, verdict with { Name = serverName ?? verdict.Name });
        return verdict.Allowed;
    }

    /// <summary>An inspection that refused the flow without a policy check of a name (a hello or request head that
    /// never completed, was malformed or could not be framed, or whose target's authority disagreed with its Host:
    /// <paramref name="name"/>); records the deny.</summary>
    public void RecordInspectionFailure(MacAddress mac, IPEndPoint destination, string reason, string? name = null) =>
        Record(_guests(mac), "tcp", destination, EgressVerdict.Deny(reason, name));

    /// <summary>The network's verdict, then the guest's own: both must allow; a deny says whose.</summary>
    private EgressVerdict Both(GuestEgress? guest, Func<EgressPolicy, EgressVerdict> check)
    {
        var network = _policy;
        EgressVerdict verdict = network is null ? EgressVerdict.Allow("no-policy") : check(network);
        if (!verdict.Allowed || guest?.Policy is not { } own) return verdict;
        var narrowed = check(own);
        if (!narrowed.Allowed) return narrowed with { Reason = "endpoint-" + narrowed.Reason };
        return verdict with { Inspect = verdict.Inspect || narrowed.Inspect, Name = verdict.Name ?? narrowed.Name };
    }

    private void Record(GuestEgress? guest, string protocol, IPEndPoint? destination, EgressVerdict verdict)
    {
        guest?.Count(verdict.Allowed);
        Decisions.Count(verdict.Allowed, verdict.Reason);
        _audit?.Record(new EgressDecision(_time.GetUtcNow(), _network, guest?.Endpoint ?? "?", protocol, destination, verdict.Name, verdict.Allowed, verdict.Reason));
    }

    private static string Protocol(ProtocolType p) => p switch
    {
        ProtocolType.Tcp => "tcp",
        ProtocolType.Udp => "udp",
        _ => "icmp",
    };

    private static string Normalize(string name) => name.TrimEnd('.').ToLowerInvariant();
}
