using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Network.Gateway;
using Switchyard.Network.Switching;
using Switchyard.Packets;

namespace Switchyard.Network.Nat;

// UDP and ICMP echo translation (UdpFlow, IcmpEchoFlow, DatagramFlow) and the reassembly of guests' fragmented
// datagrams (Ipv4Reassembly). docs/nat.md ("UDP", "ICMP echo", "Fragments from guests") describes the behaviour.
public sealed partial class NatEngine
{
    /// <summary>UDP flows per network: past this the flow idle longest is closed for a new one.</summary>
    internal const int DefaultMaxUdpFlows = 4096;
    /// <summary>ICMP echo flows per network (one per guest, identifier and remote).</summary>
    internal const int DefaultMaxIcmpFlows = 1024;
    /// <summary>A full table never closes a flow that carried a packet this recently: a flood of
    /// new flows is refused instead of tearing down live ones.</summary>
    private static readonly long MinIdleToEvict = TimeSpan.FromSeconds(1).Ticks;

    private readonly ConcurrentDictionary<FlowKey, UdpFlow> _udp = new();
    private readonly ConcurrentDictionary<FlowKey, IcmpEchoFlow> _icmp = new();
    private int _udpCount, _icmpCount;
    private int _fragmentId;
    private int _icmpKindsLogged;
    private readonly Ipv4Reassembly _reassembly = new();
    /// <summary>Until when (<see cref="NowTicks"/>) this network's pings use raw sockets, after an
    /// unprivileged ICMP socket was refused.</summary>
    internal long PingDeniedUntil;

