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
    private long _mac;
    private int _learning;

    /// <param name="learnMac">The VM chooses its own MAC (a socket transport without --mac):
    /// the first unicast source MAC the port sends becomes its MAC for the port's lifetime.</param>
    public PortGuard(MacAddress mac, Ipv4Address ipv4, bool learnMac = false)
    {
        _mac = (long)mac.Value;
        _ipv4 = ipv4.Value;
        _learning = learnMac ? 1 : 0;
    }

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
            && Interlocked.Exchange(ref _learning, 0) != 0)
        {
            Volatile.Write(ref _mac, (long)frame.Source.Value);
            MacLearned?.Invoke(frame.Source);
        }
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
