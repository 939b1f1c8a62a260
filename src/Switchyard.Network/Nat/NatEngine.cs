using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Network.Egress;
using Switchyard.Network.Gateway;
using Switchyard.Network.Switching;
using Switchyard.Packets;

namespace Switchyard.Network.Nat;

/// <summary>What a network's NAT may reach: the outside (nat mode) and the host's loopback
/// through the gateway address (nat and host modes, unless turned off).</summary>
public readonly record struct NatPolicy(bool Outside, bool HostLoopback)
{
    public static NatPolicy For(NetworkMode mode, bool hostLoopback) => mode switch
    {
        NetworkMode.Nat => new(true, hostLoopback),
        NetworkMode.Host => new(false, hostLoopback),
        _ => new(false, false),   // internal (and bridged, whose guests use the LAN's router): nothing leaves
    };
}

/// <summary>
/// User-mode NAT: every guest flow to the outside (or to the host's loopback through the gateway
/// address) becomes an ordinary host socket, so guest traffic follows whatever route the host has
/// now and nothing in the host's routing or firewall tables belongs to us. Holds the flow tables;
/// the protocols live in <see cref="TcpFlow"/>, <see cref="UdpFlow"/> and <see cref="IcmpEchoFlow"/>.
/// Frames arrive on the sending guest's receive thread; replies are built in the thread's
/// <see cref="GuestReplies.Frame"/> and sent into the switch from whichever thread has them.
///
/// One file per concern: this one dispatches, keeps the clock and the timer and sends to guests;
/// <c>.Destinations</c> decides whether a new flow may go where it asks (the one place every
/// protocol asks); <c>.Tcp</c>, <c>.Udp</c>, <c>.IcmpEcho</c> hold each protocol's table;
/// <c>.Datagrams</c> what UDP and ICMP share (eviction, expiry, fragments); <c>.Published</c>
/// published ports; <c>.RouteChanges</c> the re-check of flows' host paths.
/// </summary>
public sealed partial class NatEngine : IDisposable
{
    /// <summary>The default of a network's <c>--max-flows</c>: NAT flows, all protocols.</summary>
    public const int DefaultMaxFlows = FlowAdmission.DefaultMaxFlows;

    private static readonly TimeSpan TickPeriod = TimeSpan.FromMilliseconds(100);
    private readonly GuestReplies _replies;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly double _ticksPerTimestamp;
    private readonly ITimer _timer;
    private int _disposed;

