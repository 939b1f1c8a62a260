using Switchyard.Network.Dhcp;
using Switchyard.Packets;

namespace Switchyard.Network.Switching;

/// <summary>
/// Anti-spoofing for what comes out of a VXLAN tunnel on the network's gateway host. VXLAN has no
/// authentication (RFC 7348 section 7), and the guests behind it are not ours to pin at attach, so
/// the gateway's own DHCP server is the authority, as DHCP snooping is on a bridged network: a remote
/// MAC may send IPv4 (and ARP) only from the address the <see cref="DhcpPool"/> bound to it and has
/// not expired, or from 0.0.0.0 to a DHCP server (RFC 2131 section 4.1). Frames from unknown
/// addresses therefore never reach the gateway's NAT, DNS or host loopback, nor the local guests.
/// <para>Also refused: a source MAC that is one of ours (the gateway's or a local endpoint's; the
/// switch would otherwise move that MAC onto the tunnel), group or zero source MACs, a second VLAN
/// tag, DHCP server replies (only the gateway serves this segment), and IPv6 other than from the
/// MAC's own EUI-64 link-local or SLAAC address, with the same RA guard as a local port.</para>
/// <para>Runs per frame on the tunnel's receive thread: lock-free reads, no allocation.</para>
/// </summary>
public sealed class TunnelGuard
{
    private readonly DhcpPool? _pool;
    private readonly Func<MacAddress, bool> _isLocal;
    private readonly TimeProvider _time;
    private readonly Ipv6Prefix? _ipv6;

    /// <param name="pool">The leases of remote guests; null (a network with no pool): no remote IPv4 at all.</param>
    /// <param name="isLocal">Whether a MAC is the gateway's or a local endpoint's.</param>
    public TunnelGuard(DhcpPool? pool, Func<MacAddress, bool> isLocal, TimeProvider time, Ipv6Prefix? ipv6)
    {
        _pool = pool;
        _isLocal = isLocal;
        _time = time;
        _ipv6 = ipv6;
    }

    public bool Allows(in EthernetFrame frame, out DropReason reason)
    {
        reason = DropReason.SpoofedMac;
        var source = frame.Source;
        if (source.IsMulticast || source == MacAddress.Zero || _isLocal(source)) return false;
        switch (frame.EtherType)
        {
            case EtherType.Vlan or EtherType.QinQ or 0x9100:
                reason = DropReason.Policy;
                return false;
            case EtherType.IPv4:
                if (!Ipv4Packet.TryParse(frame.Payload, out var ip)) { reason = DropReason.Malformed; return false; }
                bool fromDhcpPort = ip.Protocol == IpProtocol.Udp && !ip.IsFragment && UdpDatagram.TryParse(ip.Payload, out var udp) && udp.SourcePort == DhcpServer.ServerPort;
                if (fromDhcpPort) { reason = DropReason.Policy; return false; }
                if (ip.Source.IsAny ? IsDhcpToServer(ip) : IsBound(source, ip.Source)) return true;
                reason = DropReason.SpoofedIp;
                return false;
            case EtherType.Arp:
                if (!ArpPacket.TryParse(frame.Payload, out var arp)) { reason = DropReason.Malformed; return false; }
                if (arp.SenderMac != source) return false;
                // 0.0.0.0: an ARP probe (RFC 5227 section 2.1.1) before the address is used.
                if (arp.SenderIp.IsAny || IsBound(source, arp.SenderIp)) return true;
                reason = DropReason.SpoofedIp;
                return false;
            case EtherType.IPv6:
                var p = frame.Payload;
                if (p.Length < 40) { reason = DropReason.Malformed; return false; }
                var src = Ipv6Address.Read(p[8..]);
                if (!(src.IsUnspecified ? p[6] is IpProtocol.Icmpv6 or 0 : IsOwnIpv6(source, src))) { reason = DropReason.SpoofedIp; return false; }
                return PortGuard.PassesRaGuard(p, out reason);
            default:
                return true;
        }
    }

    private bool IsBound(MacAddress mac, Ipv4Address address) =>
        _pool is { } pool && pool.TryGet(mac, out var guest) && guest.Address == address && guest.IsBound(_time.GetUtcNow().UtcTicks);

    private bool IsOwnIpv6(MacAddress mac, Ipv6Address a) =>
        a.Low == Ipv6Address.InterfaceId(mac) && (a == Ipv6Address.LinkLocal(mac) || (_ipv6 is { } prefix && prefix.Contains(a)));

    private static bool IsDhcpToServer(in Ipv4Packet ip) =>
        ip.Protocol == IpProtocol.Udp && !ip.IsFragment && UdpDatagram.TryParse(ip.Payload, out var udp)
        && udp.SourcePort == DhcpServer.ClientPort && udp.DestinationPort == DhcpServer.ServerPort;
}
