using System.Buffers.Binary;
using PacketDotNet;
using static Switchyard.Packets.Tests.Core.CoreFrames;

namespace Switchyard.Packets.Tests.Core;

public class UdpDatagramTests
{
    public static TheoryData<int> Sizes => new() { 0, 1, 2, 3, 17, 100, 511, 1472, 1473, 9000, 65000, 65001 };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void OurFrame_ParsesInPacketDotNet(int size)
    {
        var payload = Payload(size);
        var frame = OurUdpFrame(payload, 5353, 41234);

        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        Assert.Equal(EthernetType.IPv4, eth.Type);
        Assert.Equal(MacB, Mac(eth.DestinationHardwareAddress));
        Assert.Equal(MacA, Mac(eth.SourceHardwareAddress));
        var ip = eth.Extract<IPv4Packet>();
        Assert.NotNull(ip);
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(Ip(IpA), ip.SourceAddress);
        Assert.Equal(Ip(IpB), ip.DestinationAddress);
        Assert.Equal(20 + 8 + size, ip.TotalLength);
        Assert.Equal(PacketDotNet.ProtocolType.Udp, ip.Protocol);
        var udp = eth.Extract<UdpPacket>();
        Assert.NotNull(udp);
        Assert.Equal(5353, udp.SourcePort);
        Assert.Equal(41234, udp.DestinationPort);
        Assert.Equal(8 + size, (ushort)udp.Length);   // PacketDotNet reads Length as a signed short
        Assert.True(udp.ValidUdpChecksum);
        Assert.Equal(payload, udp.PayloadData ?? []);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void PacketDotNetFrame_ParsesInOurs(int size)
    {
        var payload = Payload(size, 7);
        var udp = new UdpPacket(68, 67) { PayloadData = payload };
        var ip = new IPv4Packet(Ip(IpB), Ip(IpA)) { TimeToLive = 33, Id = 0x1234, PayloadPacket = udp };
        var eth = new EthernetPacket(Phys(MacB), Phys(MacA), EthernetType.IPv4) { PayloadPacket = ip };
        udp.UpdateCalculatedValues();
        ip.UpdateCalculatedValues();
        udp.UpdateUdpChecksum();
        ip.UpdateIPChecksum();
        var frame = eth.Bytes;

        Assert.True(EthernetFrame.TryParse(frame, out var f));
        Assert.Equal(EtherType.IPv4, f.EtherType);
        Assert.Equal(-1, f.VlanTci);
        Assert.Equal(MacA, f.Destination);
        Assert.Equal(MacB, f.Source);
        Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
        Assert.True(p.IsHeaderChecksumValid);
        Assert.Equal(IpB, p.Source);
        Assert.Equal(IpA, p.Destination);
        Assert.Equal(33, p.Ttl);
        Assert.Equal(0x1234, p.Identification);
        Assert.Equal(IpProtocol.Udp, p.Protocol);
        Assert.True(UdpDatagram.TryParse(p.Payload, out var u));
        Assert.Equal(68, u.SourcePort);
        Assert.Equal(67, u.DestinationPort);
        Assert.NotEqual(0, u.ChecksumField);
        Assert.True(u.IsChecksumValid(p.Source, p.Destination));
        Assert.Equal(payload, u.Payload.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void CorruptedByte_FailsOurValidation(int size)
    {
        var frame = OurUdpFrame(Payload(size));
        frame[^1] ^= 0x40;
        Assert.True(EthernetFrame.TryParse(frame, out var f));
        Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
        Assert.True(UdpDatagram.TryParse(p.Payload, out var u));
        Assert.False(u.IsChecksumValid(p.Source, p.Destination));
    }

    [Fact]
    public void ZeroChecksumField_MeansNone()
    {
        var frame = OurUdpFrame(Payload(10));
        frame[EthernetFrameWriter.L4Offset + 6] = frame[EthernetFrameWriter.L4Offset + 7] = 0;
        Assert.True(UdpDatagram.TryParse(frame.AsSpan(EthernetFrameWriter.L4Offset), out var u));
        Assert.True(u.IsChecksumValid(IpA, IpB));
    }

    [Fact]
    public void ComputedZeroChecksum_IsSentAsAllOnes()
    {
        // Search for a 2-byte payload whose checksum computes to 0: it must go out as 0xFFFF.
        for (int v = 0; v <= 0xFFFF; v++)
        {
            var payload = new byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)v);
            var frame = OurUdpFrame(payload);
            Assert.True(UdpDatagram.TryParse(frame.AsSpan(EthernetFrameWriter.L4Offset), out var u));
            Assert.NotEqual(0, u.ChecksumField);
            if (u.ChecksumField == 0xFFFF)
            {
                Assert.True(u.IsChecksumValid(IpA, IpB));
                var udp = ((EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame)).Extract<UdpPacket>();
                Assert.True(udp.ValidUdpChecksum);
                return;
            }
        }
        Assert.Fail("no payload produced a 0xFFFF checksum");
    }

    [Theory]
    [InlineData(new byte[] { 0, 1, 0, 2, 0, 7, 0, 0 })]          // length 7 < header
    [InlineData(new byte[] { 0, 1, 0, 2, 0, 9, 0, 0 })]          // length 9 > buffer
    [InlineData(new byte[] { 0, 1, 0, 2, 0, 0, 0, 0 })]          // length 0
    [InlineData(new byte[] { 0, 1, 0, 2, 0, 8, 0 })]             // truncated header
    [InlineData(new byte[0])]
    public void BadLength_ReturnsFalse(byte[] bytes) => Assert.False(UdpDatagram.TryParse(bytes, out _));

    [Fact]
    public void TrailingBytes_TrimmedToUdpLength()
    {
        byte[] bytes = [0, 1, 0, 2, 0, 10, 0, 0, 0xAA, 0xBB, 0xCC, 0xDD];
        Assert.True(UdpDatagram.TryParse(bytes, out var u));
        Assert.Equal(10, u.Bytes.Length);
        Assert.Equal(new byte[] { 0xAA, 0xBB }, u.Payload.ToArray());
    }
}
