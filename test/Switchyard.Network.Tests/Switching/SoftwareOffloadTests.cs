using System.Buffers.Binary;
using PacketDotNet;
using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Switching;

/// <summary>Offloaded frames from a TAP guest (partial checksums, TCP segmentation jobs) reach
/// ports that cannot take offloads as ordinary, fully checksummed frames.</summary>
public sealed class SoftwareOffloadTests
{
    private static readonly MacAddress MacA = TestNetwork.MacA, MacB = TestNetwork.MacB;
    private static readonly Ipv4Address IpA = TestNetwork.IpA, IpB = TestNetwork.IpB;

    /// <summary>A TCP frame as a TSO-capable guest hands it over: one big payload, the checksum
    /// field holding only the pseudo-header sum (CHECKSUM_PARTIAL).</summary>
    private static (byte[] Frame, VirtioNetHeader Offload) GsoJob(int payloadLength, ushort mss, TcpFlags flags)
    {
        var payload = new byte[payloadLength];
        new Random(7).NextBytes(payload);
        var frame = Frames.Tcp(MacB, MacA, IpA, IpB, 40000, 5201, 1000, 1, flags, payload);
        int l4 = EthernetFrameWriter.L4Offset;
        int l4Length = frame.Length - l4;
        ushort partial = (ushort)~Checksum.Finish(Checksum.PseudoHeaderV4(IpA, IpB, IpProtocol.Tcp, l4Length));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 16), partial);
        var offload = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoTcpV4, (ushort)(l4 + 20), mss, (ushort)l4, 16);
        return (frame, offload);
    }

    [Theory]
    [InlineData(10000, 1448)]
    [InlineData(1448, 1448)]
    [InlineData(65000, 1460)]
    [InlineData(3001, 1000)]
    public void A_segmentation_job_becomes_mss_sized_segments_with_valid_checksums(int payloadLength, ushort mss)
    {
        var (frame, offload) = GsoJob(payloadLength, mss, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin);
        var segments = new List<byte[]>();
        Assert.True(SoftwareOffload.Deliver(frame, offload, segments, static (list, f) => { list.Add(f.ToArray()); return true; }));

        Assert.Equal((payloadLength + mss - 1) / mss, segments.Count);
        var joined = new List<byte>();
        uint expectedSeq = 1000;
        for (int i = 0; i < segments.Count; i++)
        {
            var ip = Packet.ParsePacket(LinkLayers.Ethernet, segments[i]).Extract<IPv4Packet>();
            var tcp = ip.Extract<TcpPacket>();
            Assert.True(ip.ValidChecksum);
            Assert.True(tcp.ValidTcpChecksum);
            Assert.Equal(expectedSeq, tcp.SequenceNumber);
            bool last = i == segments.Count - 1;
            Assert.Equal(last, tcp.Finished);
            Assert.Equal(last, tcp.Push);
            Assert.True(tcp.PayloadData.Length <= mss);
            joined.AddRange(tcp.PayloadData);
            expectedSeq += (uint)tcp.PayloadData.Length;
        }
        Assert.Equal(frame.AsSpan(EthernetFrameWriter.L4Offset + 20).ToArray(), joined.ToArray());
    }

    [Fact]
    public void A_partial_checksum_is_completed()
    {
        var frame = Frames.Udp(MacB, MacA, IpA, IpB, 5000, 6000, new byte[333]);
        int l4 = EthernetFrameWriter.L4Offset;
        ushort partial = (ushort)~Checksum.Finish(Checksum.PseudoHeaderV4(IpA, IpB, IpProtocol.Udp, frame.Length - l4));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 6), partial);
        var offload = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoNone, 0, 0, (ushort)l4, 6);

        byte[]? delivered = null;
        Assert.True(SoftwareOffload.Deliver(frame, offload, 0, (_, f) => { delivered = f.ToArray(); return true; }));
        var udp = Packet.ParsePacket(LinkLayers.Ethernet, delivered!).Extract<UdpPacket>();
        Assert.True(udp.ValidUdpChecksum);
        Assert.Equal(partial, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(l4 + 6))); // the shared input is untouched
    }

    [Fact]
    public void The_switch_passes_offloads_through_to_capable_ports_and_segments_for_the_others()
    {
        using var net = TestNetwork.Create();
        var a = TestNetwork.Attach(net, "a", MacA, IpA);
        var b = TestNetwork.Attach(net, "b", MacB, IpB);
        b.Inject(Frames.Udp(MacA, MacB, IpB, IpA, 1, 2, new byte[4])); // b speaks first, so the switch learns it
        var (frame, offload) = GsoJob(20000, 1448, TcpFlags.Ack);

        b.SupportsOffload = true;
        a.Inject(frame, offload);
        Assert.Single(b.Sent);
        Assert.Equal(offload, b.SentOffloads[0]);

        b.Clear();
        b.SupportsOffload = false;
        a.Inject(frame, offload);
        Assert.Equal(14, b.Sent.Count);
        Assert.All(b.Sent, f => Assert.True(Packet.ParsePacket(LinkLayers.Ethernet, f).Extract<TcpPacket>().ValidTcpChecksum));
    }

    [Fact]
    public void A_malformed_job_is_refused_not_thrown()
    {
        var offload = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoTcpV4, 54, 1448, 34, 16);
        Assert.False(SoftwareOffload.Deliver(new byte[20], offload, 0, static (_, _) => true));
        Assert.False(SoftwareOffload.Deliver(new byte[60], offload with { GsoType = VirtioNetHeader.GsoNone, ChecksumStart = 200 }, 0, static (_, _) => true));
    }
}
