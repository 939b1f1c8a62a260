using System.Buffers.Binary;
using Switchyard.Packets;

namespace Switchyard.Network.Switching;

/// <summary>What a guest port may send: its own MAC, and IPv4 only from its assigned address
/// (or from 0.0.0.0 to the DHCP server, RFC 2131 §4.1). IPv6 only from the addresses its MAC
/// gives it: the EUI-64 link-local address (RFC 4862 §5.3, RFC 4291 Appendix A), the SLAAC
/// address in the network's /64 on IPv6 networks, and the unspecified address for ICMPv6 and
/// hop-by-hop (MLD) messages only (duplicate address detection, RFC 4862 §5.4; MLD, RFC 3810 §5.2.13).
/// Stable-privacy (RFC 7217) and temporary (RFC 8981) addresses are refused: see docs/architecture.md.</summary>
public sealed class PortGuard
{
    private volatile uint _ipv4;
    private long _mac;
    private int _learning;

    /// <param name="learnMac">The VM chooses its own MAC (a socket transport without --mac):
    /// the first unicast source MAC the port sends becomes its MAC for the port's lifetime.</param>
    /// <param name="mayLearn">Whether a MAC may be taken: never the gateway's or another port's,
    /// or a VM could draw their unicast traffic to itself.</param>
    public PortGuard(MacAddress mac, Ipv4Address ipv4, bool learnMac = false, Func<MacAddress, bool>? mayLearn = null, Ipv6Prefix? ipv6 = null)
    {
        _ipv6 = ipv6;
        _mac = (long)mac.Value;
        _ipv4 = ipv4.Value;
        _learning = learnMac ? 1 : 0;
        _mayLearn = mayLearn;
    }

    private readonly Func<MacAddress, bool>? _mayLearn;
    private readonly Ipv6Prefix? _ipv6;

    public MacAddress Mac => new((ulong)Volatile.Read(ref _mac));
    public Ipv4Address Ipv4 => new(_ipv4);
    public bool Learning => Volatile.Read(ref _learning) != 0;

    /// <summary>Raised once, on the port's receive thread, when a learning guard pins its MAC.</summary>
    public event Action<MacAddress>? MacLearned;

    /// <summary>Changes the allowed address (after a DHCP DECLINE moved the endpoint).</summary>
    public void SetIpv4(Ipv4Address address) => _ipv4 = address.Value;

    public bool Allows(in EthernetFrame frame, out DropReason reason)
    {
        reason = default;
        if (Volatile.Read(ref _learning) != 0 && !frame.Source.IsMulticast && frame.Source != MacAddress.Zero
            && (_mayLearn?.Invoke(frame.Source) ?? true) && Interlocked.Exchange(ref _learning, 0) != 0)
        {
            Volatile.Write(ref _mac, (long)frame.Source.Value);
            MacLearned?.Invoke(frame.Source);
        }
        if (frame.Source != Mac) { reason = DropReason.SpoofedMac; return false; }
        switch (frame.EtherType)
        {
            case EtherType.Vlan or EtherType.QinQ or 0x9100:
                // A second tag: the parser looked under one only, so the payload's source address
                // would go unchecked, and a receiving kernel may strip both (priority tags).
                reason = DropReason.Policy;
                return false;
            case EtherType.IPv4:
                if (!Ipv4Packet.TryParse(frame.Payload, out var ip)) { reason = DropReason.Malformed; return false; }
                // No address yet (a bridged guest before the LAN's DHCPACK): DHCP from 0.0.0.0 only.
                if ((ip.Source != Ipv4 || Ipv4.IsAny) && !(ip.Source.IsAny && IsDhcpToServer(ip))) { reason = DropReason.SpoofedIp; return false; }
                // Guests are DHCP clients; only the gateway serves (a rogue server's OFFER is dropped).
                if (ip.Protocol == IpProtocol.Udp && !ip.IsFragment && UdpDatagram.TryParse(ip.Payload, out var fromServer)
                    && fromServer.SourcePort == 67) { reason = DropReason.Policy; return false; }
                return true;
            case EtherType.Arp:
                if (!ArpPacket.TryParse(frame.Payload, out var arp)) { reason = DropReason.Malformed; return false; }
                if (arp.SenderMac != Mac) { reason = DropReason.SpoofedMac; return false; }
                // 0.0.0.0 is an ARP probe (RFC 5227 §2.1.1) sent before an address is used.
                if (arp.SenderIp == Ipv4 || arp.SenderIp.IsAny) return true;
                reason = DropReason.SpoofedIp;
                return false;
            case EtherType.IPv6:
                var p = frame.Payload;
                if (p.Length < 40) { reason = DropReason.Malformed; return false; }
                var src = Ipv6Address.Read(p[8..]);
                if (!(src.IsUnspecified ? p[6] is IpProtocol.Icmpv6 or 0 : IsOwnIpv6(src))) { reason = DropReason.SpoofedIp; return false; }
                return PassesRaGuard(p, out reason);
            default:
                // Other EtherTypes (LLDP, LLC) carry no IP source to check; the MAC check above holds.
                return true;
        }
    }

    /// <summary>
    /// RA guard (RFC 6105) over the whole header chain (RFC 7113 §3): guests never send router
    /// advertisements or redirects, nor DHCPv6 server messages (RFC 7610), however many extension
    /// headers come first. A first fragment must hold the whole chain and the upper-layer header
    /// (RFC 7112 §5), or what it hides cannot be judged; later fragments pass, as the first was
    /// judged and a host cannot reassemble without it.
    /// </summary>
    internal static bool PassesRaGuard(ReadOnlySpan<byte> p, out DropReason reason)
    {
        reason = DropReason.Policy;
        switch (Ipv6HeaderChain.Walk(p, out byte protocol, out int at, out bool firstFragment))
        {
            case Ipv6ChainResult.LaterFragment:
                return true;
            case Ipv6ChainResult.Truncated:
                reason = DropReason.Malformed;
                return false;
        }
        var upper = p[at..];
        // Too short to say what it is: harmless whole (a receiver drops it), hiding the rest when
        // it is a first fragment. Type, code and checksum are the least of an ICMPv6 header
        // (RFC 4443 §2.1); a DHCPv6 server or relay speaks from port 547 (RFC 8415 §7.2).
        return protocol switch
        {
            IpProtocol.Icmpv6 when upper.Length < 4 => !firstFragment,
            IpProtocol.Icmpv6 => upper[0] is not (134 or 137),
            IpProtocol.Udp when upper.Length < UdpDatagram.HeaderLength => !firstFragment,
            IpProtocol.Udp => BinaryPrimitives.ReadUInt16BigEndian(upper) != 547,
            _ => true,
        };
    }

    /// <summary>Whether <paramref name="a"/> is one of the port's IPv6 addresses, by its MAC now.</summary>
    private bool IsOwnIpv6(Ipv6Address a)
    {
        ulong interfaceId = Ipv6Address.InterfaceId(Mac);
        if (a.Low != interfaceId) return false;
        return a == Ipv6Address.LinkLocal(Mac) || (_ipv6 is { } prefix && prefix.Contains(a));
    }

    private static bool IsDhcpToServer(in Ipv4Packet ip) =>
        ip.Protocol == IpProtocol.Udp && !ip.IsFragment && UdpDatagram.TryParse(ip.Payload, out var udp)
        && udp.SourcePort == 68 && udp.DestinationPort == 67;
}
