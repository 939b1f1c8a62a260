using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Network.Switching;

/// <summary>On a bridged network the LAN's DHCP server, not ours, gives a guest its address, so the
/// guard cannot pin it up front. The uplink's frames are watched for DHCPACKs (RFC 2131 §4.3.1)
/// instead, and the address acknowledged for a guest's MAC (chaddr) becomes the only IPv4 source
/// that guest may use, as switches' "DHCP snooping" does.</summary>
public static class DhcpSnooping
{
    /// <summary>True when <paramref name="frame"/> is a DHCPACK from a server (UDP 67 to 68) with an
    /// address for <paramref name="client"/>, leased for <paramref name="leaseTime"/> (option 51,
    /// RFC 2132 §9.2; <see cref="TimeSpan.MaxValue"/> when absent or infinite).</summary>
    public static bool TryReadAck(ReadOnlySpan<byte> frame, out MacAddress client, out Ipv4Address address, out TimeSpan leaseTime)
    {
        client = default;
        address = default;
        leaseTime = default;
        if (!EthernetFrame.TryParse(frame, out var eth) || eth.EtherType != EtherType.IPv4) return false;
        if (!Ipv4Packet.TryParse(eth.Payload, out var ip) || ip.Protocol != IpProtocol.Udp || ip.IsFragment) return false;
        if (!UdpDatagram.TryParse(ip.Payload, out var udp) || udp.SourcePort != 67 || udp.DestinationPort != 68) return false;
        if (!DhcpMessageReader.TryParse(udp.Payload, out var dhcp) || dhcp.MessageType != DhcpMessageType.Ack) return false;
        // An ACK to an INFORM (RFC 2131 §4.3.5) carries no address: yiaddr is 0.
        if (dhcp.YourAddress.IsAny) return false;
        client = dhcp.ClientHardwareAddress;
        address = dhcp.YourAddress;
        leaseTime = dhcp.TryGetOption(DhcpOption.LeaseTime, out var lease) && lease.Length == 4
            && System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(lease) is var seconds && seconds != uint.MaxValue
            ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
        return true;
    }
}