    /// <param name="replies">The gateway's sending side: the NAT answers guests from the gateway's port and addresses.</param>
    /// <param name="egress">The network's egress policy enforcement; it applies to the outside, not
    /// to the host's loopback (which <c>--no-host-loopback</c> governs). Null: no checks (tests).</param>
    /// <param name="shares">The endpoint a guest's MAC belongs to, as its share of the NAT (null: none
    /// known, the flow counts against one share for every unknown sender).</param>
    /// <param name="fds">The daemon's descriptor budget, shared by every network (null: unlimited).</param>
    internal NatEngine(GuestReplies replies, NatPolicy policy, int mtu, EgressGuard? egress, ILogger logger, TimeProvider time,
        Func<MacAddress, FlowShare?>? shares = null, FdBudget? fds = null)
    {
        _replies = replies;
        _shares = shares ?? (static _ => null);
        _admission = new FlowAdmission(fds ?? FdBudget.Unlimited);
        Policy = policy;
        Mtu = mtu;
        Egress = egress;
        _logger = logger;
        _time = time;
        _ticksPerTimestamp = (double)TimeSpan.TicksPerSecond / _time.TimestampFrequency;
        _timer = _time.CreateTimer(static s => ((NatEngine)s!).OnTick(), this, TickPeriod, TickPeriod);
        _ackTimer = _time.CreateTimer(static s => ((NatEngine)s!).FlushDelayedAcks(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Now, in <see cref="TimeSpan"/> ticks, on the clock every flow keeps its idle and
    /// retransmission times by: the engine's <see cref="TimeProvider"/>'s monotonic timestamp
    /// (a read and a multiply, no allocation: called per frame). Never 0, which flows use for "not yet".</summary>
    internal long NowTicks => (long)(_time.GetTimestamp() * _ticksPerTimestamp);

    public NatPolicy Policy { get; }

    /// <summary>The network's cap on NAT flows, all protocols (<c>--max-flows</c>); endpoints
    /// without their own get a quarter of it. Never more than half the daemon's fd budget.</summary>
    public int MaxFlows
    {
        get => _admission.MaxFlows;
        set => _admission.MaxFlows = value;
    }

    /// <summary><see cref="MaxFlows"/> as it binds now (the fd budget may hold it lower).</summary>
    public int EffectiveMaxFlows => _admission.EffectiveMaxFlows;

    /// <summary>The most flows <paramref name="share"/>'s endpoint may hold now.</summary>
    public int EndpointMaxFlows(FlowShare share) => _admission.EndpointMax(share);

    /// <summary>New flows per second (and burst) each endpoint may open.</summary>
    public int NewFlowsPerSecond
    {
        get => _admission.NewFlowsPerSecond;
        set => _admission.NewFlowsPerSecond = value;
    }

    /// <summary>The daemon's descriptor budget this NAT takes its flows' sockets from.</summary>
    public FdBudget Fds => _admission.Fds;

    /// <summary>Flows opened, refused and evicted, bytes each way, published-port connections.</summary>
    public NatStatistics Statistics { get; } = new();

    public int Mtu { get; }

    /// <summary>The network's egress policy enforcement (null: none).</summary>
    public EgressGuard? Egress { get; }

    internal ILogger Logger => _logger;

    /// <summary>A routed IPv4 packet from a guest (or one for the gateway's address that
    /// <see cref="TakesGatewayPort"/> accepted).</summary>
    public void Handle(MacAddress guestMac, in Ipv4Packet ip, bool verifyL4)
    {
        if (ip.IsFragment) { HandleFragment(guestMac, ip, verifyL4); return; }
        switch (ip.Protocol)
        {
            case IpProtocol.Tcp: HandleTcp(guestMac, ip, verifyL4); break;
            case IpProtocol.Udp: HandleUdp(guestMac, ip, verifyL4); break;
            case IpProtocol.Icmp: HandleIcmp(guestMac, ip); break;
        }
    }

    /// <summary>A routed IPv6 packet from a guest (NAT66 onto host AF_INET6 sockets), or one for
    /// the gateway's IPv6 address that <see cref="TakesGatewayPort"/> accepted (the host's ::1).
    /// Extension headers are not walked: a packet with one is not translated.</summary>
    public void Handle(MacAddress guestMac, in Ipv6Packet ip, bool verifyL4)
    {
        switch (ip.NextHeader)
        {
            case IpProtocol.Tcp:
                if (!TcpSegment.TryParse(ip.Payload, out var seg) || (verifyL4 && !seg.IsChecksumValid(ip.Source, ip.Destination)))
                {
                    _replies.Counters.CountDrop(DropReason.Malformed);
                    return;
                }
                HandleTcp(guestMac, new FlowKey(ip.Source, seg.SourcePort, ip.Destination, seg.DestinationPort), seg, ip.Bytes[..Math.Min(ip.Bytes.Length, Ipv6Packet.HeaderLength + 8)]);
                break;
            case IpProtocol.Udp: HandleUdp(guestMac, ip, verifyL4); break;
            case IpProtocol.Icmpv6: HandleIcmp(guestMac, ip); break;
        }
    }

    /// <summary>ICMP destination unreachable from the flow's remote (or, with <paramref name="fromGateway"/>,
    /// from the router itself), quoting the guest's packet (RFC 792; codes per RFC 1812 §5.2.7.1).
    /// For an IPv6 flow the IPv4 code becomes its ICMPv6 counterpart (RFC 4443 §3.1): no route 0,
    /// address unreachable 3, port unreachable 4, administratively prohibited 1.</summary>
    internal void SendUnreachable(MacAddress guestMac, in FlowKey key, byte code, ReadOnlySpan<byte> quote, bool fromGateway = false)
    {
        if (key.IsIpv4)
        {
            _replies.SendUnreachable(guestMac, key.GuestIpv4, fromGateway ? _replies.Address : key.RemoteIpv4, code, quote);
            return;
        }
        if ((fromGateway ? _replies.Ipv6Address : key.RemoteIp) is not { } from) return;
        byte code6 = code switch { 0 => 0, 1 => 3, 3 => 4, _ => 1 };
        _replies.SendUnreachableV6(guestMac, key.GuestIp, from, Icmpv6Packet.TypeDestinationUnreachable, code6, quote);
    }

    private void OnTick()
    {
        try
        {
            long now = NowTicks;
            foreach (var entry in _tcp) entry.Value.Tick(now);
            TickUdpAndIcmp(now);
            if (PathCheckPeriod > TimeSpan.Zero && now >= _nextPathCheck)
            {
                _nextPathCheck = now + PathCheckPeriod.Ticks;
                CheckPaths();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            NatLog.TickFailed(_logger, e);   // a timer callback's exception would end the process
        }
    }

    /// <summary>The guest at <paramref name="address"/> left: its flows end, host sides reset.</summary>
    public void ForgetGuest(Ipv4Address address) => ForgetGuest(Ipv6Address.MapIpv4(address));

    /// <summary><see cref="ForgetGuest(Ipv4Address)"/> for an IPv6 address (or an IPv4-mapped one).</summary>
    public void ForgetGuest(Ipv6Address address)
    {
        foreach (var entry in _tcp)
            if (entry.Key.GuestIp == address) entry.Value.Abort();
        ForgetGuestUdpAndIcmp(address);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _timer.Dispose();
        _ackTimer.Dispose();
        foreach (var entry in _tcp) entry.Value.Abort();
        DisposeUdpAndIcmp();
    }

    internal void CountDrop(DropReason reason) => _replies.Counters.CountDrop(reason);

    /// <summary>Sends the IPv6 packet whose upper layer (checksum done) is at
    /// <see cref="EthernetFrameWriter.Ipv6L4Offset"/> to the guest. IPv6 routers never fragment
    /// (RFC 8200 §5): a packet bigger than the MTU is dropped; the host kernel's path MTU discovery
    /// keeps TCP below it, and datagrams that big are rare.</summary>
    internal void SendToGuest(Span<byte> frame, MacAddress guestMac, Ipv6Address source, Ipv6Address destination, byte protocol, int l4Length)
    {
        if (Ipv6Packet.HeaderLength + l4Length > Mtu) { _replies.Counters.CountDrop(DropReason.Oversize); return; }
        _replies.SendIpv6(frame, guestMac, source, destination, protocol, l4Length);
    }

    /// <summary>Sends the IPv4 packet whose L4 bytes (checksum done) are at
    /// <see cref="EthernetFrameWriter.L4Offset"/> of <paramref name="frame"/> to the guest. A packet
    /// bigger than the network's MTU is fragmented as a router would (RFC 791 §3.2), in place: each
    /// piece's headers are written just before its data, over bytes already sent.</summary>
    internal void SendToGuest(Span<byte> frame, MacAddress guestMac, Ipv4Address source, Ipv4Address destination, byte protocol, int l4Length)
    {
        if (Ipv4Packet.MinHeaderLength + l4Length <= Mtu)
        {
            _replies.SendIpv4(frame, guestMac, source, destination, protocol, l4Length);
            return;
        }
        int piece = (Mtu - Ipv4Packet.MinHeaderLength) & ~7;   // fragment offsets count 8-byte units
        ushort id = (ushort)Interlocked.Increment(ref _fragmentId);
        for (int offset = 0; offset < l4Length; offset += piece)
        {
            int length = Math.Min(piece, l4Length - offset);
            var f = frame.Slice(offset, EthernetFrameWriter.L4Offset + length);
            var header = f[EthernetFrameWriter.Ipv4Offset..];
            Ipv4Packet.WriteHeader(header, source, destination, protocol, length, identification: id, dontFragment: false);
            ushort fragment = (ushort)((offset >> 3) | (offset + length < l4Length ? 0x2000 : 0));   // offset, More Fragments
            BinaryPrimitives.WriteUInt16BigEndian(header[6..], fragment);
            header[10] = header[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(header[10..], Checksum.Compute(header[..Ipv4Packet.MinHeaderLength]));
            EthernetFrame.WriteHeader(f, guestMac, _replies.Mac, EtherType.IPv4);
            _replies.Send(f);
        }
    }
}

internal static partial class NatLog
{
    [LoggerMessage(EventId = LogEvents.NatTickFailed, Level = LogLevel.Error, Message = "NAT timer tick failed")]
    public static partial void TickFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = LogEvents.PublishedAcceptFailed, Level = LogLevel.Warning, Message = "Accepting on published port {Spec} failed")]
    public static partial void AcceptFailed(ILogger logger, string spec, Exception error);

    [LoggerMessage(EventId = LogEvents.NatFlowRefused, Level = LogLevel.Warning,
        Message = "Endpoint {Endpoint}: new {Protocol} flow refused ({Reason}); it holds {Flows} flows; {Suppressed} more refusals since the last line")]
    public static partial void FlowRefused(ILogger logger, string endpoint, NatProtocol protocol, FlowRefusal reason, int flows, long suppressed);
}

// Fair shares (docs/nat.md, "Fair shares"): every new flow is admitted against its endpoint's share,
// the network's table and the daemon's fd budget, and a refusal is counted and logged (rate-limited).
public sealed partial class NatEngine
{
    /// <summary>At most one refusal line per endpoint this often; the next says how many it left out.</summary>
    private static readonly long RefusalLogPeriod = TimeSpan.FromSeconds(10).Ticks;

    private readonly FlowAdmission _admission;
    private readonly Func<MacAddress, FlowShare?> _shares;
    private readonly FlowShare _strangers = new("(unknown)");

    /// <summary>The share of the endpoint <paramref name="mac"/> belongs to.</summary>
    private FlowShare ShareOf(MacAddress mac) => _shares(mac) ?? _strangers;

    /// <summary>Takes a place for a new flow, without counting a refusal (the caller may evict and retry).</summary>
    private FlowRefusal TryAdmit(FlowShare share, NatProtocol protocol) => _admission.TryAdmit(share, protocol, NowTicks);

    private void Release(FlowShare? share, NatProtocol protocol)
    {
        if (share is not null) _admission.Release(share, protocol);
    }

    /// <summary>Counts a fairness refusal for the network and the endpoint, and logs it at most once
    /// per endpoint every ten seconds (a flood must not become a flood of log lines).</summary>
    private void CountRefusal(FlowShare share, NatProtocol protocol, FlowRefusal reason)
    {
        Statistics.CountRefused(protocol);
        share.CountRefused(reason);
        if (share.ShouldLog(NowTicks, RefusalLogPeriod, out long suppressed))
            NatLog.FlowRefused(_logger, share.Endpoint, protocol, reason, share.Flows, suppressed);
    }
}
