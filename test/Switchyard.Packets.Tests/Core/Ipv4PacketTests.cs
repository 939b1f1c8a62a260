using System.Buffers.Binary;
using PacketDotNet;
using static Switchyard.Packets.Tests.Core.CoreFrames;

namespace Switchyard.Packets.Tests.Core;

public class Ipv4PacketTests
{
    private static byte[] Header(int ihlWords = 5, int totalLength = 20, int bufferLength = -1, ushort frag = 0, byte version = 4)
    {
        var b = new byte[bufferLength < 0 ? Math.Max(totalLength, ihlWords * 4) : bufferLength];
        b[0] = (byte)(version << 4 | ihlWords);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(6), frag);
        b[8] = 64; b[9] = IpProtocol.Udp;
        IpA.Write(b.AsSpan(12)); IpB.Write(b.AsSpan(16));
        return b;
    }

    private static void Seal(byte[] b)
    {
        int ihl = (b[0] & 0xF) * 4;
        b[10] = b[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(10), Checksum.Compute(b.AsSpan(0, ihl)));
    }

    [Theory]
    [InlineData(0, true, (byte)64, (ushort)0, (byte)0)]
    [InlineData(1, false, (byte)1, (ushort)0xFFFF, (byte)0xB8)]
    [InlineData(1480, true, (byte)255, (ushort)77, (byte)0x10)]
    [InlineData(65000, false, (byte)128, (ushort)1, (byte)0)]
    public void WriteHeader_ParsesInPacketDotNetAndOurs(int payloadLength, bool df, byte ttl, ushort id, byte tos)
    {
        var frame = new byte[14 + 20 + payloadLength];
        Payload(payloadLength).CopyTo(frame, 34);
        Assert.Equal(14, EthernetFrame.WriteHeader(frame, MacB, MacA, EtherType.IPv4));
        Assert.Equal(20, Ipv4Packet.WriteHeader(frame.AsSpan(14), IpA, IpB, 253, payloadLength, ttl, id, df, tos));

        var ip = ((EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame)).Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(20 + payloadLength, ip.TotalLength);
        Assert.Equal(ttl, ip.TimeToLive);
        Assert.Equal(id, ip.Id);
        Assert.Equal(tos, ip.TypeOfService);
        Assert.Equal(df ? 2 : 0, ip.FragmentFlags);
        Assert.Equal(0, ip.FragmentOffset);
        Assert.Equal(5, ip.HeaderLength);
        Assert.Equal(Ip(IpA), ip.SourceAddress);

        Assert.True(EthernetFrame.TryParse(frame, out var f));
        Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
        Assert.True(p.IsHeaderChecksumValid);
        Assert.Equal(df, p.DontFragment);
        Assert.False(p.IsFragment);
        Assert.Equal(253, p.Protocol);
        Assert.Equal(ttl, p.Ttl);
        Assert.Equal(id, p.Identification);
        Assert.Equal(payloadLength, p.Payload.Length);
        Assert.Equal(0, p.Options.Length);
    }

    [Fact]
    public void PacketDotNetFragment_ParsesInOurs()
    {
        var ip = new IPv4Packet(Ip(IpB), Ip(IpA)) { Protocol = PacketDotNet.ProtocolType.Udp, Id = 4242, PayloadData = Payload(64) };
        ip.FragmentFlags = 1;              // MF
        ip.FragmentOffset = 185;           // in 8-byte units: 1480 bytes
        ip.UpdateCalculatedValues();
        ip.UpdateIPChecksum();
        Assert.True(Ipv4Packet.TryParse(ip.Bytes, out var p));
        Assert.True(p.IsHeaderChecksumValid);
        Assert.True(p.MoreFragments);
        Assert.False(p.DontFragment);
        Assert.True(p.IsFragment);
        Assert.Equal(1480, p.FragmentOffset);
        Assert.Equal(4242, p.Identification);
        Assert.Equal(64, p.Payload.Length);
    }

    [Theory]
    [InlineData((ushort)0x0000, false, false, 0, false)]
    [InlineData((ushort)0x4000, false, true, 0, false)]    // DF alone is not a fragment
    [InlineData((ushort)0x2000, true, false, 0, true)]     // first fragment: MF, offset 0
    [InlineData((ushort)0x00B9, false, false, 1480, true)] // last fragment: offset only
    [InlineData((ushort)0x20B9, true, false, 1480, true)]  // middle fragment
    [InlineData((ushort)0x1FFF, false, false, 65528, true)]
    [InlineData((ushort)0x8000, false, false, 0, false)]   // reserved bit ignored
    public void FragmentFields(ushort flags, bool mf, bool df, int offset, bool isFragment)
    {
        var b = Header(frag: flags);
        Seal(b);
        Assert.True(Ipv4Packet.TryParse(b, out var p));
        Assert.Equal(mf, p.MoreFragments);
        Assert.Equal(df, p.DontFragment);
        Assert.Equal(offset, p.FragmentOffset);
        Assert.Equal(isFragment, p.IsFragment);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(10)]
    [InlineData(15)]
    public void Options_HeaderLengthAndPayload(int ihlWords)
    {
        int ihl = ihlWords * 4;
        var b = Header(ihlWords, ihl + 5);
        for (int i = 20; i < ihl; i++) b[i] = 1;   // NOPs
        b[20] = 0x94; b[21] = 4;                  // Router Alert (RFC 2113)
        b[ihl..].AsSpan().Fill(0xEE);
        Seal(b);
        Assert.True(Ipv4Packet.TryParse(b, out var p));
        Assert.Equal(ihl, p.HeaderLength);
        Assert.Equal(ihl - 20, p.Options.Length);
        Assert.Equal(0x94, p.Options[0]);
        Assert.Equal(5, p.Payload.Length);
        Assert.True(p.IsHeaderChecksumValid);
        var pd = new IPv4Packet(new PacketDotNet.Utils.ByteArraySegment(b));
        Assert.Equal(ihlWords, pd.HeaderLength);
        Assert.True(pd.ValidIPChecksum);
        b[ihl - 1] ^= 0xFF;                       // corrupt an option byte: covered by the checksum
        Assert.True(Ipv4Packet.TryParse(b, out p));
        Assert.False(p.IsHeaderChecksumValid);
    }

    [Fact]
    public void EthernetPadding_TrimmedByTotalLength()
    {
        // A 28-byte IPv4/UDP datagram padded to the 60-byte Ethernet minimum.
        var frame = new byte[60];
        EthernetFrame.WriteHeader(frame, MacB, MacA, EtherType.IPv4);
        UdpDatagram.Write(frame.AsSpan(34), IpA, IpB, 1, 2, 0);
        Ipv4Packet.WriteHeader(frame.AsSpan(14), IpA, IpB, IpProtocol.Udp, 8);
        frame.AsSpan(42).Fill(0xA5);
        Assert.True(EthernetFrame.TryParse(frame, out var f));
        Assert.Equal(46, f.Payload.Length);
        Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
        Assert.Equal(28, p.TotalLength);
        Assert.Equal(8, p.Payload.Length);
        Assert.True(UdpDatagram.TryParse(p.Payload, out var u));
        Assert.True(u.IsChecksumValid(p.Source, p.Destination));
        Assert.Equal(0, u.Payload.Length);
    }

    public static TheoryData<string, byte[]> Malformed => new()
    {
        { "empty", [] },
        { "19 bytes", Header()[..19] },
        { "version 6", Header(version: 6) },
        { "version 0", Header(version: 0) },
        { "IHL 0", Header(ihlWords: 0, totalLength: 20, bufferLength: 20) },
        { "IHL 4", Header(ihlWords: 4, totalLength: 20, bufferLength: 20) },
        { "IHL 6 in 20 bytes", Header(ihlWords: 6, totalLength: 20, bufferLength: 20) },
        { "IHL 15, total 40", Header(ihlWords: 15, totalLength: 40, bufferLength: 60) },
        { "IHL past buffer", Header(ihlWords: 15, totalLength: 60, bufferLength: 40) },
        { "total 0", Header(totalLength: 0, bufferLength: 20) },
        { "total 19", Header(totalLength: 19, bufferLength: 20) },
        { "total past buffer", Header(totalLength: 21, bufferLength: 20) },
        { "total 65535 in 100", Header(totalLength: 65535, bufferLength: 100) },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_ReturnsFalse(string name, byte[] bytes)
    {
        Assert.False(Ipv4Packet.TryParse(bytes, out _), name);
    }

    [Fact]
    public void CorruptedHeader_FailsChecksum()
    {
        var b = Header(totalLength: 20);
        Seal(b);
        Assert.True(Ipv4Packet.TryParse(b, out var p));
        Assert.True(p.IsHeaderChecksumValid);
        b[8]--;   // TTL decrement without checksum update
        Assert.True(Ipv4Packet.TryParse(b, out p));
        Assert.False(p.IsHeaderChecksumValid);
    }
}
