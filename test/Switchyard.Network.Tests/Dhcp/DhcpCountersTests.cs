using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Network.Tests.Dhcp;

public sealed class DhcpCountersTests
{
    private static readonly Ipv4Subnet Subnet = Ipv4Subnet.Parse("10.88.0.0/24");
    private static readonly MacAddress Client = MacAddress.Parse("02:aa:00:00:00:0a");
    private static readonly MacAddress Stranger = MacAddress.Parse("02:aa:00:00:00:0b");
    private static readonly Ipv4Address Bound = Ipv4Address.Parse("10.88.0.10");

    private readonly FakeBindings _bindings = new();
    private readonly DhcpServer _server;

    public DhcpCountersTests()
    {
        _bindings.Bindings[Client] = new DhcpBinding("alpha", Bound);
        _server = new(new DhcpServerOptions(Subnet, Subnet.FirstHost, "test.internal", 1500, TimeSpan.FromHours(1)), _bindings, new FakeTimeProvider());
    }

    private int Send(DhcpMessageType type, MacAddress mac, Ipv4Address? requested = null, Ipv4Address? serverId = null)
    {
        var request = new byte[600];
        int n = DhcpClientMessage.WriteRequest(request, type, 0x1234, mac, default, requested, serverId, [1, 3, 6]);
        return _server.Handle(request.AsSpan(0, n), mac, new byte[1500], out _);
    }

    [Fact]
    public void A_full_exchange_counts_discover_offer_request_ack()
    {
        Assert.True(Send(DhcpMessageType.Discover, Client) > 0);
        Assert.True(Send(DhcpMessageType.Request, Client, Bound, Subnet.FirstHost) > 0);

        var c = _server.Counters;
        Assert.Equal(1, c.Received(DhcpMessageType.Discover));
        Assert.Equal(1, c.Sent(DhcpMessageType.Offer));
        Assert.Equal(1, c.Received(DhcpMessageType.Request));
        Assert.Equal(1, c.Sent(DhcpMessageType.Ack));
        Assert.Equal(0, c.Sent(DhcpMessageType.Nak));
        Assert.Equal(0, c.Received(DhcpMessageType.Release));
    }

    [Fact]
    public void A_request_for_the_wrong_address_counts_a_nak_and_silence_counts_nothing_sent()
    {
        Assert.True(Send(DhcpMessageType.Request, Client, Ipv4Address.Parse("10.88.0.99")) > 0);
        Assert.Equal(0, Send(DhcpMessageType.Discover, Stranger));    // no binding: no reply
        Assert.Equal(0, Send(DhcpMessageType.Release, Client));

        var c = _server.Counters;
        Assert.Equal(1, c.Sent(DhcpMessageType.Nak));
        Assert.Equal(0, c.Sent(DhcpMessageType.Ack));
        Assert.Equal(1, c.Received(DhcpMessageType.Discover));
        Assert.Equal(0, c.Sent(DhcpMessageType.Offer));
        Assert.Equal(1, c.Received(DhcpMessageType.Release));
    }
}
