using System.Net.Sockets;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Daemon.Tests.Infrastructure;

/// <summary>A guest at frame level on a dgram endpoint: its own unix datagram socket, sending
/// DHCP client messages as Ethernet frames and reading the gateway's replies.</summary>
internal sealed class DhcpGuest : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly UnixDomainSocketEndPoint _daemon;

    public DhcpGuest(string ownPath, string daemonPath, MacAddress mac)
    {
        Mac = mac;
        _socket.Bind(new UnixDomainSocketEndPoint(ownPath));
        _daemon = new UnixDomainSocketEndPoint(daemonPath);
    }

    public MacAddress Mac { get; }

    public void Send(DhcpMessageType type, uint xid, Ipv4Address? requested = null, Ipv4Address? serverId = null)
    {
        var frame = new byte[600];
        int len = DhcpClientMessage.WriteRequest(frame.AsSpan(EthernetFrameWriter.UdpPayloadOffset), type, xid, Mac,
            requested: requested, serverId: serverId, parameterRequestList: [1, 3, 6]);
        int n = EthernetFrameWriter.FinishUdp(frame, MacAddress.Broadcast, Mac, Ipv4Address.Any, Ipv4Address.Broadcast, 68, 67, len);
        _socket.SendTo(frame.AsSpan(0, n), SocketFlags.None, _daemon);
    }

    /// <summary>The next DHCP reply of type <paramref name="type"/> for <paramref name="xid"/> (other frames are skipped): its yiaddr.</summary>
    public async Task<Ipv4Address> ReceiveAsync(DhcpMessageType type, uint xid, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[2048];
        while (true)
        {
            int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (TryRead(buffer.AsSpan(0, n), type, xid, out var yiaddr)) return yiaddr;
        }
    }

    private static bool TryRead(ReadOnlySpan<byte> frame, DhcpMessageType type, uint xid, out Ipv4Address yiaddr)
    {
        yiaddr = default;
        if (!EthernetFrame.TryParse(frame, out var eth) || !Ipv4Packet.TryParse(eth.Payload, out var ip)
            || !UdpDatagram.TryParse(ip.Payload, out var udp) || !DhcpMessageReader.TryParse(udp.Payload, out var dhcp)) return false;
        if (dhcp.MessageType != type || dhcp.TransactionId != xid) return false;
        yiaddr = dhcp.YourAddress;
        return true;
    }

    public void Dispose() => _socket.Dispose();
}
