using System.Buffers.Binary;
using PacketDotNet;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Vxlan;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Vxlan;

/// <summary>A TAP guest's TCP segmentation job through the tunnel: cut into MSS-sized segments,
/// encapsulated back to back (<see cref="VxlanSendBatch"/>) and sent with UDP GSO; the peer gets
/// the same frames, in order and checksummed, that one send per segment gave.</summary>
public sealed class VxlanSegmentationTests : IDisposable
{
    private readonly VxlanTestBed _bed = new();
    private static readonly MacAddress MacA = new(0x02_00_00_00_00_0A), MacB = new(0x02_00_00_00_00_0B);
    private static readonly Ipv4Address IpA = TestNetwork.IpA, IpB = TestNetwork.IpB;

    public void Dispose() => _bed.Dispose();

    /// <summary>A job as a TSO guest hands it over (CHECKSUM_PARTIAL), as SoftwareOffloadTests builds it.</summary>
    internal static (byte[] Frame, VirtioNetHeader Offload) GsoJob(MacAddress destination, int payloadLength, ushort mss)
    {
        var payload = new byte[payloadLength];
        new Random(7).NextBytes(payload);
        var frame = Frames.Tcp(destination, MacA, IpA, IpB, 40000, 5201, 1000, 1, TcpFlags.Ack | TcpFlags.Psh, payload);
        int l4 = EthernetFrameWriter.L4Offset;
        ushort partial = (ushort)~Checksum.Finish(Checksum.PseudoHeaderV4(IpA, IpB, IpProtocol.Tcp, frame.Length - l4));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 16), partial);
        return (frame, new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoTcpV4, (ushort)(l4 + 20), mss, (ushort)l4, 16));
    }

    [Fact]
    public void A_batch_lays_datagrams_back_to_back_equal_sized_but_the_last()
    {
        var batch = new VxlanSendBatch();
        var full = VxlanTestBed.Frame(MacB.Value, MacA.Value, 1000, fill: 1);
        var shorter = VxlanTestBed.Frame(MacB.Value, MacA.Value, 400, fill: 2);
        Assert.True(batch.TryAppend(full, 77));
        Assert.True(batch.TryAppend(full, 77));
        Assert.False(batch.TryAppend(VxlanTestBed.Frame(MacB.Value, MacA.Value, 1001), 77)); // longer than the first
        Assert.True(batch.TryAppend(shorter, 77));
        Assert.False(batch.TryAppend(shorter, 77)); // nothing after a shorter one: the kernel cuts at SegmentSize
        Assert.Equal(3, batch.Count);
        Assert.Equal(VxlanHeader.Length + 1000, batch.SegmentSize);
        Assert.Equal(2 * (VxlanHeader.Length + 1000) + VxlanHeader.Length + 400, batch.Length);
        var data = batch.Datagrams;
        for (int i = 0; i < 3; i++)
        {
            var datagram = data[(i * batch.SegmentSize)..];
            Assert.Equal(VxlanParseStatus.Ok, VxlanHeader.TryParse(datagram[..Math.Min(batch.SegmentSize, datagram.Length)], out var header));
            Assert.Equal(77u, header.Vni);
            Assert.Equal(i < 2 ? full : shorter, header.Payload.ToArray());
        }
        batch.Clear();
        Assert.Equal(0, batch.Count);
        Assert.Equal(0, batch.Length);
        Assert.True(batch.TryAppend(shorter, 77));
    }

    [Fact]
    public void A_batch_stops_at_the_segment_limit_and_at_64_KiB()
    {
        var batch = new VxlanSendBatch();
        var small = VxlanTestBed.Frame(MacB.Value, MacA.Value, 60);
        for (int i = 0; i < Platform.UdpSegmentation.MaxSegments; i++) Assert.True(batch.TryAppend(small, 1));
        Assert.False(batch.TryAppend(small, 1));

        batch.Clear();
        var big = VxlanTestBed.Frame(MacB.Value, MacA.Value, 1464);
        int fit = Platform.UdpSegmentation.MaxBytes / (VxlanHeader.Length + 1464);
        for (int i = 0; i < fit; i++) Assert.True(batch.TryAppend(big, 1));
        Assert.False(batch.TryAppend(big, 1));
        Assert.True(batch.Length <= Platform.UdpSegmentation.MaxBytes);
    }

    [Theory]
    [InlineData(20000, 1348)]
    [InlineData(65000, 1348)] // more than one batch of 64 KiB
    [InlineData(1000, 1348)]  // one segment: a plain send
    public void A_segmentation_job_arrives_as_checksummed_segments_in_order(int payloadLength, ushort mss)
    {
        var a = _bed.Open("127.0.0.1");
        var b = _bed.Open("127.0.0.2", a.Local);
        a.Tunnel.SetPeers([b.Local]);
        if (OperatingSystem.IsLinux()) Assert.True(a.Tunnel.SupportsOffload); // UDP GSO: Linux 4.18+
        // B's guest speaks first: A learns MacB behind B.
        Assert.True(b.Tunnel.TrySend(VxlanTestBed.Frame(0xFFFF_FFFF_FFFF, MacB.Value), VirtioNetHeader.None));
        a.Next();

        var (frame, offload) = GsoJob(MacB, payloadLength, mss);
        Assert.True(a.Tunnel.TrySend(frame, offload));
        int segments = (payloadLength + mss - 1) / mss;
        var joined = new List<byte>();
        uint seq = 1000;
        for (int i = 0; i < segments; i++)
        {
            var ip = Packet.ParsePacket(LinkLayers.Ethernet, b.Next()).Extract<IPv4Packet>();
            var tcp = ip.Extract<TcpPacket>();
            Assert.True(ip.ValidChecksum);
            Assert.True(tcp.ValidTcpChecksum);
            Assert.Equal(seq, tcp.SequenceNumber);
            Assert.Equal(i == segments - 1, tcp.Push);
            joined.AddRange(tcp.PayloadData);
            seq += (uint)tcp.PayloadData.Length;
        }
        b.NothingMore();
        Assert.Equal(frame.AsSpan(EthernetFrameWriter.L4Offset + 20).ToArray(), joined.ToArray());
        // On Linux (UDP GRO) the receiving side merges the segments again (TcpCoalescer).
        if (OperatingSystem.IsLinux() && segments > 1) Assert.InRange(b.Superframes, 1, segments - 1);
        var counters = a.Tunnel.Counters;
        Assert.Equal(segments, counters.DatagramsOut);
        Assert.Equal(segments, counters.SentPerPeer[b.Local.ToString()]);
        Assert.Equal(0, counters.Replicated);
        Assert.Equal(segments, b.Tunnel.Counters.DatagramsIn);
    }

    [Fact]
    public void A_job_to_an_unknown_mac_is_replicated_to_every_peer_segment_by_segment()
    {
        var a = _bed.Open("127.0.0.1");
        var b = _bed.Open("127.0.0.2", a.Local);
        var c = _bed.Open("127.0.0.3", a.Local);
        a.Tunnel.SetPeers([b.Local, c.Local]);
        var (frame, offload) = GsoJob(MacB, 10000, 1348);
        Assert.True(a.Tunnel.TrySend(frame, offload));
        for (int i = 0; i < 8; i++) { b.Next(); c.Next(); }
        b.NothingMore();
        c.NothingMore();
        var counters = a.Tunnel.Counters;
        Assert.Equal(8, counters.Replicated);
        Assert.Equal(16, counters.DatagramsOut);
        Assert.Equal(8, counters.SentPerPeer[c.Local.ToString()]);
    }

    [Fact]
    public void Segments_over_the_mtu_are_dropped_counted_and_answered_with_icmp()
    {
        var a = _bed.Open("127.0.0.1");
        var b = _bed.Open("127.0.0.2", a.Local);
        a.Tunnel.SetPeers([b.Local]);
        // MSS 1448 makes 1502-byte frames: over the network's MTU of 1400.
        var (frame, offload) = GsoJob(MacB, 10000, 1448);
        Assert.False(a.Tunnel.TrySend(frame, offload));
        b.NothingMore();
        Assert.Equal(1, a.Tunnel.Counters.DroppedTooBig);
        Assert.Equal(0, a.Tunnel.Counters.DatagramsOut);
        var reply = Packet.ParsePacket(LinkLayers.Ethernet, a.Next()).Extract<IcmpV4Packet>();
        Assert.Equal(IcmpV4TypeCode.UnreachableFragmentationNeeded, reply.TypeCode);
    }

    [Fact]
    public void Sending_segmentation_jobs_allocates_nothing()
    {
        var a = _bed.Open("127.0.0.1");
        var b = _bed.Open("127.0.0.2", a.Local);
        var c = _bed.Open("127.0.0.3", a.Local);
        a.Tunnel.SetPeers([b.Local, c.Local]);
        Assert.True(b.Tunnel.TrySend(VxlanTestBed.Frame(0xFFFF_FFFF_FFFF, MacB.Value), VirtioNetHeader.None));
        a.Next();
        var (unicast, offload) = GsoJob(MacB, 30000, 1348);
        var (flooded, _) = GsoJob(new MacAddress(0x02_00_00_00_00_99), 30000, 1348);
        for (int i = 0; i < 20; i++) { a.Tunnel.TrySend(unicast, offload); a.Tunnel.TrySend(flooded, offload); } // this thread's buffers

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++)
        {
            a.Tunnel.TrySend(unicast, offload);
            a.Tunnel.TrySend(flooded, offload);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

/// <summary>Cutting a coalesced receive (UDP_GRO) back into its datagrams.</summary>
public sealed class VxlanGroSplitTests
{
    [Theory]
    [InlineData(4416, 1472, new[] { 1472, 1472, 1472 })]
    [InlineData(3000, 1472, new[] { 1472, 1472, 56 })]
    [InlineData(900, 0, new[] { 900 })]      // not coalesced: one datagram
    [InlineData(900, 1472, new[] { 900 })]   // one shorter than the segment size
    public void A_coalesced_receive_is_cut_at_the_segment_size_the_last_one_shorter(int length, int segment, int[] expected)
    {
        var lengths = new List<int>();
        for (int at = 0, n; at < length; at += n) lengths.Add(n = VxlanGroReceiver.Split(length - at, segment));
        Assert.Equal(expected, lengths);
    }
}
