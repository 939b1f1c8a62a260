using PacketDotNet;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Dhcp;

public sealed class DhcpThroughGatewayTests : IDisposable
{
    private readonly FakeEvents _events = new();
    private readonly VirtualNetwork _net;
    private readonly FakeTransport _a;

    public DhcpThroughGatewayTests()
    {
        _net = Create(events: _events);
        _a = Attach(_net, "alpha", MacA, IpA);
    }

    public void Dispose() => _net.Dispose();

    private static byte[] ClientFrame(DhcpMessageType type, Ipv4Address ciaddr = default, Ipv4Address? requested = null, Ipv4Address? serverId = null,
        uint xid = 0x01020304)
    {
        var msg = new byte[400];
        int n = DhcpClientMessage.WriteRequest(msg, type, xid, MacA, ciaddr, requested, serverId, [1, 3, 6]);
        var src = ciaddr.IsAny ? Ipv4Address.Any : ciaddr;
        return Frames.Udp(MacAddress.Broadcast, MacA, src, Ipv4Address.Broadcast, 68, 67, msg.AsSpan(0, n));
    }

    [Fact]
    public void Discover_ProducesOfferFrameOnTheSamePort()
    {
        _a.Inject(ClientFrame(DhcpMessageType.Discover));
        var frame = Assert.Single(_a.Sent);

        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        Assert.Equal(MacA.ToString(), Gateway.GatewayPortTests.Mac(eth.DestinationHardwareAddress));
        Assert.Equal(GatewayMac.ToString(), Gateway.GatewayPortTests.Mac(eth.SourceHardwareAddress));
        var ip = eth.Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(GatewayIp.ToString(), ip.SourceAddress.ToString());
        Assert.Equal(IpA.ToString(), ip.DestinationAddress.ToString()); // unicast to yiaddr (no broadcast flag)
        var udp = eth.Extract<UdpPacket>();
        Assert.Equal(67, udp.SourcePort);
        Assert.Equal(68, udp.DestinationPort);
        Assert.True(udp.ValidUdpChecksum);
        var dhcp = eth.Extract<DhcpV4Packet>();
        Assert.NotNull(dhcp);
        Assert.Equal(DhcpV4MessageType.Offer, dhcp.MessageType);
        Assert.Equal(0x01020304u, dhcp.TransactionId);
        Assert.Equal(IpA.ToString(), dhcp.YourAddress.ToString());

        // Ours agrees.
        Assert.True(Frames.TryIpv4(frame, out var ours));
        Assert.True(UdpDatagram.TryParse(ours.Payload, out var oursUdp));
        Assert.True(DhcpMessageReader.TryParse(oursUdp.Payload, out var reply));
        Assert.Equal(DhcpMessageType.Offer, reply.MessageType);
        Assert.Equal(GatewayIp, reply.ServerIdentifier);

        Assert.Equal(("alpha", IpA, LeaseState.Offered), Assert.Single(_events.Leases));
    }

    [Fact]
    public void FullExchange_DiscoverRequestAckRelease()
    {
        _a.Inject(ClientFrame(DhcpMessageType.Discover));
        _a.Inject(ClientFrame(DhcpMessageType.Request, requested: IpA, serverId: GatewayIp));
        Assert.Equal(2, _a.Sent.Count);
        Assert.True(Frames.TryIpv4(_a.Sent[1], out var ip));
        Assert.True(UdpDatagram.TryParse(ip.Payload, out var udp));
        Assert.True(DhcpMessageReader.TryParse(udp.Payload, out var ack));
        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal(IpA, ack.YourAddress);

        // RELEASE comes from the bound address, unicast to the server.
        var msg = new byte[400];
        int n = DhcpClientMessage.WriteRequest(msg, DhcpMessageType.Release, 9, MacA, IpA, serverId: GatewayIp);
        _a.Inject(Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, 68, 67, msg.AsSpan(0, n)));
        Assert.Equal(2, _a.Sent.Count);
        Assert.Equal([LeaseState.Offered, LeaseState.Bound, LeaseState.Released], _events.Leases.Select(l => l.State));
    }

    [Fact]
    public void NakForWrongAddress_IsBroadcast()
    {
        _a.Inject(ClientFrame(DhcpMessageType.Request, requested: Ipv4Address.Parse("10.88.0.200")));
        var frame = Assert.Single(_a.Sent);
        Assert.True(EthernetFrame.TryParse(frame, out var eth));
        Assert.Equal(MacAddress.Broadcast, eth.Destination);
        Assert.True(Ipv4Packet.TryParse(eth.Payload, out var ip));
        Assert.Equal(Ipv4Address.Broadcast, ip.Destination);
    }

    [Fact]
    public void Decline_MovesTheGuardToTheReplacement()
    {
        var next = Ipv4Address.Parse("10.88.0.50");
        _events.Declined = (endpoint, _) => _net.Reassign(endpoint, next);   // as the daemon's writer does, later
        _a.Inject(ClientFrame(DhcpMessageType.Decline, requested: IpA, serverId: GatewayIp));
        Assert.Empty(_a.Sent);
        Assert.True(_net.TryGetEndpoint("alpha", out var port));
        Assert.Equal(next, port.Ipv4);
        _a.Inject(ClientFrame(DhcpMessageType.Discover));
        Assert.True(Frames.TryIpv4(Assert.Single(_a.Sent), out var ip));
        Assert.Equal(next, ip.Destination);
    }
}
