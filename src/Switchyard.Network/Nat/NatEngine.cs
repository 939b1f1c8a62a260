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
/// Frames arrive on the sending guest's receive thread; replies are built in a per-thread buffer
/// and sent into the switch from whichever thread has them.
/// </summary>
public sealed partial class NatEngine : IDisposable
{
    /// <summary>Flows per network and protocol; past this a guest gets RSTs or ICMP errors, not our fds.</summary>
    internal const int MaxTcpFlows = 16384;
    private static readonly TimeSpan TickPeriod = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan DelayedAck = TimeSpan.FromMilliseconds(1);
    private const int MaxPathChecks = 256;
    private long _nextPathCheck;

    private readonly GuestReplies _replies;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<FlowKey, TcpFlow> _tcp = new();
    private readonly TimeProvider _time;
    private readonly double _ticksPerTimestamp;
    private readonly ITimer _timer;
    private readonly ITimer _ackTimer;
    private readonly ConcurrentQueue<TcpFlow> _delayedAcks = new();
    private int _ackTimerArmed;
    private int _disposed;

    /// <param name="replies">The gateway's sending side: the NAT answers guests from the gateway's port and addresses.</param>
    /// <param name="egress">The network's egress policy enforcement; it applies to the outside, not
    /// to the host's loopback (which <c>--no-host-loopback</c> governs). Null: no checks (tests).</param>
    internal NatEngine(GuestReplies replies, NatPolicy policy, int mtu, EgressGuard? egress, ILogger logger, TimeProvider time)
    {
        _replies = replies;
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
    public int Mtu { get; }
    public int TcpFlowCount => _tcp.Count;

    /// <summary>The network's egress policy enforcement (null: none).</summary>
    public EgressGuard? Egress { get; }

    /// <summary>Asks the egress policy about a new flow to the outside: whether it may open, and
    /// for TCP flows allowed by name, whether the server name in its first bytes must be checked.</summary>
    private bool EgressAllows(MacAddress guestMac, Ipv6Address destination, ProtocolType protocol, IPAddress target, int port, out bool inspect)
    {
        inspect = false;
        if (Egress is not { Active: true } egress || IsGateway(destination)) return true;
        var verdict = egress.CheckFlow(guestMac, protocol, target, port);
        inspect = verdict.Inspect && protocol == ProtocolType.Tcp;
        return verdict.Allowed;
    }
    internal ILogger Logger => _logger;

    /// <summary>Whether a flow's remote (IPv4-mapped or IPv6) is one of the gateway's addresses: the host's loopback.</summary>
    private bool IsGateway(Ipv6Address a) =>
        a.IsIpv4Mapped ? a.MappedIpv4 == _replies.Address : a == _replies.Ipv6Address || a == _replies.Ipv6LinkLocal;

    /// <summary>Whether the gateway hands this connection to the NAT: the gateway's own services
    /// (DNS on 53, DHCP on 67) stay with it.</summary>
    public bool TakesGatewayPort(ushort port) => Policy.HostLoopback && port != 53 && port != 67;

    /// <summary>Where a guest's packet to <paramref name="destination"/> goes on the host, or null
    /// when this network may not reach it.</summary>
    internal IPAddress? MapDestination(Ipv4Address destination)
    {
        if (destination == _replies.Address) return Policy.HostLoopback ? IPAddress.Loopback : null;
        if (!Policy.Outside || !IsRoutable(destination)) return null;
        return destination.ToIPAddress();
    }

    /// <summary><see cref="MapDestination(Ipv4Address)"/> for either family (IPv4 as IPv4-mapped):
    /// the gateway's IPv6 addresses are the host's ::1; other IPv6 destinations are the outside's
    /// when they are global or unique local unicast off this network's prefix.</summary>
    internal IPAddress? MapDestination(Ipv6Address destination)
    {
        if (destination.IsIpv4Mapped) return MapDestination(destination.MappedIpv4);
        if (destination == _replies.Ipv6Address || destination == _replies.Ipv6LinkLocal) return Policy.HostLoopback ? IPAddress.IPv6Loopback : null;
        if (!Policy.Outside || !IsRoutable(destination)) return null;
        return destination.ToIPAddress();
    }

    /// <summary>IPv6 addresses a router forwards (RFC 4291 §2.4, RFC 6890): not unspecified,
    /// loopback, link-local, multicast, IPv4-mapped, nor this network's own prefix.</summary>
    private bool IsRoutable(Ipv6Address a) =>
        !a.IsUnspecified && !a.IsLoopback && !a.IsLinkLocal && !a.IsMulticast && !a.IsIpv4Mapped
        && !(_replies.Ipv6Prefix is { } own && own.Contains(a));

    /// <summary>Addresses a router forwards (RFC 1812 §5.3.7, RFC 6890): not this subnet, not
    /// "this network" 0/8, loopback 127/8, multicast or reserved 224/3, nor a broadcast.</summary>
    private bool IsRoutable(Ipv4Address a)
    {
        uint first = a.Value >> 24;
        return first != 0 && first != 127 && first < 224 && !_replies.Subnet.Contains(a);
    }

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

    private void HandleTcp(MacAddress guestMac, in Ipv4Packet ip, bool verifyL4)
    {
        if (!TcpSegment.TryParse(ip.Payload, out var seg) || (verifyL4 && !seg.IsChecksumValid(ip.Source, ip.Destination)))
        {
            _replies.Counters.CountDrop(DropReason.Malformed);
            return;
        }
        HandleTcp(guestMac, new FlowKey(ip.Source, seg.SourcePort, ip.Destination, seg.DestinationPort), seg, ip.ErrorQuote);
    }

    /// <summary>A guest's TCP segment of either family; <paramref name="quote"/> is what an ICMP
    /// error about it quotes (the IP header and 8 bytes).</summary>
    private void HandleTcp(MacAddress guestMac, in FlowKey key, in TcpSegment seg, ReadOnlySpan<byte> quote)
    {
        if (_tcp.TryGetValue(key, out var flow)) { flow.OnGuestSegment(guestMac, seg); return; }
        if (!seg.Has(TcpFlags.Syn) || seg.Has(TcpFlags.Ack))
        {
            SendReset(guestMac, key, seg);   // RFC 9293 §3.10.7.1: no connection here
            return;
        }
        var target = MapDestination(key.RemoteIp);
        if (target is null || _tcp.Count >= MaxTcpFlows || Volatile.Read(ref _disposed) != 0)
        {
            SendReset(guestMac, key, seg);
            return;
        }
        if (!EgressAllows(guestMac, key.RemoteIp, ProtocolType.Tcp, target, seg.DestinationPort, out bool inspect))
        {
            SendReset(guestMac, key, seg);   // refused at once, like a closed port
            return;
        }
        var remote = new IPEndPoint(target, seg.DestinationPort);
        flow = TcpFlow.Outbound(this, key, guestMac, quote, seg, remote, inspect ? new ServerNameInspection(Egress!, remote) : null);
        if (!_tcp.TryAdd(key, flow)) { flow.Abort(); return; }
        flow.Start(remote);
    }

    internal void Remove(TcpFlow flow) => _tcp.TryRemove(new(flow.Key, flow));

    /// <summary>Queues <paramref name="flow"/>'s ACK for the delayed-ACK flush, about 1 ms out.</summary>
    internal void AckLater(TcpFlow flow)
    {
        _delayedAcks.Enqueue(flow);
        if (Interlocked.Exchange(ref _ackTimerArmed, 1) == 0) _ackTimer.Change(DelayedAck, Timeout.InfiniteTimeSpan);
    }

    private void FlushDelayedAcks()
    {
        Volatile.Write(ref _ackTimerArmed, 0);
        try
        {
            while (_delayedAcks.TryDequeue(out var flow)) flow.FlushDelayedAck();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            NatLog.TickFailed(_logger, e);   // a timer callback's exception would end the process
        }
        if (!_delayedAcks.IsEmpty && Interlocked.Exchange(ref _ackTimerArmed, 1) == 0) _ackTimer.Change(DelayedAck, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Listens on a host port for <paramref name="spec"/>; connections (or datagrams) go
    /// to the guest <paramref name="guest"/> finds at that moment. Dispose the result to unpublish.
    /// Throws <see cref="PublishException"/> when the host port cannot be had.</summary>
    public IDisposable Publish(PublishedPort spec, Func<GuestAddress?> guest)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return spec.Protocol == System.Net.Sockets.ProtocolType.Udp ? PublishUdp(spec, guest) : TcpPortListener.Start(this, spec, guest);
    }

    /// <summary>A client accepted on a published TCP port. The guest sees the client's real
    /// address as the source; loopback clients (127/8, ::1) and IPv6 clients appear as the gateway
    /// address, because a guest drops packets from a loopback source as martians (RFC 1122 §3.2.1.3)
    /// and an IPv4 guest has no way to answer an IPv6 one.</summary>
    internal void AcceptInbound(System.Net.Sockets.Socket client, ushort guestPort, GuestAddress guest)
    {
        var remote = (IPEndPoint)client.RemoteEndPoint!;
        var key = new FlowKey(guest.Ip, guestPort, InboundSource(remote.Address), (ushort)remote.Port);
        if (_tcp.Count >= MaxTcpFlows || Volatile.Read(ref _disposed) != 0) { TcpPortListener.Refuse(client); return; }
        var flow = TcpFlow.Inbound(this, key, guest.Mac, client);
        if (!_tcp.TryAdd(key, flow)) { flow.Abort(); return; }
        flow.Start(null);
    }

    /// <summary>A RST for a segment that belongs to no connection (RFC 9293 §3.10.7.1).</summary>
    private void SendReset(MacAddress guestMac, in FlowKey key, in TcpSegment seg)
    {
        if (seg.TryGetReset(out uint seq, out uint ack, out var flags))
            SendTcp(new TcpReply(key, guestMac, seq, ack, flags, 0));
    }

    /// <summary>Builds one TCP frame from the remote (or gateway) to the guest in this thread's
    /// reply frame and sends it into the switch. Frames with data go out offloaded: a partial
    /// checksum, and a segmentation job when the data is longer than the guest's MSS; ports that
    /// cannot take that get it finished in software (<see cref="SoftwareOffload"/>).</summary>
    internal void SendTcp(in TcpReply reply)
    {
        var frame = GuestReplies.Frame;
        var key = reply.Flow;
        bool v4 = key.IsIpv4;
        int l4Offset = v4 ? EthernetFrameWriter.L4Offset : EthernetFrameWriter.Ipv6L4Offset;
        var l4 = frame[l4Offset..];
        int hl = TcpSegment.WriteHeader(l4, key.RemotePort, key.GuestPort, reply.Sequence, reply.Acknowledgment, reply.Flags, reply.Window, reply.Options);
        int dataLength = reply.DataLength;
        if (dataLength > 0) reply.Data!.CopyTo(reply.DataOffset, l4.Slice(hl, dataLength));
        int l4Length = hl + dataLength;
        ulong pseudo;
        if (v4)
        {
            Ipv4Packet.WriteHeader(frame[EthernetFrameWriter.Ipv4Offset..], key.RemoteIpv4, key.GuestIpv4, IpProtocol.Tcp, l4Length, identification: reply.IpId);
            EthernetFrame.WriteHeader(frame, reply.GuestMac, _replies.Mac, EtherType.IPv4);
            pseudo = Checksum.PseudoHeaderV4(key.RemoteIpv4, key.GuestIpv4, IpProtocol.Tcp, l4Length);
        }
        else
        {
            Ipv6Packet.WriteHeader(frame[EthernetFrameWriter.Ipv4Offset..], key.RemoteIp, key.GuestIp, IpProtocol.Tcp, l4Length);
            EthernetFrame.WriteHeader(frame, reply.GuestMac, _replies.Mac, EtherType.IPv6);
            pseudo = Ipv6Packet.PseudoHeader(key.RemoteIp, key.GuestIp, IpProtocol.Tcp, l4Length);
        }
        var offload = VirtioNetHeader.None;
        if (dataLength == 0)
            BinaryPrimitives.WriteUInt16BigEndian(l4[16..], Checksum.Finish(Checksum.Add(pseudo, l4[..l4Length])));
        else
        {
            // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum; the rest is summed by whoever completes it.
            BinaryPrimitives.WriteUInt16BigEndian(l4[16..], (ushort)~Checksum.Finish(pseudo));
            bool gso = dataLength > reply.Mss;
            byte gsoType = v4 ? VirtioNetHeader.GsoTcpV4 : VirtioNetHeader.GsoTcpV6;
            offload = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, gso ? gsoType : VirtioNetHeader.GsoNone,
                (ushort)(l4Offset + hl), gso ? (ushort)reply.Mss : (ushort)0, (ushort)l4Offset, 16);
        }
        _replies.Send(frame[..(l4Offset + l4Length)], offload);
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

    /// <summary>How often flows check their host path (zero: never; tests whose sockets live in
    /// another namespace than the timer's route lookups).</summary>
    internal TimeSpan PathCheckPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Flows whose host path changed, TCP and datagram alike, with one route lookup per
    /// distinct remote: which source address would the host use now (a UDP connect: a route
    /// lookup, no packet sent)? See <see cref="CheckTcpPaths"/> and <see cref="CheckDatagramPaths{T}"/>
    /// for what each kind of flow does about it.</summary>
    internal void CheckPaths()
    {
        Dictionary<IPAddress, IPAddress?>? sources = null;   // remote -> source the host would use now (null: no route)
        CheckTcpPaths(ref sources);
        CheckDatagramPaths(_udp, ref sources);
        CheckDatagramPaths(_icmp, ref sources);
    }

    /// <summary>The source the host would use toward <paramref name="remote"/> now, asked once per
    /// check; false once <see cref="MaxPathChecks"/> remotes were asked (the rest wait for the next check).</summary>
    private static bool TryGetSource(ref Dictionary<IPAddress, IPAddress?>? sources, IPAddress remote, out IPAddress? source)
    {
        sources ??= [];
        if (sources.TryGetValue(remote, out source)) return true;
        if (sources.Count >= MaxPathChecks) return false;
        source = SourceFor(new IPEndPoint(remote, 9));
        sources[remote] = source;
        return true;
    }

    /// <summary>Established outbound flows whose path vanished (a VPN went down, a route was
    /// deleted) are reset toward the guest instead of hanging until the host kernel's own timeout
    /// (minutes). No route, or a different source address while the flow's own one is no longer on
    /// an interface that is up, means the path is gone.</summary>
    private void CheckTcpPaths(ref Dictionary<IPAddress, IPAddress?>? sources)
    {
        Dictionary<IPAddress, bool>? local = null;
        foreach (var entry in _tcp)
        {
            var flow = entry.Value;
            if (flow.HostRemote is not { } remote || flow.HostLocal is not { } bound || IPAddress.IsLoopback(remote.Address)) continue;
            if (!TryGetSource(ref sources, remote.Address, out var source)) return;
            if (source is not null && source.Equals(bound)) continue;
            if (source is not null)
            {
                local ??= [];
                if (!local.TryGetValue(bound, out bool stillLocal)) local[bound] = stillLocal = IsLocalAddress(bound);
                if (stillLocal) continue;   // the route moved but the old path may still carry it
            }
            flow.OnPathLost();
        }
    }

    private static IPAddress? SourceFor(IPEndPoint remote)
    {
        using var probe = new System.Net.Sockets.Socket(remote.AddressFamily, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        try
        {
            probe.Connect(remote);
            return (probe.LocalEndPoint as IPEndPoint)?.Address;
        }
        catch (System.Net.Sockets.SocketException) { return null; }
    }

    /// <summary>Whether <paramref name="address"/> is still on an interface of this host that is up.</summary>
    private static bool IsLocalAddress(IPAddress address)
    {
        foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus is not (System.Net.NetworkInformation.OperationalStatus.Up or System.Net.NetworkInformation.OperationalStatus.Unknown)) continue;
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                if (unicast.Address.Equals(address)) return true;
        }
        return false;
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
}

internal static partial class NatLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Error, Message = "NAT timer tick failed")]
    public static partial void TickFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Accepting on published port {Spec} failed")]
    public static partial void AcceptFailed(ILogger logger, string spec, Exception error);
}
