using System.Buffers.Binary;
using PacketDotNet;
using static Switchyard.Packets.Tests.Core.CoreFrames;

namespace Switchyard.Packets.Tests.Core;

public class IcmpPacketTests
{
    private static byte[] OurEchoFrame(byte type, ushort id, ushort seq, byte[] data)
    {
        int icmpLen = IcmpPacket.HeaderLength + data.Length;
        var frame = new byte[EthernetFrameWriter.L4Offset + icmpLen];
        var icmp = frame.AsSpan(EthernetFrameWriter.L4Offset);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], seq);
        data.CopyTo(icmp[8..]);
        IcmpPacket.Finish(icmp, type, 0, icmpLen);
        Assert.Equal(frame.Length, EthernetFrameWriter.FinishIpv4(frame, MacB, MacA, IpA, IpB, IpProtocol.Icmp, icmpLen));
        return frame;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(56)]
    [InlineData(1001)]
    [InlineData(65000)]
    public void OurEcho_ParsesInPacketDotNet(int size)
    {
        var data = Payload(size, 11);
        var frame = OurEchoFrame(IcmpPacket.TypeEchoReply, 0xBEEF, 513, data);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        var ip = eth.Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(PacketDotNet.ProtocolType.Icmp, ip.Protocol);
        var icmp = eth.Extract<IcmpV4Packet>();
        Assert.NotNull(icmp);
        Assert.Equal(IcmpV4TypeCode.EchoReply, icmp.TypeCode);
        Assert.Equal(0xBEEF, icmp.Id);
        Assert.Equal(513, icmp.Sequence);
        Assert.True(icmp.ValidIcmpChecksum);
        Assert.Equal(data, icmp.PayloadData ?? []);

        Assert.True(IcmpPacket.TryParse(frame.AsSpan(EthernetFrameWriter.L4Offset), out var ours));
        Assert.True(ours.IsChecksumValid);
        Assert.Equal(data.Length, ours.Payload.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(1000)]
    public void PacketDotNetEcho_ParsesInOurs(int size)
    {
        var data = Payload(size, 12);
        var bytes = new byte[8 + size];
        data.CopyTo(bytes, 8);
        var icmp = new IcmpV4Packet(new PacketDotNet.Utils.ByteArraySegment(bytes)) { TypeCode = IcmpV4TypeCode.EchoRequest, Id = 7, Sequence = 65535 };
        icmp.UpdateIcmpChecksum();
        var ip = new IPv4Packet(Ip(IpB), Ip(IpA)) { PayloadPacket = icmp, Protocol = PacketDotNet.ProtocolType.Icmp };
        var eth = new EthernetPacket(Phys(MacB), Phys(MacA), EthernetType.IPv4) { PayloadPacket = ip };
        ip.UpdateCalculatedValues();
        ip.UpdateIPChecksum();

        Assert.True(EthernetFrame.TryParse(eth.Bytes, out var f));
        Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
        Assert.True(p.IsHeaderChecksumValid);
        Assert.Equal(IpProtocol.Icmp, p.Protocol);
        Assert.True(IcmpPacket.TryParse(p.Payload, out var ours));
        Assert.Equal(IcmpPacket.TypeEchoRequest, ours.Type);
        Assert.Equal(0, ours.Code);
        Assert.Equal(7, ours.Identifier);
        Assert.Equal(65535, ours.Sequence);
        Assert.True(ours.IsChecksumValid);
        Assert.Equal(data, ours.Payload.ToArray());
    }

    [Fact]
    public void Finish_OverwritesStaleChecksum_AndDetectsCorruption()
    {
        var msg = new byte[8 + 33];
        msg[2] = 0x12; msg[3] = 0x34;          // stale checksum must not leak into the sum
        msg.AsSpan(8).Fill(0x5A);
        IcmpPacket.Finish(msg, IcmpPacket.TypeDestinationUnreachable, 3, msg.Length);
        Assert.True(IcmpPacket.TryParse(msg, out var p));
        Assert.Equal(IcmpPacket.TypeDestinationUnreachable, p.Type);
        Assert.Equal(3, p.Code);
        Assert.True(p.IsChecksumValid);
        msg[^1] ^= 0x80;
        Assert.True(IcmpPacket.TryParse(msg, out p));
        Assert.False(p.IsChecksumValid);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(7)]
    public void Truncated_ReturnsFalse(int length) => Assert.False(IcmpPacket.TryParse(new byte[length], out _));
}