    /// <summary>How long a UDP flow lives without a datagram either way.</summary>
    internal TimeSpan UdpIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);
    /// <summary>The same for flows to a remote's port 53 (DNS: one query, one answer).</summary>
    internal TimeSpan DnsIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);
    internal TimeSpan IcmpIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);
    internal int MaxUdpFlows { get; set; } = DefaultMaxUdpFlows;
    internal int MaxIcmpFlows { get; set; } = DefaultMaxIcmpFlows;

    public int UdpFlowCount => Volatile.Read(ref _udpCount);
    public int IcmpFlowCount => Volatile.Read(ref _icmpCount);
    internal IcmpEchoFlow[] IcmpFlowSnapshot() => [.. _icmp.Values];

    /// <summary>A fragment from a guest: UDP and ICMP datagrams are put back together and handled
    /// whole; TCP is never fragmented by a guest (it sends DF and sizes segments to the MTU).</summary>
    private void HandleFragment(MacAddress guestMac, in Ipv4Packet fragment, bool verifyL4)
    {
        if (fragment.Protocol is not (IpProtocol.Udp or IpProtocol.Icmp) || Volatile.Read(ref _disposed) != 0)
        {
            _replies.Counters.CountDrop(DropReason.Malformed);
            return;
        }
        switch (_reassembly.Add(fragment, NowTicks, out var buffer, out int start, out int length))
        {
            case Ipv4Reassembly.Result.Dropped:
                _replies.Counters.CountDrop(DropReason.Malformed);
                return;
            case Ipv4Reassembly.Result.Complete:
                try
                {
                    if (Ipv4Packet.TryParse(buffer.AsSpan(start, length), out var whole)) Handle(guestMac, whole, verifyL4);
                }
                finally { Ipv4Reassembly.Return(buffer!); }
                return;
        }
    }

    private void HandleUdp(MacAddress guestMac, in Ipv4Packet ip, bool verifyL4)
    {
        if (!UdpDatagram.TryParse(ip.Payload, out var udp) || (verifyL4 && !udp.IsChecksumValid(ip.Source, ip.Destination))
            || udp.SourcePort == 0 || udp.DestinationPort == 0)
        {
            _replies.Counters.CountDrop(DropReason.Malformed);
            return;
        }
        var key = new FlowKey(ip.Source, udp.SourcePort, ip.Destination, udp.DestinationPort);
        // A reply to a published port's client goes back out of the published socket.
        if (!_udpInbound.IsEmpty && _udpInbound.TryGetValue(key, out var inbound)) { inbound.Listener.Send(inbound, udp.Payload); return; }
        if (!_udp.TryGetValue(key, out var flow) && (flow = OpenUdp(guestMac, key, ip.ErrorQuote)) is null) return;
        flow.FromGuest(guestMac, ip.ErrorQuote, udp.Payload);
    }

    private void HandleUdp(MacAddress guestMac, in Ipv6Packet ip, bool verifyL4)
    {
        if (!UdpDatagram.TryParse(ip.Payload, out var udp) || (verifyL4 && !udp.IsChecksumValid(ip.Source, ip.Destination))
            || udp.SourcePort == 0 || udp.DestinationPort == 0)
        {
            _replies.Counters.CountDrop(DropReason.Malformed);
            return;
        }
        var key = new FlowKey(ip.Source, udp.SourcePort, ip.Destination, udp.DestinationPort);
        var quote = ip.Bytes[..Math.Min(ip.Bytes.Length, Ipv6Packet.HeaderLength + 8)];
        if (!_udp.TryGetValue(key, out var flow) && (flow = OpenUdp(guestMac, key, quote)) is null) return;
        flow.FromGuest(guestMac, quote, udp.Payload);
    }

    private UdpFlow? OpenUdp(MacAddress guestMac, in FlowKey key, ReadOnlySpan<byte> quote)
    {
        if (!MayOpen(guestMac, key, quote, ProtocolType.Udp, key.RemotePort, out var target)) return null;
        if (Volatile.Read(ref _udpCount) >= MaxUdpFlows && !EvictIdlest(_udp))
        {
            Refuse(guestMac, key, quote);
            return null;
        }
        long idle = (key.RemotePort == 53 ? DnsIdleTimeout : UdpIdleTimeout).Ticks;
        var flow = UdpFlow.Open(this, key, guestMac, new IPEndPoint(target, key.RemotePort), idle, out var error);
        if (flow is null) { OpenFailed(guestMac, key, quote, error); return null; }
        if (!_udp.TryAdd(key, flow))
        {
            flow.Close();   // not in the table: leaves the count alone
            return _udp.TryGetValue(key, out var other) ? other : null;
        }
        Interlocked.Increment(ref _udpCount);
        if (Volatile.Read(ref _disposed) != 0) { flow.Close(); return null; }
        flow.Start();
        return flow;
    }

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
        if (Volatile.Read(ref _icmpCount) >= MaxIcmpFlows && !EvictIdlest(_icmp))
        {
            Refuse(guestMac, key, quote);
            return null;
        }
        var flow = IcmpEchoFlow.Open(this, key, guestMac, target, IcmpIdleTimeout.Ticks, out var kind, out var error);
        LogIcmpKind(kind);
        if (flow is null) { OpenFailed(guestMac, key, quote, error); return null; }
        if (!_icmp.TryAdd(key, flow))
        {
            flow.Close();
            return _icmp.TryGetValue(key, out var other) ? other : null;
        }
        Interlocked.Increment(ref _icmpCount);
        if (Volatile.Read(ref _disposed) != 0) { flow.Close(); return null; }
        flow.Start();
        return flow;
    }

    /// <summary>Whether a new flow to the packet's destination may open, and the host address it
    /// maps to. A destination this network may not reach gets ICMP admin prohibited from the
    /// gateway; multicast and reserved destinations are dropped silently (no ICMP error answers
    /// a datagram to a multicast address, RFC 1122 §3.2.2). So does one the egress policy refuses.</summary>
    private bool MayOpen(MacAddress guestMac, in FlowKey key, ReadOnlySpan<byte> quote, ProtocolType protocol, int port, out IPAddress target)
    {
        target = IPAddress.None;
        if (Volatile.Read(ref _disposed) != 0) return false;
        if (key.IsIpv4 ? key.RemoteIpv4.Value >> 28 >= 0xE : key.RemoteIp.IsMulticast)
        {
            _replies.Counters.CountDrop(DropReason.Policy);
            return false;
        }
        if (MapDestination(key.RemoteIp) is not { } mapped || !EgressAllows(guestMac, key.RemoteIp, protocol, mapped, port, out _))
        {
            Refuse(guestMac, key, quote);
            return false;
        }
        target = mapped;
        return true;
    }

    /// <summary>ICMP destination unreachable, communication administratively prohibited (RFC 1812
    /// §5.2.7.1; ICMPv6 code 1, RFC 4443 §3.1), from the gateway: the network's policy or its
    /// flow table says no.</summary>
    private void Refuse(MacAddress guestMac, in FlowKey key, ReadOnlySpan<byte> quote)
    {
        _replies.Counters.CountDrop(DropReason.Policy);
        SendUnreachable(guestMac, key, 13, quote, fromGateway: true);
    }

    /// <summary>The host could not open a socket toward the destination: what a router without a
    /// route (or behind a filter) says, from the gateway.</summary>
    private void OpenFailed(MacAddress guestMac, in FlowKey key, ReadOnlySpan<byte> quote, SocketError error)
    {
        byte code = error switch
        {
            SocketError.NetworkUnreachable => 0,
            SocketError.HostUnreachable => 1,
            _ => 13,   // EACCES (a broadcast address, a host firewall), no ICMP socket, out of descriptors
        };
        _replies.Counters.CountDrop(DropReason.TransmitFailed);
        SendUnreachable(guestMac, key, code, quote, fromGateway: true);
    }


    /// <summary>Closes the flow that has been idle longest, if it has been idle a while; false when
    /// every flow is live (the caller refuses the new one).</summary>
    private bool EvictIdlest<T>(ConcurrentDictionary<FlowKey, T> table) where T : DatagramFlow
    {
        T? idlest = null;
        long oldest = long.MaxValue;
        foreach (var entry in table)
        {
            long t = entry.Value.LastActive;
            if (t < oldest) { oldest = t; idlest = entry.Value; }
        }
        if (idlest is null || NowTicks - oldest < MinIdleToEvict) return false;
        idlest.Close();
        return true;
    }

    internal void Remove(UdpFlow flow)
    {
        if (_udp.TryRemove(new(flow.Key, flow))) Interlocked.Decrement(ref _udpCount);
    }

    internal void Remove(IcmpEchoFlow flow)
    {
        if (_icmp.TryRemove(new(flow.Key, flow))) Interlocked.Decrement(ref _icmpCount);
    }

    internal void CountDrop(DropReason reason) => _replies.Counters.CountDrop(reason);

    /// <summary>Sends the IPv4 packet whose L4 bytes (checksum done) are at
    /// <see cref="EthernetFrameWriter.L4Offset"/> of <paramref name="frame"/> to the guest. A packet
    /// bigger than the network's MTU is fragmented as a router would (RFC 791 §3.2), in place: each
    /// piece's headers are written just before its data, over bytes already sent.</summary>
    /// <summary>Sends the IPv6 packet whose upper layer (checksum done) is at
    /// <see cref="EthernetFrameWriter.Ipv6L4Offset"/> to the guest. IPv6 routers never fragment
    /// (RFC 8200 §5): a packet bigger than the MTU is dropped; the host kernel's path MTU discovery
    /// keeps TCP below it, and datagrams that big are rare.</summary>
    internal void SendToGuest(Span<byte> frame, MacAddress guestMac, Ipv6Address source, Ipv6Address destination, byte protocol, int l4Length)
    {
        if (Ipv6Packet.HeaderLength + l4Length > Mtu) { _replies.Counters.CountDrop(DropReason.Oversize); return; }
        _replies.SendIpv6(frame, guestMac, source, destination, protocol, l4Length);
    }

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

    private void TickUdpAndIcmp(long now)
    {
        _reassembly.Expire(now);
        if (!_udpListeners.IsEmpty)
            foreach (var entry in _udpListeners) entry.Key.Expire(now, UdpIdleTimeout.Ticks);
        if (!_udp.IsEmpty)
            foreach (var entry in _udp)
                if (now - entry.Value.LastActive > entry.Value.IdleTimeout) entry.Value.Close();
        if (!_icmp.IsEmpty)
            foreach (var entry in _icmp)
                if (now - entry.Value.LastActive > entry.Value.IdleTimeout) entry.Value.Close();
    }

    /// <summary>Datagram flows whose host path changed are closed; the guest's next datagram opens a
    /// socket on the route the host has now. Without this, a flow the guest keeps busy (a VPN or
    /// QUIC client inside the guest never goes idle) would stay on a source address whose interface
    /// is gone, or leak outside a VPN that came up after it. No route, or another source than the
    /// flow's, ends the flow. Unlike a TCP connection, a datagram flow loses nothing by moving: the
    /// remote sees a new source port, as after a NAT rebinding. Part of <see cref="CheckPaths"/>.</summary>
    private static void CheckDatagramPaths<T>(ConcurrentDictionary<FlowKey, T> table, ref Dictionary<IPAddress, IPAddress?>? sources) where T : DatagramFlow
    {
        foreach (var entry in table)
        {
            var flow = entry.Value;
            if (flow.HostLocal is not { } bound || bound.Equals(IPAddress.Any) || bound.Equals(IPAddress.IPv6Any) || IPAddress.IsLoopback(flow.HostRemote)) continue;
            if (!TryGetSource(ref sources, flow.HostRemote, out var source)) return;
            if (source is null || !source.Equals(bound)) flow.Close();
        }
    }

    private void ForgetGuestUdpAndIcmp(Ipv6Address address)
    {
        foreach (var entry in _udp)
            if (entry.Key.GuestIp == address) entry.Value.Close();
        foreach (var entry in _icmp)
            if (entry.Key.GuestIp == address) entry.Value.Close();
    }

    private void DisposeUdpAndIcmp()
    {
        foreach (var entry in _udpListeners) entry.Key.Dispose();
        _reassembly.Clear();
        foreach (var entry in _udp) entry.Value.Close();
        foreach (var entry in _icmp) entry.Value.Close();
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

    // ---- published UDP ports ----------------------------------------------------------

    private readonly ConcurrentDictionary<FlowKey, UdpPortListener.Association> _udpInbound = new();
    private readonly ConcurrentDictionary<UdpPortListener, byte> _udpListeners = new();

    private IDisposable PublishUdp(PublishedPort spec, Func<GuestAddress?> guest)
    {
        var listener = UdpPortListener.Start(this, spec, guest);
        _udpListeners[listener] = 0;
        return listener;
    }

    internal void RemoveUdpListener(UdpPortListener listener) => _udpListeners.TryRemove(listener, out _);

    internal void AddInboundUdp(in FlowKey key, UdpPortListener.Association association) => _udpInbound[key] = association;

    internal void RemoveInboundUdp(in FlowKey key, UdpPortListener.Association association) => _udpInbound.TryRemove(new(key, association));

    /// <summary>A datagram a published port's client sent, to the guest from the client's (mapped) address.</summary>
    internal void SendUdpToGuest(in FlowKey key, MacAddress guestMac, ReadOnlySpan<byte> payload)
    {
        var frame = GuestReplies.Frame;
        payload.CopyTo(frame[EthernetFrameWriter.UdpPayloadOffset..]);
        int udpLength = UdpDatagram.Write(frame[EthernetFrameWriter.L4Offset..], key.RemoteIpv4, key.GuestIpv4, key.RemotePort, key.GuestPort, payload.Length);
        SendToGuest(frame, guestMac, key.RemoteIpv4, key.GuestIpv4, IpProtocol.Udp, udpLength);
    }

    /// <summary>The address a published port's client has on the guest's side: its own for other
    /// machines' IPv4 clients, the gateway's for loopback and IPv6 ones (a guest drops loopback
    /// sources as martians, RFC 1122 §3.2.1.3, and cannot answer IPv6).</summary>
    internal Ipv4Address InboundSource(IPAddress client)
    {
        var address = client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client;
        return address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(address)
            ? Ipv4Address.FromIPAddress(address)
            : _replies.Address;
    }
}

internal static partial class NatLog
{
    [LoggerMessage(EventId = 310, Level = LogLevel.Information,
        Message = "ICMP echo goes through raw sockets: unprivileged ICMP sockets are refused (net.ipv4.ping_group_range does not include the daemon's group)")]
    public static partial void IcmpRaw(ILogger logger);

    [LoggerMessage(EventId = 311, Level = LogLevel.Warning,
        Message = "Guests cannot ping the outside: no ICMP socket can be opened (add the daemon's group to net.ipv4.ping_group_range, or give it CAP_NET_RAW)")]
    public static partial void IcmpUnavailable(ILogger logger);
}
