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

// "May this flow go there?": the one place every new flow, whatever its protocol, is checked.
// In order: multicast and reserved destinations (never translated), where the destination maps
// on the host (the gateway's addresses are the host's loopback when host loopback is on; the
// outside only in nat mode, and never this network's own subnet or prefix, loopback, link-local
// or "this network"; an internal network has no NAT at all, the gateway refuses for it), then
// the egress policy (docs/egress.md), which governs the outside but not the host's loopback.
public sealed partial class NatEngine
{
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

    /// <summary>What <see cref="CheckNewFlow"/> says about a new flow.</summary>
    private enum FlowPath
    {
        /// <summary>It may open, toward the host address given.</summary>
        Open,
        /// <summary>A multicast or reserved destination: never translated.</summary>
        Multicast,
        /// <summary>A destination this network may not reach (its mode, host loopback off, its own subnet...).</summary>
        Unreachable,
        /// <summary>The egress policy refused it (and recorded so).</summary>
        Denied,
    }

    /// <summary>May a new flow from the guest at <paramref name="guestMac"/> go to
    /// <paramref name="key"/>'s remote? The one check every protocol makes before it opens a host
    /// socket; each answers a refusal its own way (TCP with a RST, datagrams with ICMP).
    /// <paramref name="target"/> is where the flow goes on the host; <paramref name="inspect"/>
    /// whether a TCP flow allowed by name must show an allowed server name in its first bytes.</summary>
    private FlowPath CheckNewFlow(MacAddress guestMac, in FlowKey key, ProtocolType protocol, int port, out IPAddress target, out bool inspect)
    {
        target = IPAddress.None;
        inspect = false;
        if (key.IsIpv4 ? key.RemoteIpv4.Value >> 28 >= 0xE : key.RemoteIp.IsMulticast) return FlowPath.Multicast;
        if (MapDestination(key.RemoteIp) is not { } mapped) return FlowPath.Unreachable;
        if (!EgressAllows(guestMac, key.RemoteIp, protocol, mapped, port, out inspect)) return FlowPath.Denied;
        target = mapped;
        return FlowPath.Open;
    }

    /// <summary>Whether a new datagram flow (UDP, ICMP echo) may open, and the host address it
    /// maps to (<see cref="CheckNewFlow"/>). A destination this network may not reach, or one the
    /// egress policy refuses, gets ICMP admin prohibited from the gateway; multicast and reserved
    /// destinations are dropped silently (no ICMP error answers a datagram to a multicast address,
    /// RFC 1122 §3.2.2).</summary>
    private bool MayOpen(MacAddress guestMac, in FlowKey key, ReadOnlySpan<byte> quote, ProtocolType protocol, int port, out IPAddress target)
    {
        target = IPAddress.None;
        if (Volatile.Read(ref _disposed) != 0) return false;
        var path = CheckNewFlow(guestMac, key, protocol, port, out target, out _);
        if (path == FlowPath.Open) return true;
        Statistics.CountRefused(protocol == ProtocolType.Udp ? NatProtocol.Udp : NatProtocol.Icmp);
        if (path == FlowPath.Multicast) _replies.Counters.CountDrop(DropReason.Policy);
        else Refuse(guestMac, key, quote);
        return false;
    }

    /// <summary>ICMP destination unreachable, communication administratively prohibited (RFC 1812
    /// §5.2.7.1; ICMPv6 code 1, RFC 4443 §3.1), from the gateway: the network's policy or its
    /// flow table says no.</summary>
    private void Refuse(MacAddress guestMac, in FlowKey key, ReadOnlySpan<byte> quote)
    {
        _replies.Counters.CountDrop(DropReason.Policy);
        SendUnreachable(guestMac, key, 13, quote, fromGateway: true);
    }
}
