using Switchyard.Packets.Dhcp;

namespace Switchyard.Packets.Tests.Dhcp;

internal static class DhcpTestMessages
{
    public static readonly MacAddress ClientMac = MacAddress.Parse("02:00:5e:10:20:30");
    public static readonly Ipv4Address Server = Ipv4Address.Parse("10.237.7.1");
    public static readonly Ipv4Address Offered = Ipv4Address.Parse("10.237.7.42");
    public static readonly Ipv4Address Relay = Ipv4Address.Parse("10.237.8.1");
    public const uint Xid = 0xDEADBEEF;

    /// <summary>A DISCOVER with the broadcast flag and a relay address patched in.</summary>
    public static byte[] Discover(bool broadcast = true, Ipv4Address relay = default)
    {
        var buf = new byte[600];
        int n = DhcpClientMessage.WriteRequest(buf, DhcpMessageType.Discover, Xid, ClientMac,
            parameterRequestList: [1, 3, 6, 12, 15, 26, 119], hostName: "guest1");
        Assert.True(n >= 300);
        if (broadcast) buf[10] |= 0x80;
        relay.Write(buf.AsSpan(24));
        return buf[..n];
    }

    /// <summary>Builds a reply to <paramref name="request"/> carrying every option the server sends.</summary>
    public static byte[] Reply(byte[] request, DhcpMessageType type, string[] domains)
    {
        Assert.True(DhcpMessageReader.TryParse(request, out var req));
        var buf = new byte[1500];
        var w = new DhcpMessageWriter(buf);
        w.WriteReplyHeader(req, Offered, Server);
        Assert.True(w.TryWriteMessageType(type));
        Assert.True(w.TryWriteAddress(DhcpOption.ServerIdentifier, Server));
        Assert.True(w.TryWriteUInt32(DhcpOption.LeaseTime, 3600));
        Assert.True(w.TryWriteUInt32(DhcpOption.RenewalTime, 1800));
        Assert.True(w.TryWriteUInt32(DhcpOption.RebindingTime, 3150));
        Assert.True(w.TryWriteAddress(DhcpOption.SubnetMask, Ipv4Address.Parse("255.255.255.0")));
        Assert.True(w.TryWriteAddresses(DhcpOption.Router, [Server]));
        Assert.True(w.TryWriteAddresses(DhcpOption.DomainNameServer, [Server, Ipv4Address.Parse("10.237.7.2")]));
        Assert.True(w.TryWriteString(DhcpOption.HostName, "guest1"));
        Assert.True(w.TryWriteString(DhcpOption.DomainName, "lab.internal"));
        Assert.True(w.TryWriteUInt16(DhcpOption.InterfaceMtu, 1400));
        Assert.True(w.TryWriteDomainSearch(domains));
        int n = w.Finish();
        Assert.True(n >= 300);
        return buf[..n];
    }
}
