using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Dhcp;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;
using Switchyard.Network.Tests.Infrastructure;

namespace Switchyard.Network.Tests.Dhcp;

public class DhcpServerTests
{
    private static readonly Ipv4Subnet Subnet = Ipv4Subnet.Parse("10.88.0.0/24");
    private static readonly Ipv4Address Server = Subnet.FirstHost;
    private static readonly MacAddress Client = MacAddress.Parse("02:aa:00:00:00:0a");
    private static readonly Ipv4Address Bound = Ipv4Address.Parse("10.88.0.10");
    private static readonly TimeSpan Lease = TimeSpan.FromHours(2);
    private const uint Xid = 0xCAFEBABE;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeBindings _bindings = new();

    public DhcpServerTests() => _bindings.Bindings[Client] = new DhcpBinding("alpha", Bound);

    private DhcpServer Server_(int mtu = 1500) =>
        new(new DhcpServerOptions(Subnet, Server, "test.internal", mtu, Lease), _bindings, _time);

    private static byte[] Request(DhcpMessageType type, Ipv4Address ciaddr = default, Ipv4Address? requested = null, Ipv4Address? serverId = null,
        MacAddress? mac = null, bool broadcast = false)
    {
        var buf = new byte[600];
        int n = DhcpClientMessage.WriteRequest(buf, type, Xid, mac ?? Client, ciaddr, requested, serverId, [1, 3, 6, 15, 119]);
        Assert.True(n > 0);
        if (broadcast) BinaryPrimitives.WriteUInt16BigEndian(buf.AsSpan(DhcpLayout.FlagsOffset), DhcpLayout.BroadcastFlag);
        return buf[..n];
    }

    /// <summary>Handles a request as if it came from the MAC its chaddr names (what anti-spoofing ensures on the wire).</summary>
    private static (byte[] Reply, bool Broadcast) Handle(DhcpServer server, byte[] request)
    {
        var reply = new byte[1500];
        var sender = DhcpMessageReader.TryParse(request, out var msg) ? msg.ClientHardwareAddress : MacAddress.Zero;
        int n = server.Handle(request, sender, reply, out bool broadcast);
        return (reply[..n], broadcast);
    }

    private static List<byte> OptionCodes(byte[] reply)
    {
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        var codes = new List<byte>();
        foreach (var o in r.Options) codes.Add(o.Code);
        return codes;
    }

    private static uint UInt32Option(byte[] reply, byte code)
    {
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        Assert.True(r.TryGetOption(code, out var v));
        return BinaryPrimitives.ReadUInt32BigEndian(v);
    }

    private static Ipv4Address AddressOption(byte[] reply, byte code)
    {
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        Assert.True(r.TryGetOption(code, out var v));
        Assert.Equal(4, v.Length);
        return Ipv4Address.Read(v);
    }

    [Fact]
    public void Discover_GetsOfferWithBindingAndAllOptions()
    {
        var (reply, broadcast) = Handle(Server_(), Request(DhcpMessageType.Discover));
        Assert.False(broadcast);
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        Assert.Equal(DhcpLayout.BootReply, r.Op);
        Assert.Equal(Xid, r.TransactionId);
        Assert.Equal(DhcpMessageType.Offer, r.MessageType);
        Assert.Equal(Bound, r.YourAddress);
        Assert.Equal(Ipv4Address.Any, r.ClientAddress);
        Assert.Equal(Client, r.ClientHardwareAddress);
        Assert.Equal(Server, r.ServerIdentifier);
        Assert.True(reply.Length >= DhcpLayout.MinimumMessageLength);

        var codes = OptionCodes(reply);
        foreach (byte code in new byte[] { 1, 3, 6, 12, 15, 28, 51, 54, 58, 59, 119 })
            Assert.Contains(code, codes);
        Assert.DoesNotContain(DhcpOption.InterfaceMtu, codes);

        Assert.Equal(Ipv4Address.Parse("255.255.255.0"), AddressOption(reply, DhcpOption.SubnetMask));
        Assert.Equal(Server, AddressOption(reply, DhcpOption.Router));
        Assert.Equal(Server, AddressOption(reply, DhcpOption.DomainNameServer));
        Assert.Equal(Ipv4Address.Parse("10.88.0.255"), AddressOption(reply, DhcpOption.BroadcastAddress));
        Assert.Equal(7200u, UInt32Option(reply, DhcpOption.LeaseTime));
        Assert.Equal(3600u, UInt32Option(reply, DhcpOption.RenewalTime));
        Assert.Equal(6300u, UInt32Option(reply, DhcpOption.RebindingTime));
        Assert.True(r.TryGetOption(DhcpOption.HostName, out var host));
        Assert.Equal("alpha", System.Text.Encoding.ASCII.GetString(host));
        Assert.True(r.TryGetOption(DhcpOption.DomainName, out var domain));
        Assert.Equal("test.internal", System.Text.Encoding.ASCII.GetString(domain));
        var search = new byte[300];
        Assert.True(r.TryCopyConcatenatedOption(DhcpOption.DomainSearch, search, out int searchLength));
        var domains = new List<string>();
        Assert.True(DhcpDomainSearch.TryDecode(search.AsSpan(0, searchLength), domains));
        Assert.Equal(["test.internal"], domains);

        var change = Assert.Single(_bindings.LeaseChanges);
        Assert.Equal(LeaseState.Offered, change.State);
    }

