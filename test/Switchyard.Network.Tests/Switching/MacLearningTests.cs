using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Network.Tests.Switching;

/// <summary>A VM on a socket transport chooses its own MAC: the port takes the first unicast
/// source MAC it sends, and holds it from then on.</summary>
public sealed class MacLearningTests
{
    private static readonly MacAddress Placeholder = MacAddress.Parse("02:00:00:00:00:99");
    private static readonly MacAddress VmMac = MacAddress.Parse("52:54:00:12:34:56");

    [Fact]
    public void The_first_frame_pins_the_mac_and_dhcp_knows_the_vm_by_it()
    {
        var events = new FakeEvents();
        using var net = TestNetwork.Create(events: events);
        var t = new FakeTransport();
        var port = net.Attach(new EndpointConfig("vm", Placeholder, TestNetwork.IpA, LearnMac: true), t);

        var discover = new byte[600];
        int len = DhcpClientMessage.WriteRequest(discover.AsSpan(EthernetFrameWriter.UdpPayloadOffset), DhcpMessageType.Discover, 0x1234, VmMac);
        int n = EthernetFrameWriter.FinishUdp(discover, MacAddress.Broadcast, VmMac, Ipv4Address.Any, Ipv4Address.Broadcast, 68, 67, len);
        t.Inject(discover.AsSpan(0, n));

        Assert.Equal(VmMac, port.Mac);
        Assert.Equal(("vm", VmMac), Assert.Single(events.LearnedMacs));
        var offer = Assert.Single(t.Sent, f => f.Length > 300);
        var ip = Frames.TryIpv4(offer, out var packet) ? packet.Destination : default;
        Assert.True(ip == TestNetwork.IpA || ip == Ipv4Address.Broadcast);

        // Another MAC afterwards is spoofing, and the MAC stays.
        var other = Frames.Udp(TestNetwork.GatewayMac, MacAddress.Parse("52:54:00:00:00:01"), TestNetwork.IpA, TestNetwork.GatewayIp, 1, 9, new byte[4]);
        t.Inject(other);
        Assert.Equal(1, port.Counters.Dropped(Network.Switching.DropReason.SpoofedMac));
        Assert.Equal(VmMac, port.Mac);
        Assert.Single(events.LearnedMacs);
    }

    [Fact]
    public void A_given_mac_is_never_replaced()
    {
        using var net = TestNetwork.Create();
        var t = new FakeTransport();
        var port = net.Attach(new EndpointConfig("vm", Placeholder, TestNetwork.IpA), t);
        t.Inject(Frames.Udp(TestNetwork.GatewayMac, VmMac, TestNetwork.IpA, TestNetwork.GatewayIp, 1, 9, new byte[4]));
        Assert.Equal(Placeholder, port.Mac);
        Assert.Equal(1, port.Counters.Dropped(Network.Switching.DropReason.SpoofedMac));
    }
}
