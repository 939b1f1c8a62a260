using System.Buffers.Binary;
using PacketDotNet;
using PacketDotNet.Tcp;
using static Switchyard.Packets.Tests.Core.CoreFrames;

namespace Switchyard.Packets.Tests.Core;

public class TcpSegmentTests
{
    private static byte[] OurTcpFrame(byte[] payload, ReadOnlySpan<byte> options, TcpFlags flags, uint seq = 0xDEADBEEF, uint ack = 0x01020304, ushort window = 29200)
    {
        int hl = TcpSegment.HeaderLengthFor(options.Length);
        var frame = new byte[EthernetFrameWriter.L4Offset + hl + payload.Length];
        payload.CopyTo(frame, EthernetFrameWriter.L4Offset + hl);
        int l4 = TcpSegment.Write(frame.AsSpan(EthernetFrameWriter.L4Offset), IpA, IpB, 443, 51000, seq, ack, flags, window, options, payload.Length);
        int n = EthernetFrameWriter.FinishIpv4(frame, MacB, MacA, IpA, IpB, IpProtocol.Tcp, l4);
        Assert.Equal(frame.Length, n);
        return frame;
    }

    public static TheoryData<int, int, int> Cases => new()
    {
        // payload, mss, window scale (-1: none; -2: no options at all)
        { 0, 1460, 7 }, { 0, 1400, -1 }, { 0, 0, -2 }, { 1, 1460, 0 }, { 3, 536, 14 }, { 999, 1460, 7 }, { 1460, 8960, 9 }, { 65000, 65495, 7 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OurSegment_ParsesInPacketDotNet(int size, int mss, int ws)
    {
        var payload = Payload(size, 3);
        Span<byte> opts = stackalloc byte[8];
        int optLen = ws == -2 ? 0 : TcpOptions.WriteSynOptions(opts, (ushort)mss, ws >= 0 ? (byte)ws : null);
        var frame = OurTcpFrame(payload, opts[..optLen], TcpFlags.Syn | TcpFlags.Ack);

        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        var ip = eth.Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(PacketDotNet.ProtocolType.Tcp, ip.Protocol);
        Assert.True(ip.FragmentFlags == 2); // DF, FinishIpv4's default
        var tcp = eth.Extract<TcpPacket>();
        Assert.NotNull(tcp);
        Assert.True(tcp.ValidTcpChecksum);
        Assert.Equal(443, tcp.SourcePort);
        Assert.Equal(51000, tcp.DestinationPort);
        Assert.Equal(0xDEADBEEFu, tcp.SequenceNumber);
        Assert.Equal(0x01020304u, tcp.AcknowledgmentNumber);
        Assert.True(tcp.Synchronize);
        Assert.True(tcp.Acknowledgment);
        Assert.False(tcp.Finished);
        Assert.Equal(29200, tcp.WindowSize);
        Assert.Equal((20 + optLen) / 4, tcp.DataOffset);
        Assert.Equal(payload, tcp.PayloadData ?? []);
        var options = tcp.OptionsCollection ?? [];
        if (ws == -2) { Assert.Empty(options); return; }
        Assert.Equal(mss, Assert.Single(options.OfType<MaximumSegmentSizeOption>()).Value);
        var wso = options.OfType<WindowScaleFactorOption>().ToList();
        if (ws >= 0) Assert.Equal(ws, Assert.Single(wso).ScaleFactor);
        else Assert.Empty(wso);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PacketDotNetSegment_ParsesInOurs(int size, int mss, int ws)
    {
        var payload = Payload(size, 4);
        byte[] opts = ws == -2 ? [] :
            ws >= 0 ? [2, 4, (byte)(mss >> 8), (byte)mss, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, (byte)ws]
                    : [2, 4, (byte)(mss >> 8), (byte)mss];
        var header = new byte[20 + opts.Length];
        header[12] = (byte)((header.Length / 4) << 4);
        opts.CopyTo(header, 20);
        var tcp = new TcpPacket(new PacketDotNet.Utils.ByteArraySegment(header.Concat(payload).ToArray()))
        {
            SourcePort = 50000, DestinationPort = 22, SequenceNumber = 42, AcknowledgmentNumber = 0, WindowSize = 64240,
        };
        tcp.Synchronize = true;
        var ip = new IPv4Packet(Ip(IpB), Ip(IpA)) { PayloadPacket = tcp };
        var eth = new EthernetPacket(Phys(MacB), Phys(MacA), EthernetType.IPv4) { PayloadPacket = ip };
        ip.UpdateCalculatedValues();
        tcp.UpdateTcpChecksum();
        ip.UpdateIPChecksum();
        var frame = eth.Bytes;

        Assert.True(EthernetFrame.TryParse(frame, out var f));
        Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
        Assert.True(p.IsHeaderChecksumValid);
        Assert.Equal(IpProtocol.Tcp, p.Protocol);
        Assert.True(TcpSegment.TryParse(p.Payload, out var s));
        Assert.True(s.IsChecksumValid(p.Source, p.Destination));
        Assert.Equal(50000, s.SourcePort);
        Assert.Equal(22, s.DestinationPort);
        Assert.Equal(42u, s.SequenceNumber);
        Assert.Equal(TcpFlags.Syn, s.Flags);
        Assert.Equal(64240, s.Window);
        Assert.Equal(20 + opts.Length, s.HeaderLength);
        Assert.Equal(payload, s.Payload.ToArray());
        var o = s.ReadOptions();
        if (ws == -2) { Assert.Null(o.Mss); Assert.Null(o.WindowScale); return; }
        Assert.Equal((ushort)mss, o.Mss);
        if (ws >= 0)
        {
            Assert.Equal((byte)ws, o.WindowScale);
            Assert.True(o.SackPermitted);
            Assert.True(o.HasTimestamps);
            Assert.Equal(0x01020304u, o.TimestampValue);
            Assert.Equal(0u, o.TimestampEcho);
        }
        else
        {
            Assert.Null(o.WindowScale);
            Assert.False(o.SackPermitted);
            Assert.False(o.HasTimestamps);
        }
    }

    [Fact]
    public void CorruptedPayload_FailsOurValidation()
    {
        var frame = OurTcpFrame(Payload(101), [], TcpFlags.Psh | TcpFlags.Ack);
        Assert.True(TcpSegment.TryParse(frame.AsSpan(EthernetFrameWriter.L4Offset), out var s));
        Assert.True(s.IsChecksumValid(IpA, IpB));
        Assert.False(s.IsChecksumValid(IpA, IpB + 1));
        frame[^1] ^= 1;
        Assert.True(TcpSegment.TryParse(frame.AsSpan(EthernetFrameWriter.L4Offset), out s));
        Assert.False(s.IsChecksumValid(IpA, IpB));
    }

    [Fact]
    public void Write_PadsOddOptionsToFourBytes()
    {
        var frame = OurTcpFrame([9, 9], [4, 2, 1], TcpFlags.Syn); // SACK-permitted + a NOP's worth of pad
        Assert.True(TcpSegment.TryParse(frame.AsSpan(EthernetFrameWriter.L4Offset), out var s));
        Assert.Equal(24, s.HeaderLength);
        Assert.Equal(new byte[] { 4, 2, 1, 0 }, s.Options.ToArray());
        Assert.True(s.ReadOptions().SackPermitted);
        Assert.Equal(new byte[] { 9, 9 }, s.Payload.ToArray());
        Assert.True(s.IsChecksumValid(IpA, IpB));
    }

    [Theory]
    [InlineData(0)]   // data offset 0
    [InlineData(4)]   // 16 bytes < minimum
    [InlineData(6)]   // 24 bytes > 20-byte buffer
    [InlineData(15)]  // 60 bytes > buffer
    public void BadDataOffset_ReturnsFalse(int dataOffsetWords)
    {
        var seg = new byte[20];
        seg[12] = (byte)(dataOffsetWords << 4);
        Assert.False(TcpSegment.TryParse(seg, out _));
    }

    [Fact]
    public void Truncated_ReturnsFalse()
    {
        var seg = new byte[19];
        seg[12] = 0x50;
        Assert.False(TcpSegment.TryParse(seg, out _));
        Assert.False(TcpSegment.TryParse([], out _));
        Assert.True(TcpSegment.TryParse(new byte[20] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0, 0, 0, 0, 0, 0 }, out var s));
        Assert.Equal(0, s.Payload.Length);
    }

    public static TheoryData<byte[], int?, int?, bool, bool> OptionLists => new()
    {
        // options (padded to 4n by the test), expected mss, ws, sack, ts
        { [2, 4, 5, 0xB4, 1, 3, 3, 7], 1460, 7, false, false },
        { [1, 1, 1, 1, 2, 4, 2, 0x18], 536, null, false, false },
        { [0, 2, 4, 5, 0xB4], null, null, false, false },                   // End stops parsing
        { [30, 6, 1, 2, 3, 4, 2, 4, 1, 0], 256, null, false, false },      // unknown kind skipped by length
        { [2, 1, 5, 0xB4], null, null, false, false },                      // length < 2: stop
        { [2, 40, 5, 0xB4], null, null, false, false },                     // length past end: stop
        { [3, 3, 200], null, 14, false, false },                            // window scale clamped to 14 (RFC 7323 §2.3)
        { [2, 3, 5, 1, 4, 2], null, null, true, false },                    // MSS with wrong length ignored
        { [2, 4, 5, 0xB4, 1, 1, 1, 3], 1460, null, false, false },          // kind with no room for its length
        { [2, 4, 5, 0xB4, 3, 0], 1460, null, false, false },                // length 0: stop
        { [8, 10, 0, 0, 0, 1, 0, 0, 0, 2], null, null, false, true },
        { [8, 9, 0, 0, 0, 1, 0, 0, 0], null, null, false, false },          // timestamps wrong length
    };

    [Theory]
    [MemberData(nameof(OptionLists))]
    public void ReadOptions_Table(byte[] options, int? mss, int? ws, bool sack, bool ts)
    {
        var frame = OurTcpFrame([], options, TcpFlags.Syn);
        Assert.True(TcpSegment.TryParse(frame.AsSpan(EthernetFrameWriter.L4Offset), out var s));
        var o = s.ReadOptions();
        Assert.Equal(mss, (int?)o.Mss);
        Assert.Equal(ws, (int?)o.WindowScale);
        Assert.Equal(sack, o.SackPermitted);
        Assert.Equal(ts, o.HasTimestamps);
        if (ts) { Assert.Equal(1u, o.TimestampValue); Assert.Equal(2u, o.TimestampEcho); }
    }

    [Fact]
    public void WriteSynOptions_Layout()
    {
        Span<byte> d = stackalloc byte[8];
        Assert.Equal(4, TcpOptions.WriteSynOptions(d, 1460, null));
        Assert.Equal(new byte[] { 2, 4, 0x05, 0xB4 }, d[..4].ToArray());
        Assert.Equal(8, TcpOptions.WriteSynOptions(d, 1460, 7));
        Assert.Equal(new byte[] { 2, 4, 0x05, 0xB4, 1, 3, 3, 7 }, d.ToArray());
        Assert.Equal(20, TcpSegment.HeaderLengthFor(0));
        Assert.Equal(24, TcpSegment.HeaderLengthFor(1));
        Assert.Equal(28, TcpSegment.HeaderLengthFor(8));
        Assert.Equal(1460, BinaryPrimitives.ReadUInt16BigEndian(d[2..]));
    }
}
