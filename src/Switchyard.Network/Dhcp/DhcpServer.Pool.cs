using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Network.Dhcp;

// Clients without an endpoint: the same exchange as an endpoint's (RFC 2131 section 4.3), with the
// address chosen by the pool instead of IPAM, and the client's Host Name option (RFC 2132 section
// 3.14) kept as its DNS name.
public sealed partial class DhcpServer
{
    private int HandlePooled(DhcpPool pool, in DhcpMessageReader msg, DhcpMessageType type, MacAddress client, Span<byte> reply, out bool broadcast)
    {
        broadcast = false;
        if (pool.Range is null) return 0;   // no range: not ours, as without a pool
        var hostName = HostNameOption.ToLabel(msg.HostName);
        switch (type)
        {
            case DhcpMessageType.Discover:
                if (!pool.TryOffer(client, msg.RequestedIpAddress, hostName, out var offered)) return 0;   // exhausted: counted by the pool
                broadcast = msg.BroadcastFlag;
                return WriteReply(msg, DhcpMessageType.Offer, Binding(pool, client, offered), reply);

            case DhcpMessageType.Request:
                {
                    // Section 4.3.2, as for endpoints: another server's SELECTING is not ours.
                    if (msg.ServerIdentifier is { } sid && sid != _options.ServerAddress) return 0;
                    var wanted = msg.RequestedIpAddress ?? msg.ClientAddress;
                    if (!pool.TryBind(client, wanted, hostName, out _))
                    {
                        broadcast = true;
                        return WriteNak(msg, reply);
                    }
                    broadcast = msg.BroadcastFlag;
                    return WriteReply(msg, DhcpMessageType.Ack, Binding(pool, client, wanted), reply);
                }

            case DhcpMessageType.Decline:
                if (msg.RequestedIpAddress is { } declined) pool.Decline(client, declined);
                return 0;

            case DhcpMessageType.Release:
                pool.Release(client, msg.ClientAddress);
                return 0;

            case DhcpMessageType.Inform:
                return WriteReply(msg, DhcpMessageType.Ack, new DhcpBinding("", Ipv4Address.Any), reply, inform: true);

            default:
                return 0;
        }
    }

    /// <summary>The reply names the client by the DNS name it was given (none when its name was taken).</summary>
    private static DhcpBinding Binding(DhcpPool pool, MacAddress client, Ipv4Address address) =>
        new(pool.TryGet(client, out var guest) ? guest.HostName ?? "" : "", address);
}
