using PacketDotNet;
using static Switchyard.Packets.Tests.Core.CoreFrames;

namespace Switchyard.Packets.Tests.Core;

public class ArpPacketTests
{
    [Theory]
    [InlineData(ArpPacket.OpRequest)]
    [InlineData(ArpPacket.OpReply)]
    public void OurArp_ParsesInPacketDotNet(ushort op)
    {
        var frame = new byte[60];   // minimum Ethernet frame: 18 bytes of padding after the ARP body
        var dst = op == ArpPacket.OpRequest ? MacAddress.Broadcast : MacB;
        EthernetFrame.WriteHeader(frame, dst, MacA, EtherType.Arp);
        Assert.Equal(28, ArpPacket.Write(frame.AsSpan(14), op, MacA, IpA, op == ArpPacket.OpRequest ? MacAddress.Zero : MacB, IpB));

        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        Assert.Equal(EthernetType.Arp, eth.Type);
        var arp = eth.Extract<PacketDotNet.ArpPacket>();
        Assert.NotNull(arp);
        Assert.Equal(op == ArpPacket.OpRequest ? ArpOperation.Request : ArpOperation.Response, arp.Operation);
        Assert.Equal(MacA, Mac(arp.SenderHardwareAddress));
        Assert.Equal(Ip(IpA), arp.SenderProtocolAddress);
        Assert.Equal(op == ArpPacket.OpRequest ? MacAddress.Zero : MacB, Mac(arp.TargetHardwareAddress));
        Assert.Equal(Ip(IpB), arp.TargetProtocolAddress);
        Assert.Equal(EthernetType.IPv4, arp.ProtocolAddressType);
        Assert.Equal(6, arp.HardwareAddressLength);
        Assert.Equal(4, arp.ProtocolAddressLength);

        Assert.True(EthernetFrame.TryParse(frame, out var f));
        Assert.True(ArpPacket.TryParse(f.Payload, out var ours));   // padding tolerated
        Assert.Equal(op, ours.Operation);
        Assert.False(ours.IsProbeOrAnnouncement);
    }

    [Fact]
    public void PacketDotNetArp_ParsesInOurs()
    {
        var arp = new PacketDotNet.ArpPacket(ArpOperation.Response, Phys(MacA), Ip(IpA), Phys(MacB), Ip(IpB));
        var eth = new EthernetPacket(Phys(MacB), Phys(MacA), EthernetType.Arp) { PayloadPacket = arp };
        Assert.True(EthernetFrame.TryParse(eth.Bytes, out var f));
        Assert.Equal(EtherType.Arp, f.EtherType);
        Assert.True(ArpPacket.TryParse(f.Payload, out var ours));
        Assert.Equal(ArpPacket.OpReply, ours.Operation);
        Assert.Equal(MacB, ours.SenderMac);
        Assert.Equal(IpB, ours.SenderIp);
        Assert.Equal(MacA, ours.TargetMac);
        Assert.Equal(IpA, ours.TargetIp);
    }

    [Theory]
    [InlineData("192.168.64.23", "192.168.64.23", true)]   // gratuitous announcement
    [InlineData("0.0.0.0", "192.168.64.23", true)]         // probe
    [InlineData("192.168.64.23", "192.168.64.1", false)]
    public void ProbeOrAnnouncement(string sender, string target, bool expected)
    {
        var b = new byte[28];
        ArpPacket.Write(b, ArpPacket.OpRequest, MacB, Ipv4Address.Parse(sender), MacAddress.Zero, Ipv4Address.Parse(target));
        Assert.True(ArpPacket.TryParse(b, out var a));
        Assert.Equal(expected, a.IsProbeOrAnnouncement);
    }

    [Theory]
    [InlineData(0, 0x01)]    // hardware type 0x0101
    [InlineData(1, 0x06)]    // hardware type 6 (IEEE 802)
    [InlineData(2, 0x86)]    // protocol 0x8600
    [InlineData(3, 0x06)]    // protocol 0x0806
    [InlineData(4, 8)]       // hardware length 8
    [InlineData(5, 16)]      // protocol length 16
    public void WrongTypesOrLengths_ReturnFalse(int index, byte value)
    {
        var b = new byte[28];
        ArpPacket.Write(b, ArpPacket.OpRequest, MacB, IpB, MacAddress.Zero, IpA);
        b[index] = value;
        Assert.False(ArpPacket.TryParse(b, out _));
    }

    [Fact]
    public void Truncated_ReturnsFalse()
    {
        var b = new byte[28];
        ArpPacket.Write(b, ArpPacket.OpRequest, MacB, IpB, MacAddress.Zero, IpA);
        for (int n = 0; n < 28; n++) Assert.False(ArpPacket.TryParse(b.AsSpan(0, n), out _));
        Assert.True(ArpPacket.TryParse(b, out _));
    }
}