    [Theory]
    [InlineData(9000)]
    [InlineData(1400)]
    public void Discover_WithNonDefaultMtu_CarriesOption26(int mtu)
    {
        var (reply, _) = Handle(Server_(mtu), Request(DhcpMessageType.Discover));
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        Assert.True(r.TryGetOption(DhcpOption.InterfaceMtu, out var v));
        Assert.Equal(mtu, BinaryPrimitives.ReadUInt16BigEndian(v));
    }

    [Fact]
    public void Discover_WithBroadcastFlag_AsksForBroadcast()
    {
        var (reply, broadcast) = Handle(Server_(), Request(DhcpMessageType.Discover, broadcast: true));
        Assert.NotEmpty(reply);
        Assert.True(broadcast);
    }

    [Fact]
    public void RequestSelecting_OurServerId_IsAckedAndBound()
    {
        var (reply, _) = Handle(Server_(), Request(DhcpMessageType.Request, requested: Bound, serverId: Server));
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        Assert.Equal(DhcpMessageType.Ack, r.MessageType);
        Assert.Equal(Bound, r.YourAddress);
        Assert.Equal(7200u, UInt32Option(reply, DhcpOption.LeaseTime));
        var change = Assert.Single(_bindings.LeaseChanges);
        Assert.Equal((Client, Bound, LeaseState.Bound), (change.Client, change.Address, change.State));
        Assert.Equal(_time.GetUtcNow() + Lease, change.Expires);
    }

