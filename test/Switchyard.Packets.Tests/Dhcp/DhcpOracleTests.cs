using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using PacketDotNet.DhcpV4;
using PacketDotNet.Utils;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Packets.Tests.Dhcp;

/// <summary>Our writer checked against PacketDotNet's DhcpV4Packet, and PacketDotNet-built messages read by ours.</summary>
public class DhcpOracleTests
{
    private static DhcpV4Packet Oracle(byte[] bootp) =>
        new(new ByteArraySegment(bootp), new UdpPacket(DhcpLayout.ServerPort, DhcpLayout.ClientPort));

    [Theory]
    [InlineData(DhcpMessageType.Offer, DhcpV4MessageType.Offer)]
    [InlineData(DhcpMessageType.Ack, DhcpV4MessageType.Ack)]
    public void WriterOutputParsesInPacketDotNet(DhcpMessageType type, DhcpV4MessageType expected)
    {
        var request = DhcpTestMessages.Discover(broadcast: true, relay: DhcpTestMessages.Relay);
        var reply = DhcpTestMessages.Reply(request, type, ["a.internal", "b.internal"]);
        var p = Oracle(reply);

        Assert.Equal(DhcpV4Operation.BootReply, p.Operation);
        Assert.Equal(DhcpV4HardwareType.Ethernet, p.HardwareType);
        Assert.Equal(6, p.HardwareLength);
        Assert.Equal(DhcpTestMessages.Xid, p.TransactionId);
        // PacketDotNet 1.4.8's Broadcast tests mask 0x80 of the 16-bit flags, not 0x8000 (RFC 2131 §2 figure 2).
        Assert.Equal(0x8000, p.Flags);
        Assert.Equal(0x63825363u, p.MagicNumber);
        Assert.Equal(IPAddress.Any, p.ClientAddress);
        Assert.Equal(IPAddress.Parse("10.237.7.42"), p.YourAddress);
        Assert.Equal(IPAddress.Parse("10.237.7.1"), p.ServerAddress);
        Assert.Equal(IPAddress.Parse("10.237.8.1"), p.GatewayAddress);
        Assert.Equal(PhysicalAddress.Parse("02-00-5E-10-20-30"), p.ClientHardwareAddress);
        Assert.Equal(expected, p.MessageType);

        var options = p.GetOptions();
        T One<T>() where T : DhcpV4Option => Assert.Single(options.OfType<T>());
        Assert.Equal(IPAddress.Parse("255.255.255.0"), One<SubnetMaskOption>().SubnetMask);
        Assert.Equal([IPAddress.Parse("10.237.7.1")], One<RouterOption>().Routers);
        Assert.Equal([IPAddress.Parse("10.237.7.1"), IPAddress.Parse("10.237.7.2")], One<DomainNameServerOption>().DomainNameServers);
        Assert.Equal("guest1", One<HostNameOption>().HostName);
        Assert.Equal("lab.internal", One<DomainNameOption>().DomainName);
        // PacketDotNet 1.4.8 has MtuInterfaceOption but decodes 26 from the wire as an unsupported option.
        var mtu = Assert.Single(options, o => o.OptionType == DhcpV4OptionType.MTUInterface);
        Assert.Equal([0x05, 0x78], mtu.Data);
        Assert.Equal(TimeSpan.FromSeconds(3600), One<AddressTimeOption>().AddressTime);
        Assert.Equal(TimeSpan.FromSeconds(1800), One<RenewalTimeOption>().RenewalTime);
        Assert.Equal(TimeSpan.FromSeconds(3150), One<RebindingTimeOption>().RebindingTime);
        Assert.Equal(IPAddress.Parse("10.237.7.1"), One<ServerIdOption>().ServerId);

        // 119 is unknown to PacketDotNet: check its raw bytes decode to our list.
        var search = Assert.Single(options, o => (int)o.OptionType == DhcpOption.DomainSearch);
        var domains = new List<string>();
        Assert.True(DhcpDomainSearch.TryDecode(search.Data, domains));
        Assert.Equal(["a.internal", "b.internal"], domains);
        // RFC 3397 §2 compression: "internal" appears once, b.internal is 1 label + a pointer.
        Assert.Equal(1 + 1 + 1 + 8 + 1 + 1 + 1 + 2, search.Data.Length);

        // Wire order as written, End present, padded to ≥ 300.
        Assert.Equal(
            [DhcpV4OptionType.DHCPMsgType, DhcpV4OptionType.DHCPServerId, DhcpV4OptionType.AddressTime, DhcpV4OptionType.RenewalTime,
             DhcpV4OptionType.RebindingTime, DhcpV4OptionType.SubnetMask, DhcpV4OptionType.Router, DhcpV4OptionType.DomainServer,
             DhcpV4OptionType.HostName, DhcpV4OptionType.DomainName, DhcpV4OptionType.MTUInterface, (DhcpV4OptionType)119],
            options.Select(o => o.OptionType).Where(t => t is not (DhcpV4OptionType.Pad or (DhcpV4OptionType)255)));
        Assert.True(reply.Length >= 300);
    }

