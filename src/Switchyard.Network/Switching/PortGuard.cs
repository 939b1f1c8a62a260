using System.Buffers.Binary;
using Switchyard.Packets;

namespace Switchyard.Network.Switching;

/// <summary>What a guest port may send: its own MAC, and IPv4 only from its assigned address
/// (or from 0.0.0.0 to the DHCP server, RFC 2131 §4.1). IPv6 is limited to the unspecified
/// address (duplicate address detection, RFC 4862 §5.4) and link-local addresses until the
/// network hands out IPv6 addresses of its own.</summary>
public sealed class PortGuard
{
    private volatile uint _ipv4;

    public PortGuard(MacAddress mac, Ipv4Address ipv4)
    {
        Mac = mac;
        _ipv4 = ipv4.Value;
    }

    public MacAddress Mac { get; }
    public Ipv4Address Ipv4 => new(_ipv4);

    /// <summary>Changes the allowed address (after a DHCP DECLINE moved the endpoint).</summary>
    public void SetIpv4(Ipv4Address address) => _ipv4 = address.Value;

    public bool Allows(in EthernetFrame frame, out DropReason reason)
    {
        reason = default;
        if (frame.Source != Mac) { reason = DropReason.SpoofedMac; return false; }
        switch (frame.EtherType)
        {
            case EtherType.IPv4:
                if (!Ipv4Packet.TryParse(frame.Payload, out var ip)) { reason = DropReason.Malformed; return false; }
                if (ip.Source == Ipv4) return true;
                if (ip.Source.IsAny && IsDhcpToServer(ip)) return true;
                reason = DropReason.SpoofedIp;
                return false;
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
                var src = p.Slice(8, 16);
                bool unspecified = BinaryPrimitives.ReadUInt64BigEndian(src) == 0 && BinaryPrimitives.ReadUInt64BigEndian(src[8..]) == 0;
                bool linkLocal = src[0] == 0xFE && (src[1] & 0xC0) == 0x80;
                if (unspecified || linkLocal) return true;
                reason = DropReason.SpoofedIp;
                return false;
            default:
                // Other EtherTypes (LLDP, LLC) carry no IP source to check; the MAC check above holds.
                return true;
        }
    }

    private static bool IsDhcpToServer(in Ipv4Packet ip) =>
        ip.Protocol == IpProtocol.Udp && !ip.IsFragment && UdpDatagram.TryParse(ip.Payload, out var udp)
        && udp.SourcePort == 68 && udp.DestinationPort == 67;
}
