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

// ICMP echo translation (IcmpEchoFlow) over ping or raw sockets; docs/nat.md ("ICMP echo").
public sealed partial class NatEngine
{
    /// <summary>ICMP echo flows per network (one per guest, identifier and remote).</summary>
    internal const int DefaultMaxIcmpFlows = 1024;

    private readonly ConcurrentDictionary<FlowKey, IcmpEchoFlow> _icmp = new();
    private int _icmpKindsLogged;

    /// <summary>Until when (<see cref="NowTicks"/>) this network's pings use raw sockets, after an
    /// unprivileged ICMP socket was refused.</summary>
    internal long PingDeniedUntil;

    internal TimeSpan IcmpIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);
    internal int MaxIcmpFlows
    {
        get => _admission.ProtocolMax(NatProtocol.Icmp);
        set => _admission.SetProtocolMax(NatProtocol.Icmp, value);
    }

    public int IcmpFlowCount => _admission.Count(NatProtocol.Icmp);

    internal IcmpEchoFlow[] IcmpFlowSnapshot() => [.. _icmp.Values];

    private void HandleIcmp(MacAddress guestMac, in Ipv4Packet ip)
    {
        if (!IcmpPacket.TryParse(ip.Payload, out var icmp) || !icmp.IsChecksumValid)
        {
            _replies.Counters.CountDrop(DropReason.Malformed);
            return;
        }
        // Only echo is translated; the errors and replies a guest sends have no flow to go to.
        if (icmp.Type != IcmpPacket.TypeEchoRequest) return;
        var key = new FlowKey(ip.Source, icmp.Identifier, ip.Destination, 0);
        if (!_icmp.TryGetValue(key, out var flow) && (flow = OpenIcmp(guestMac, key, ip.ErrorQuote)) is null) return;
        flow.FromGuest(guestMac, ip.ErrorQuote, icmp.Bytes);
    }

    /// <summary>ICMPv6 from a guest to the outside: echo requests are translated (RFC 4443 §4.1);
    /// errors and replies have no flow to go to.</summary>
    private void HandleIcmp(MacAddress guestMac, in Ipv6Packet ip)
    {
        if (!Icmpv6Packet.TryParse(ip.Payload, out var icmp) || !icmp.IsChecksumValid(ip.Source, ip.Destination))
        {
            _replies.Counters.CountDrop(DropReason.Malformed);
            return;
        }
        if (icmp.Type != Icmpv6Packet.TypeEchoRequest) return;
        var key = new FlowKey(ip.Source, icmp.Identifier, ip.Destination, 0);
        var quote = ip.Bytes[..Math.Min(ip.Bytes.Length, Ipv6Packet.HeaderLength + 8)];
        if (!_icmp.TryGetValue(key, out var flow) && (flow = OpenIcmp(guestMac, key, quote)) is null) return;
        flow.FromGuest(guestMac, quote, icmp.Bytes);
    }

    private IcmpEchoFlow? OpenIcmp(MacAddress guestMac, in FlowKey key, ReadOnlySpan<byte> quote)
    {
        if (!MayOpen(guestMac, key, quote, ProtocolType.Icmp, 0, out var target)) return null;
        var share = ShareOf(guestMac);
        if (!AdmitDatagram(share, _icmp, NatProtocol.Icmp, guestMac, key, quote)) return null;
        var flow = IcmpEchoFlow.Open(this, key, guestMac, target, IcmpIdleTimeout.Ticks, out var kind, out var error);
        LogIcmpKind(kind);
        if (flow is null)
        {
            Release(share, NatProtocol.Icmp);
            OpenFailed(NatProtocol.Icmp, guestMac, key, quote, error);
            return null;
        }
        flow.Share = share;
        if (!_icmp.TryAdd(key, flow))
        {
            flow.Close();
            Release(share, NatProtocol.Icmp);
            return _icmp.TryGetValue(key, out var other) ? other : null;
        }
        Statistics.CountOpened(NatProtocol.Icmp);
        if (Volatile.Read(ref _disposed) != 0) { flow.Close(); return null; }
        flow.Start();
        return flow;
    }

    internal void Remove(IcmpEchoFlow flow)
    {
        if (_icmp.TryRemove(new(flow.Key, flow))) Release(flow.Share, NatProtocol.Icmp);
    }

    /// <summary>Says once per network which ICMP socket pings go through (or that none can be had).</summary>
    private void LogIcmpKind(IcmpSocketKind kind)
    {
        int bit = 1 << (int)kind;
        if ((Volatile.Read(ref _icmpKindsLogged) & bit) != 0 || (Interlocked.Or(ref _icmpKindsLogged, bit) & bit) != 0) return;
        switch (kind)
        {
            case IcmpSocketKind.Raw: NatLog.IcmpRaw(_logger); break;
            case IcmpSocketKind.Unavailable: NatLog.IcmpUnavailable(_logger); break;
        }
    }
}

internal static partial class NatLog
{
    [LoggerMessage(EventId = LogEvents.IcmpEchoRawSockets, Level = LogLevel.Information,
        Message = "ICMP echo goes through raw sockets: unprivileged ICMP sockets are refused (net.ipv4.ping_group_range does not include the daemon's group)")]
    public static partial void IcmpRaw(ILogger logger);

    [LoggerMessage(EventId = LogEvents.IcmpEchoUnavailable, Level = LogLevel.Warning,
        Message = "Guests cannot ping the outside: no ICMP socket can be opened (add the daemon's group to net.ipv4.ping_group_range, or give it CAP_NET_RAW)")]
    public static partial void IcmpUnavailable(ILogger logger);
}
