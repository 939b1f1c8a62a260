using System.Buffers.Binary;
using Switchyard.Network.Vxlan;
using Switchyard.Packets;
using static Switchyard.Network.Tests.Vxlan.TcpSegments;

namespace Switchyard.Network.Tests.Vxlan;

/// <summary>The receive side's software GRO (<see cref="TcpCoalescer"/>). The oracle throughout:
/// cutting what it delivered with SoftwareOffload (what a port without offloads gets) gives back
/// the frames it was given, byte for byte and in order; and only runs Linux's GRO would merge are merged.</summary>
public sealed class TcpCoalescerTests
{
    private const int Mss = 1398;

    /// <summary>A run of full segments (IPv4 ids counting up from <paramref name="id"/>), the last
    /// <paramref name="lastLength"/> long with <paramref name="lastFlags"/>.</summary>
    private static List<byte[]> Run(bool v6, int count, int lastLength = Mss, TcpFlags lastFlags = TcpFlags.Ack,
        byte[]? options = null, uint seq = 1000, ushort id = 500)
    {
        var frames = new List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            bool last = i == count - 1;
            int length = last ? lastLength : Mss;
            frames.Add(Build(new Spec(v6, seq, length)
            {
                Flags = last ? lastFlags : TcpFlags.Ack,
                Id = v6 ? (ushort)0 : (ushort)(id + i),
                Options = options ?? [],
            }));
            seq += (uint)length;
        }
        return frames;
    }

    [Theory]
    [InlineData(false, 2, Mss, TcpFlags.Ack)]
    [InlineData(false, 40, Mss, TcpFlags.Ack | TcpFlags.Psh)]
    [InlineData(false, 10, 100, TcpFlags.Ack | TcpFlags.Psh)]
    [InlineData(false, 5, 7, TcpFlags.Ack | TcpFlags.Fin)]
    [InlineData(true, 2, Mss, TcpFlags.Ack)]
    [InlineData(true, 30, 900, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin)]
    public void A_run_of_segments_becomes_one_superframe_that_cuts_back_into_the_originals(bool v6, int count, int lastLength, TcpFlags lastFlags)
    {
        var frames = Run(v6, count, lastLength, lastFlags, Timestamps(77, 66));
        var delivered = Coalesce(frames);

        var (super, offload) = Assert.Single(delivered);
        int l4 = EthernetFrame.HeaderLength + (v6 ? 40 : 20);
        Assert.Equal(v6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4, offload.GsoType);
        Assert.True(offload.NeedsChecksum);
        Assert.Equal(Mss, offload.GsoSize);
        Assert.Equal(l4, offload.ChecksumStart);
        Assert.Equal(16, offload.ChecksumOffset);
        Assert.Equal(l4 + 32, offload.HeaderLength);
        Assert.Equal(l4 + 32 + (count - 1) * Mss + lastLength, super.Length);
        // The TCP checksum field holds the pseudo-header sum over the whole segment (CHECKSUM_PARTIAL).
        int l4Length = super.Length - l4;
        ulong pseudo = v6
            ? Checksum.PseudoHeaderV6(super.AsSpan(22, 16), super.AsSpan(38, 16), IpProtocol.Tcp, l4Length)
            : Checksum.PseudoHeaderV4(Ipv4Address.Read(super.AsSpan(26)), Ipv4Address.Read(super.AsSpan(30)), IpProtocol.Tcp, l4Length);
        Assert.Equal((ushort)~Checksum.Finish(pseudo), BinaryPrimitives.ReadUInt16BigEndian(super.AsSpan(l4 + 16)));
        if (!v6) Assert.Equal(0, Checksum.Compute(super.AsSpan(14, 20))); // a valid IPv4 header
        Assert.Equal(frames, Resegment(delivered));
    }

    [Fact]
    public void A_lone_segment_is_delivered_as_it_came()
    {
        var frames = Run(false, 1);
        var (frame, offload) = Assert.Single(Coalesce(frames));
        Assert.True(offload.IsPlain);
        Assert.Equal(frames[0], frame);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_superframe_stops_short_of_64_KiB_of_IP_and_the_next_one_goes_on(bool v6)
    {
        var frames = Run(v6, 100);
        var delivered = Coalesce(frames);
        // 46 segments of 1398 bytes (and their headers) fit in 65535 bytes of IP, 100 make three superframes.
        Assert.Equal(3, delivered.Count);
        Assert.Equal(46 * Mss + (v6 ? 60 : 40), delivered[0].Frame.Length - EthernetFrame.HeaderLength);
        Assert.All(delivered, d => Assert.InRange(d.Frame.Length - EthernetFrame.HeaderLength, 1, 65535));
        Assert.Equal(frames, Resegment(delivered));
    }

    [Theory]
    [InlineData(TcpFlags.Ack | TcpFlags.Psh)]
    [InlineData(TcpFlags.Ack | TcpFlags.Fin)]
    public void Psh_and_fin_end_a_superframe(TcpFlags flags)
    {
        var frames = Run(false, 3, Mss, flags);
        frames.AddRange(Run(false, 3, seq: 1000 + 3 * Mss, id: 503));
        var delivered = Coalesce(frames);
        Assert.Equal(2, delivered.Count);
        Assert.Equal(flags, (TcpFlags)delivered[0].Frame[EthernetFrame.HeaderLength + 20 + 13]);
        Assert.Equal(frames, Resegment(delivered));
    }

    [Theory]
    [InlineData(TcpFlags.Ack | TcpFlags.Syn)]
    [InlineData(TcpFlags.Ack | TcpFlags.Rst)]
    [InlineData(TcpFlags.Ack | TcpFlags.Urg)]
    [InlineData(TcpFlags.Ack | TcpFlags.Cwr)]
    [InlineData(TcpFlags.Ack | TcpFlags.Ece)]
    public void Syn_rst_urg_cwr_and_other_flags_are_never_merged(TcpFlags flags)
    {
        var frames = Run(false, 2);
        frames.Add(Build(new Spec(false, 1000 + 2 * Mss, Mss) { Flags = flags, Id = 502 }));
        frames.AddRange(Run(false, 2, seq: 1000 + 3 * Mss, id: 503));
        var delivered = Coalesce(frames);
        Assert.Equal(3, delivered.Count);
        Assert.True(delivered[1].Offload.IsPlain);
        Assert.Equal(frames[2], delivered[1].Frame);
        Assert.Equal(frames, Resegment(delivered));
    }

    /// <summary>What makes a segment not continue the run before it (each one also fails the
    /// byte-for-byte oracle if merged).</summary>
    public static TheoryData<string> Breaks => ["gap", "overlap", "ack", "window", "tsval", "ttl", "id", "id-fixed", "port", "longer",
        "tcp-checksum", "ip-checksum", "ip-options", "more-fragments", "trailing", "empty", "mac"];

    [Theory]
    [MemberData(nameof(Breaks))]
    public void A_segment_that_does_not_continue_the_run_starts_another(string change)
    {
        var frames = Run(false, 2, options: Timestamps(5, 6));
        uint seq = 1000 + 2 * Mss;
        var spec = new Spec(false, seq, Mss) { Id = 502, Options = Timestamps(5, 6) };
        spec = change switch
        {
            "gap" => spec with { Seq = seq + 1 },
            "overlap" => spec with { Seq = seq - 100 },
            "ack" => spec with { Ack = 2 },
            "window" => spec with { Window = 999 },
            "tsval" => spec with { Options = Timestamps(6, 6) },
            "ttl" => spec with { Ttl = 63 },
            "id" => spec with { Id = 510 },
            "id-fixed" => spec with { Id = 501 },
            "port" => spec with { SourcePort = 40001 },
            "longer" => spec with { PayloadLength = Mss + 1 },
            "ip-options" => spec with { IpOptions = [1, 1, 1, 0] },
            "more-fragments" => spec with { FragmentField = 0x2000 },
            "trailing" => spec with { Trailing = 4 },
            "empty" => spec with { PayloadLength = 0 },
            _ => spec,
        };
        var odd = Build(spec);
        switch (change)
        {
            case "tcp-checksum": odd[^1] ^= 0x55; break;
            case "ip-checksum": odd[EthernetFrame.HeaderLength + 10] ^= 0x55; break;
            case "mac": odd[5] ^= 1; break;
        }
        frames.Add(odd);
        var delivered = Coalesce(frames);
        Assert.Equal(2, delivered.Count);
        Assert.True(delivered[0].Offload.IsGso);
        Assert.Equal(frames[2], delivered[1].Frame);
        Assert.Equal(frames, Resegment(delivered));
    }

    [Fact]
    public void A_segment_shorter_than_the_first_ends_the_superframe()
    {
        var frames = Run(false, 3, lastLength: 500);
        frames.AddRange(Run(false, 2, seq: 1000 + 2 * Mss + 500, id: 503));
        var delivered = Coalesce(frames);
        Assert.Equal(2, delivered.Count);
        Assert.Equal(5, Resegment(delivered).Count);
        Assert.Equal(frames, Resegment(delivered));
    }

    /// <summary>Random streams of two interleaved connections over both families with random
    /// faults: whatever is merged, the oracle holds, every superframe is one a TAP takes (at most
    /// 64 KiB of IP, equal-sized segments but the last), and none carries SYN, RST, URG or CWR.</summary>
    [Fact]
    public void Any_stream_cuts_back_into_itself()
    {
        var random = new Random(1414);
        int merged = 0;
        for (int round = 0; round < 300; round++)
        {
            var frames = new List<byte[]>();
            var next = new (uint Seq, ushort Id)[] { (1000, 100), (50000, 9000) };
            bool v6 = random.Next(2) == 0;
            int mss = random.Next(2) == 0 ? 1398 : 200 + random.Next(1200);
            for (int i = 0, n = random.Next(1, 120); i < n; i++)
            {
                int flow = random.Next(4) == 0 ? 1 : 0;
                var (seq, id) = next[flow];
                int length = random.Next(10) == 0 ? random.Next(0, mss + 2) : mss;
                var flags = random.Next(12) switch
                {
                    0 => TcpFlags.Ack | TcpFlags.Psh,
                    1 => TcpFlags.Ack | (TcpFlags)(1 << random.Next(8)),
                    _ => TcpFlags.Ack,
                };
                var spec = new Spec(v6, random.Next(30) == 0 ? seq + 1 : seq, length)
                {
                    Flags = flags,
                    Id = random.Next(30) == 0 ? (ushort)(id + 2) : id,
                    SourcePort = (ushort)(40000 + flow),
                    Options = random.Next(40) == 0 ? Timestamps(2, 1) : Timestamps(1, 1),
                    Ttl = random.Next(50) == 0 ? (byte)1 : (byte)64,
                    Fill = (byte)round,
                };
                var frame = Build(spec);
                if (random.Next(60) == 0) frame[^1] ^= 0xFF; // a corrupted payload byte: the checksum no longer holds
                frames.Add(frame);
                next[flow] = (seq + (uint)length, (ushort)(id + 1));
            }
            var delivered = Coalesce(frames);
            foreach (var (frame, offload) in delivered)
            {
                if (!offload.IsGso) continue;
                merged++;
                // At most 64 KiB of IP (IPv6 too: the switch takes no longer segmentation job).
                Assert.InRange(frame.Length, 1, Network.Switching.EthernetSwitch.MaxGsoFrameLength);
                Assert.InRange(frame.Length - EthernetFrame.HeaderLength, 1, 65535);
                var flags = (TcpFlags)frame[offload.ChecksumStart + 13];
                Assert.Equal(TcpFlags.None, flags & (TcpFlags.Syn | TcpFlags.Rst | TcpFlags.Urg | TcpFlags.Cwr));
            }
            Assert.Equal(frames, Resegment(delivered));
        }
        Assert.True(merged > 300, $"only {merged} superframes: the property test would prove little");
    }
}
