using System.Buffers.Binary;
using PacketDotNet;
using static Switchyard.Packets.Tests.Core.CoreFrames;

namespace Switchyard.Packets.Tests.Core;

public class EthernetFrameTests
{
    [Fact]
    public void WriteHeader_ParsesInPacketDotNet()
    {
        var frame = new byte[60];
        Assert.Equal(EthernetFrame.HeaderLength, EthernetFrame.WriteHeader(frame, MacAddress.Broadcast, MacA, EtherType.IPv6));
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        Assert.Equal(EthernetType.IPv6, eth.Type);
        Assert.Equal(MacAddress.Broadcast, Mac(eth.DestinationHardwareAddress));
        Assert.Equal(MacA, Mac(eth.SourceHardwareAddress));
    }

    [Theory]
    [InlineData(EtherType.Vlan, 0x0064)]   // VID 100
    [InlineData(EtherType.Vlan, 0xE00A)]   // PCP 7, VID 10
    [InlineData(EtherType.QinQ, 0x1FFF)]   // DEI set, VID 4095
    public void VlanTagged_PayloadAfterTag(ushort tpid, int tci)
    {
        var payload = OurUdpFrame(Payload(21))[14..];   // an IPv4/UDP datagram
        var frame = new byte[18 + payload.Length];
        EthernetFrame.WriteHeader(frame, MacB, MacA, tpid);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), (ushort)tci);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), EtherType.IPv4);
        payload.CopyTo(frame, 18);

        Assert.True(EthernetFrame.TryParse(frame, out var f));
        Assert.Equal(tci, f.VlanTci);
        Assert.Equal(EtherType.IPv4, f.EtherType);
        Assert.Equal(18, f.PayloadOffset);
        Assert.Equal(MacB, f.Destination);
        Assert.Equal(MacA, f.Source);
        Assert.Equal(frame.Length, f.Bytes.Length);   // the tag is kept for forwarding
        Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
        Assert.True(p.IsHeaderChecksumValid);
        Assert.True(UdpDatagram.TryParse(p.Payload, out var u));
        Assert.True(u.IsChecksumValid(p.Source, p.Destination));

        if (tpid == EtherType.Vlan)
        {
            var vlan = ((EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame)).Extract<Ieee8021QPacket>();
            Assert.NotNull(vlan);
            Assert.Equal(tci & 0xFFF, vlan.VlanIdentifier);
            Assert.Equal(EthernetType.IPv4, vlan.Type);
        }
    }

    [Fact]
    public void PacketDotNetRetaggedFrame_ParsesInOurs()
    {
        var payload = OurUdpFrame(Payload(3))[14..];
        var raw = new byte[18 + payload.Length];
        EthernetFrame.WriteHeader(raw, MacB, MacA, EtherType.Vlan);
        BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan(14), 1);
        BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan(16), EtherType.IPv4);
        payload.CopyTo(raw, 18);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, raw);
        var vlan = eth.Extract<Ieee8021QPacket>();
        vlan.VlanIdentifier = 42;
        vlan.PriorityControlPoint = (IeeeP8021PPriority)5;   // PCP 5 (0xA000 in the TCI)
        var frame = eth.Bytes;

        Assert.True(EthernetFrame.TryParse(frame, out var f));
        Assert.Equal(42, f.VlanTci & 0xFFF);
        Assert.Equal(5, f.VlanTci >> 13);
        Assert.Equal(EtherType.IPv4, f.EtherType);
        Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
        Assert.True(p.IsHeaderChecksumValid);
        Assert.Equal(IpA, p.Source);
    }

    [Fact]
    public void Untagged_PayloadAt14()
    {
        var frame = new byte[14];
        EthernetFrame.WriteHeader(frame, MacB, MacA, EtherType.Arp);
        Assert.True(EthernetFrame.TryParse(frame, out var f));
        Assert.Equal(-1, f.VlanTci);
        Assert.Equal(14, f.PayloadOffset);
        Assert.Equal(0, f.Payload.Length);
        Assert.False(ArpPacket.TryParse(f.Payload, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    [InlineData(13)]
    public void Truncated_ReturnsFalse(int length)
    {
        Assert.False(EthernetFrame.TryParse(new byte[length], out _));
        Assert.False(EthernetFrame.TryReadAddresses(new byte[length], out _, out _));
    }

    [Theory]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(17)]
    public void TruncatedVlanTag_ReturnsFalse(int length)
    {
        var frame = new byte[length];
        EthernetFrame.WriteHeader(frame, MacB, MacA, EtherType.Vlan);
        Assert.False(EthernetFrame.TryParse(frame, out _));
    }

    [Fact]
    public void TryReadAddresses_ReadsBoth()
    {
        var frame = new byte[14];
        EthernetFrame.WriteHeader(frame, MacB, MacA, 0x0026);   // an 802.3 length field
        Assert.True(EthernetFrame.TryReadAddresses(frame, out var d, out var s));
        Assert.Equal(MacB, d);
        Assert.Equal(MacA, s);
        Assert.True(EthernetFrame.TryParse(frame, out var f));
        Assert.Equal(0x0026, f.EtherType);
    }
}
