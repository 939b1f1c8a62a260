using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Switching;

/// <summary>A bridged network with a fake uplink: no gateway on the switch, the uplink told the
/// guests' MACs, and the LAN's DHCPACK pinning a guest's address.</summary>
public sealed class BridgedNetworkTests : IDisposable
{
    private static readonly MacAddress LanServerMac = MacAddress.Parse("02:1a:00:00:00:01");
    private static readonly Ipv4Address LanServer = Ipv4Address.Parse("192.0.2.1");
    private static readonly Ipv4Address Leased = Ipv4Address.Parse("192.0.2.77");

    private readonly FakeEvents _events = new();
    private readonly FakeUplink _uplink = new();
    private readonly VirtualNetwork _net;

    public BridgedNetworkTests()
    {
        _net = new VirtualNetwork(new NetworkConfig("br", NetworkMode.Bridged, Subnet, 1500, Domain, GatewayMac, () => [], TimeSpan.FromHours(1)),
            _events, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, _uplink);
    }

    public void Dispose() => _net.Dispose();

    private sealed class FakeUplink : IUplinkTransport
    {
        public FakeTransport Frames { get; } = new();
        public List<MacAddress[]> GuestSets { get; } = [];
        public string Interface => "lan0";
        public string Kind => "fake-uplink";
        public bool SupportsOffload => false;
        public void SetGuests(IReadOnlyCollection<MacAddress> macs) { lock (GuestSets) GuestSets.Add([.. macs]); }
        public void Start(FrameHandler onFrame) => Frames.Start(onFrame);
        public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) => Frames.TrySend(frame, offload);
        public void Dispose() => Frames.Dispose();
    }

    private static byte[] Ack(MacAddress client, Ipv4Address address, uint leaseSeconds)
    {
        var request = new byte[400];
        int n = DhcpClientMessage.WriteRequest(request, DhcpMessageType.Request, 0x0badcafe, client, Ipv4Address.Any, address, LanServer, [1, 3]);
        Assert.True(DhcpMessageReader.TryParse(request.AsSpan(0, n), out var reader));
        var reply = new byte[400];
        var writer = new DhcpMessageWriter(reply);
        writer.WriteReplyHeader(reader, address, LanServer);
        Assert.True(writer.TryWriteMessageType(DhcpMessageType.Ack));
        Assert.True(writer.TryWriteAddress(DhcpOption.ServerIdentifier, LanServer));
        Assert.True(writer.TryWriteUInt32(DhcpOption.LeaseTime, leaseSeconds));
        int length = writer.Finish();
        return Infrastructure.Frames.Udp(client, LanServerMac, LanServer, address, 67, 68, reply.AsSpan(0, length));
    }

    [Fact]
    public void The_gateway_is_not_on_the_switch_and_the_uplink_is()
    {
        Assert.DoesNotContain(_net.Gateway, _net.Switch.Ports);
        Assert.Contains(_net.Uplink!, _net.Switch.Ports);
        Assert.Null(_net.Nat);
        Assert.Null(_net.Forwarder);
    }

    [Fact]
    public void A_guest_DHCP_discover_goes_to_the_LAN_and_no_one_here_answers()
    {
        var guest = new FakeTransport();
        _net.Attach(new EndpointConfig("a", MacA, Ipv4Address.Any), guest);
        var msg = new byte[400];
        int n = DhcpClientMessage.WriteRequest(msg, DhcpMessageType.Discover, 1, MacA, Ipv4Address.Any, null, null, [1, 3]);
        guest.Inject(Infrastructure.Frames.Udp(MacAddress.Broadcast, MacA, Ipv4Address.Any, Ipv4Address.Broadcast, 68, 67, msg.AsSpan(0, n)));
        Assert.Single(_uplink.Frames.Sent);
        Assert.Empty(guest.Sent);
    }

    [Fact]
    public void The_uplink_knows_the_guests_MACs_as_they_come_and_go()
    {
        _net.Attach(new EndpointConfig("a", MacA, Ipv4Address.Any), new FakeTransport());
        _net.Attach(new EndpointConfig("b", MacB, Ipv4Address.Any), new FakeTransport());
        Assert.Equal([MacA.Value, MacB.Value], _uplink.GuestSets[^1].Select(m => m.Value).Order());
        _net.Detach("a");
        Assert.Equal([MacB], _uplink.GuestSets[^1]);
    }

    [Fact]
    public void The_LANs_ack_pins_the_guests_address_and_is_reported()
    {
        var guest = new FakeTransport();
        var port = _net.Attach(new EndpointConfig("a", MacA, Ipv4Address.Any), guest);
        // Before the ACK: an IPv4 source other than 0.0.0.0 is spoofing.
        guest.Inject(Infrastructure.Frames.IcmpEcho(LanServerMac, MacA, Leased, LanServer, 1, 1, [1, 2, 3]));
        Assert.Empty(_uplink.Frames.Sent);
        guest.Inject(Infrastructure.Frames.IcmpEcho(LanServerMac, MacA, Ipv4Address.Any, LanServer, 1, 1, [1, 2, 3]));   // 0.0.0.0 is for DHCP only
        Assert.Empty(_uplink.Frames.Sent);
        Assert.Equal(2, port.Counters.Dropped(DropReason.SpoofedIp));

        _uplink.Frames.Inject(Ack(MacA, Leased, 3600));
        Assert.Equal(Leased, port.Ipv4);
        Assert.Single(guest.Sent);   // the ACK itself reached the guest
        Assert.Contains(("a", Leased, Switchyard.Network.Dhcp.LeaseState.Bound), _events.Leases);

        guest.Inject(Infrastructure.Frames.IcmpEcho(LanServerMac, MacA, Leased, LanServer, 1, 2, [1, 2, 3]));
        Assert.Single(_uplink.Frames.Sent);
        guest.Inject(Infrastructure.Frames.IcmpEcho(LanServerMac, MacA, Ipv4Address.Parse("192.0.2.78"), LanServer, 1, 3, [1, 2, 3]));
        Assert.Single(_uplink.Frames.Sent);
    }

    [Fact]
    public void An_ack_for_a_MAC_that_is_no_guest_changes_nothing()
    {
        var port = _net.Attach(new EndpointConfig("a", MacA, Ipv4Address.Any), new FakeTransport());
        _uplink.Frames.Inject(Ack(MacB, Leased, 3600));
        Assert.True(port.Ipv4.IsAny);
        Assert.Empty(_events.Leases);
    }

    [Fact]
    public void Snooping_reads_the_ack_and_nothing_else()
    {
        Assert.True(DhcpSnooping.TryReadAck(Ack(MacA, Leased, 600), out var client, out var address, out var lease));
        Assert.Equal((MacA, Leased, TimeSpan.FromMinutes(10)), (client, address, lease));
        Assert.True(DhcpSnooping.TryReadAck(Ack(MacA, Leased, uint.MaxValue), out _, out _, out var infinite));
        Assert.Equal(TimeSpan.MaxValue, infinite);
        var discover = new byte[400];
        int n = DhcpClientMessage.WriteRequest(discover, DhcpMessageType.Discover, 1, MacA, Ipv4Address.Any, null, null, [1]);
        Assert.False(DhcpSnooping.TryReadAck(Infrastructure.Frames.Udp(MacAddress.Broadcast, MacA, Ipv4Address.Any, Ipv4Address.Broadcast, 68, 67, discover.AsSpan(0, n)), out _, out _, out _));
        Assert.False(DhcpSnooping.TryReadAck(new byte[10], out _, out _, out _));
    }
}
