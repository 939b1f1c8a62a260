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

// What UDP and ICMP echo flows share: bounded tables with eviction of the idlest flow, idle expiry,
// errors when the host cannot open a socket, the reassembly of guests' fragmented datagrams
// (Ipv4Reassembly) and the fragmenting of replies bigger than the MTU. docs/nat.md ("Fragments from guests").
public sealed partial class NatEngine
{
    /// <summary>A full table never closes a flow that carried a packet this recently: a flood of
    /// new flows is refused instead of tearing down live ones.</summary>
    private static readonly long MinIdleToEvict = TimeSpan.FromSeconds(1).Ticks;

    private int _fragmentId;
    private readonly Ipv4Reassembly _reassembly = new();

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

    /// <summary>The host could not open a socket toward the destination: what a router without a
    /// route (or behind a filter) says, from the gateway.</summary>
    private void OpenFailed(NatProtocol protocol, MacAddress guestMac, in FlowKey key, ReadOnlySpan<byte> quote, SocketError error)
    {
        Statistics.CountRefused(protocol);
        byte code = error switch
        {
            SocketError.NetworkUnreachable => 0,
            SocketError.HostUnreachable => 1,
            _ => 13,   // EACCES (a broadcast address, a host firewall), no ICMP socket, out of descriptors
        };
        _replies.Counters.CountDrop(DropReason.TransmitFailed);
        SendUnreachable(guestMac, key, code, quote, fromGateway: true);
    }

    /// <summary>Takes a place for a new datagram flow. When the endpoint's share is full, its own
    /// idlest flow of the protocol makes room; when the network's table is, the idlest of anyone's
    /// does; then it tries once more, and a place an eviction freed may go to another thread first
    /// (the counts, not the eviction, keep the cap). A refusal is counted, logged (rate-limited) and
    /// answered with ICMP administratively prohibited from the gateway.</summary>
    private bool AdmitDatagram<T>(FlowShare share, ConcurrentDictionary<FlowKey, T> table, NatProtocol protocol,
        MacAddress guestMac, in FlowKey key, ReadOnlySpan<byte> quote) where T : DatagramFlow
    {
        var refusal = TryAdmit(share, protocol);
        if (refusal is FlowRefusal.EndpointLimit or FlowRefusal.NetworkLimit
            && EvictIdlest(table, protocol, refusal == FlowRefusal.EndpointLimit ? share : null))
            refusal = TryAdmit(share, protocol);
        if (refusal == FlowRefusal.None) return true;
        CountRefusal(share, protocol, refusal);
        Refuse(guestMac, key, quote);
        return false;
    }

    /// <summary>Closes the flow (of <paramref name="owner"/>'s endpoint, or anyone's) that has been
    /// idle longest, if it has been idle a while; false when every flow is live.</summary>
    private bool EvictIdlest<T>(ConcurrentDictionary<FlowKey, T> table, NatProtocol protocol, FlowShare? owner) where T : DatagramFlow
    {
        T? idlest = null;
        long oldest = long.MaxValue;
        foreach (var entry in table)
        {
            if (owner is not null && entry.Value.Share != owner) continue;
            long t = entry.Value.LastActive;
            if (t < oldest) { oldest = t; idlest = entry.Value; }
        }
        if (idlest is null || NowTicks - oldest < MinIdleToEvict) return false;
        idlest.Close();
        Statistics.CountEvicted(protocol);
        return true;
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
}