    [Fact]
    public void PacketDotNetBuiltRequestParses()
    {
        var bytes = new byte[DhcpLayout.OptionsOffset + 64];
        var p = Oracle(bytes);
        p.Operation = DhcpV4Operation.BootRequest;
        p.HardwareType = DhcpV4HardwareType.Ethernet;
        p.HardwareLength = 6;
        p.TransactionId = 0x01020304;
        p.Secs = 7;
        p.Flags = 0x8000; // not p.Broadcast: PacketDotNet 1.4.8 sets the wrong bit
        p.ClientAddress = IPAddress.Parse("10.237.7.50");
        p.ClientHardwareAddress = PhysicalAddress.Parse("02-00-5E-AA-BB-CC");
        p.MagicNumber = 0x63825363;
        p.SetOptions(new List<DhcpV4Option>
        {
            new MessageTypeOption(DhcpV4MessageType.Request),
            new AddressRequestOption(IPAddress.Parse("10.237.7.50")),
            new ServerIdOption(IPAddress.Parse("10.237.7.1")),
            new HostNameOption("guest2"),
            new ClientIdOption(PhysicalAddress.Parse("02-00-5E-AA-BB-CC")),
            new MaxMessageSizeOption(1500),
        });
        byte[] wire = p.Bytes;

        Assert.True(DhcpMessageReader.TryParse(wire, out var r), Convert.ToHexString(wire));
        Assert.Equal(DhcpLayout.BootRequest, r.Op);
        Assert.Equal(0x01020304u, r.TransactionId);
        Assert.Equal(7, r.Seconds);
        Assert.True(r.BroadcastFlag);
        Assert.Equal(Ipv4Address.Parse("10.237.7.50"), r.ClientAddress);
        Assert.Equal(MacAddress.Parse("02:00:5e:aa:bb:cc"), r.ClientHardwareAddress);
        Assert.Equal(DhcpMessageType.Request, r.MessageType);
        Assert.Equal(Ipv4Address.Parse("10.237.7.50"), r.RequestedIpAddress);
        Assert.Equal(Ipv4Address.Parse("10.237.7.1"), r.ServerIdentifier);
        Assert.Equal("guest2"u8.ToArray(), r.HostName.ToArray());
        Assert.Equal((ushort)1500, r.MaxMessageSize);
        // PacketDotNet 1.4.8's ClientIdOption leaves the type byte 0 (RFC 2132 §9.14 wants htype 1); the MAC follows it.
        Assert.Equal(7, r.ClientIdentifier.Length);
        Assert.Equal([2, 0, 0x5E, 0xAA, 0xBB, 0xCC], r.ClientIdentifier[1..].ToArray());
        Assert.True(r.ParameterRequestList.IsEmpty);
    }

    [Theory]
    [InlineData(DhcpMessageType.Discover)]
    [InlineData(DhcpMessageType.Request)]
    [InlineData(DhcpMessageType.Release)]
    [InlineData(DhcpMessageType.Inform)]
    public void ClientMessageParsesInPacketDotNetAndOurs(DhcpMessageType type)
    {
        var buf = new byte[400];
        int n = DhcpClientMessage.WriteRequest(buf, type, 0xCAFEF00D, DhcpTestMessages.ClientMac,
            ciaddr: Ipv4Address.Parse("10.237.7.9"), requested: DhcpTestMessages.Offered, serverId: DhcpTestMessages.Server,
            parameterRequestList: [1, 3, 6], hostName: "h");
        Assert.Equal(300, n);
        var wire = buf[..n];

        var p = Oracle(wire);
        Assert.Equal(DhcpV4Operation.BootRequest, p.Operation);
        Assert.Equal((DhcpV4MessageType)(byte)type, p.MessageType);
        Assert.Equal(0xCAFEF00Du, p.Xid);
        Assert.Equal(IPAddress.Parse("10.237.7.9"), p.ClientAddress);
        Assert.Equal(PhysicalAddress.Parse("02-00-5E-10-20-30"), p.ClientHardwareAddress);
        Assert.Equal(IPAddress.Parse("10.237.7.42"), Assert.Single(p.GetOptions().OfType<AddressRequestOption>()).RequestedIP);

        Assert.True(DhcpMessageReader.TryParse(wire, out var r));
        Assert.Equal(type, r.MessageType);
        Assert.Equal(DhcpTestMessages.Offered, r.RequestedIpAddress);
        Assert.Equal(DhcpTestMessages.Server, r.ServerIdentifier);
        Assert.Equal([1, 3, 6], r.ParameterRequestList.ToArray());
        Assert.True(r.Requests(DhcpOption.Router));
        Assert.False(r.Requests(DhcpOption.DomainSearch));
        Assert.Equal("h"u8.ToArray(), r.HostName.ToArray());
    }
}