    [Fact]
    public void LeaseExpiry_FollowsTheClock()
    {
        var server = Server_();
        _time.Advance(TimeSpan.FromMinutes(90));
        Handle(server, Request(DhcpMessageType.Request, requested: Bound, serverId: Server));
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 15, 30, 0, TimeSpan.Zero), _bindings.LeaseChanges[^1].Expires);
    }

    [Fact]
    public void RequestSelecting_OtherServerId_GetsNoReply()
    {
        var (reply, _) = Handle(Server_(), Request(DhcpMessageType.Request, requested: Bound, serverId: Ipv4Address.Parse("10.88.0.254")));
        Assert.Empty(reply);
        Assert.Empty(_bindings.LeaseChanges);
    }

    [Fact]
    public void InitReboot_WrongAddress_IsNakedByBroadcast()
    {
        var (reply, broadcast) = Handle(Server_(), Request(DhcpMessageType.Request, requested: Ipv4Address.Parse("10.88.0.99")));
        Assert.True(broadcast);
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        Assert.Equal(DhcpMessageType.Nak, r.MessageType);
        Assert.Equal(Ipv4Address.Any, r.ClientAddress);
        Assert.Equal(Ipv4Address.Any, r.YourAddress);
        Assert.Equal(Server, r.ServerIdentifier);
        Assert.False(r.TryGetOption(DhcpOption.LeaseTime, out _));
        Assert.Empty(_bindings.LeaseChanges);
    }

    [Fact]
    public void InitReboot_RightAddress_IsAcked()
    {
        var (reply, _) = Handle(Server_(), Request(DhcpMessageType.Request, requested: Bound));
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        Assert.Equal(DhcpMessageType.Ack, r.MessageType);
    }

    [Fact]
    public void Renewing_WithCiaddr_IsAcked()
    {
        var (reply, broadcast) = Handle(Server_(), Request(DhcpMessageType.Request, ciaddr: Bound));
        Assert.False(broadcast);
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        Assert.Equal(DhcpMessageType.Ack, r.MessageType);
        Assert.Equal(Bound, r.ClientAddress);
        Assert.Equal(Bound, r.YourAddress);
        Assert.Equal(LeaseState.Bound, Assert.Single(_bindings.LeaseChanges).State);
    }

    [Fact]
    public void Renewing_WithWrongCiaddr_IsNaked()
    {
        var (reply, _) = Handle(Server_(), Request(DhcpMessageType.Request, ciaddr: Ipv4Address.Parse("10.88.0.50")));
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        Assert.Equal(DhcpMessageType.Nak, r.MessageType);
        Assert.Equal(Ipv4Address.Any, r.ClientAddress);
    }

    [Fact]
    public void Decline_AsksBindingsToReassign()
    {
        _bindings.NextAddress = Ipv4Address.Parse("10.88.0.20");
        var (reply, _) = Handle(Server_(), Request(DhcpMessageType.Decline, requested: Bound, serverId: Server));
        Assert.Empty(reply);
        Assert.Equal((Client, Bound), Assert.Single(_bindings.Reassigns));
    }

    [Fact]
    public void Decline_OfOtherAddress_IsIgnored()
    {
        Handle(Server_(), Request(DhcpMessageType.Decline, requested: Ipv4Address.Parse("10.88.0.33"), serverId: Server));
        Assert.Empty(_bindings.Reassigns);
    }

    [Fact]
    public void Release_MarksLeaseReleased()
    {
        var (reply, _) = Handle(Server_(), Request(DhcpMessageType.Release, ciaddr: Bound, serverId: Server));
        Assert.Empty(reply);
        var change = Assert.Single(_bindings.LeaseChanges);
        Assert.Equal(LeaseState.Released, change.State);
        Assert.Equal(_time.GetUtcNow(), change.Expires);
    }

    [Fact]
    public void ABindingWithoutDefaultRoute_GetsNoRouterButStillDns()
    {
        // A guest on several networks takes its default route from one: the others' leases name no router (RFC 2132 §3.5).
        _bindings.Bindings[Client] = new DhcpBinding("alpha", Bound, DefaultRoute: false);
        var (reply, _) = Handle(Server_(), Request(DhcpMessageType.Discover));
        var codes = OptionCodes(reply);
        Assert.DoesNotContain(DhcpOption.Router, codes);
        Assert.Contains(DhcpOption.DomainNameServer, codes);
        Assert.Contains(DhcpOption.SubnetMask, codes);
    }

    [Fact]
    public void Inform_GetsAckWithoutLeaseTimeOrYiaddr()
    {
        var (reply, _) = Handle(Server_(), Request(DhcpMessageType.Inform, ciaddr: Bound));
        Assert.True(DhcpMessageReader.TryParse(reply, out var r));
        Assert.Equal(DhcpMessageType.Ack, r.MessageType);
        Assert.Equal(Ipv4Address.Any, r.YourAddress);
        Assert.Equal(Bound, r.ClientAddress);
        var codes = OptionCodes(reply);
        Assert.DoesNotContain(DhcpOption.LeaseTime, codes);
        Assert.DoesNotContain(DhcpOption.RenewalTime, codes);
        Assert.DoesNotContain(DhcpOption.RebindingTime, codes);
        Assert.Contains(DhcpOption.Router, codes);
        Assert.Contains(DhcpOption.DomainNameServer, codes);
        Assert.Empty(_bindings.LeaseChanges);
    }

    [Fact]
    public void UnknownMac_GetsNoReply()
    {
        var server = Server_();
        var stranger = MacAddress.Parse("02:ee:00:00:00:01");
        Assert.Empty(Handle(server, Request(DhcpMessageType.Discover, mac: stranger)).Reply);
        Assert.Empty(Handle(server, Request(DhcpMessageType.Request, requested: Bound, serverId: Server, mac: stranger)).Reply);
        Assert.Equal(0, server.MalformedCount);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("no-cookie")]
    [InlineData("reply-op")]
    [InlineData("no-type")]
    [InlineData("bad-option-length")]
    public void Malformed_IsCountedWithoutReply(string kind)
    {
        var msg = Request(DhcpMessageType.Discover);
        switch (kind)
        {
            case "short": msg = msg[..100]; break;
            case "no-cookie": msg[DhcpLayout.CookieOffset] = 0; break;
            case "reply-op": msg[DhcpLayout.OpOffset] = DhcpLayout.BootReply; break;
            case "no-type": msg[DhcpLayout.OptionsOffset] = 250; break; // option 53 becomes an unknown option
            case "bad-option-length": msg[DhcpLayout.OptionsOffset + 1] = 250; msg = msg[..(DhcpLayout.OptionsOffset + 10)]; break;
        }
        var server = Server_();
        Assert.Empty(Handle(server, msg).Reply);
        Assert.Equal(1, server.MalformedCount);
        Assert.Empty(_bindings.LeaseChanges);
    }
}
