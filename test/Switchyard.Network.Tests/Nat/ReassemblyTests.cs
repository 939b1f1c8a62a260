using System.Buffers.Binary;
using Switchyard.Network.Nat;
using Switchyard.Packets;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Nat;

public sealed class ReassemblyTests
{
    /// <summary>Cuts a guest's IPv4 frame into fragments of at most <paramref name="mtu"/> bytes, as its kernel would.</summary>
    internal static List<byte[]> Fragment(byte[] frame, int mtu)
    {
        var ip = frame.AsSpan(EthernetFrameWriter.Ipv4Offset);
        int hl = (ip[0] & 0xF) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        int piece = (mtu - hl) & ~7;
        var result = new List<byte[]>();
        for (int offset = 0; offset < total - hl; offset += piece)
        {
            int n = Math.Min(piece, total - hl - offset);
            var f = new byte[EthernetFrameWriter.Ipv4Offset + hl + n];
            frame.AsSpan(0, EthernetFrameWriter.Ipv4Offset + hl).CopyTo(f);
            ip.Slice(hl + offset, n).CopyTo(f.AsSpan(EthernetFrameWriter.Ipv4Offset + hl));
            var h = f.AsSpan(EthernetFrameWriter.Ipv4Offset);
            BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)(hl + n));
            BinaryPrimitives.WriteUInt16BigEndian(h[4..], 0x1234);
            BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)((offset >> 3) | (offset + n < total - hl ? 0x2000 : 0)));
            h[10] = h[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(h[10..], Checksum.Compute(h[..hl]));
            result.Add(f);
        }
        return result;
    }

    /// <summary>The L4 bytes of fragments the NAT sent to a guest (in order, one datagram), checking
    /// each fragment's header on the way.</summary>
    internal static byte[] Join(IReadOnlyList<byte[]> fragments, int mtu)
    {
        var whole = new List<byte>();
        ushort id = 0;
        for (int i = 0; i < fragments.Count; i++)
        {
            Assert.True(fragments[i].Length <= mtu + EthernetFrame.HeaderLength);
            var ip = Parse(fragments[i]);
            Assert.True(ip.IsHeaderChecksumValid);
            if (i == 0) id = ip.Identification; else Assert.Equal(id, ip.Identification);
            Assert.Equal(i < fragments.Count - 1, ip.MoreFragments);
            Assert.Equal(whole.Count, ip.FragmentOffset);
            whole.AddRange(ip.Payload.ToArray());
        }
        return [.. whole];
    }

    private static Ipv4Packet Parse(byte[] frame)
    {
        Assert.True(Ipv4Packet.TryParse(frame.AsSpan(EthernetFrameWriter.Ipv4Offset), out var ip));
        return ip;
    }

    private static byte[] BigUdp(int payload) =>
        Infrastructure.Frames.Udp(GatewayMac, MacA, IpA, Ipv4Address.Parse("192.0.2.7"), 40000, 9, [.. Enumerable.Range(0, payload).Select(i => (byte)(i * 31))]);

    [Fact]
    public void Fragments_in_any_order_make_the_original_datagram()
    {
        var original = BigUdp(4000);
        var fragments = Fragment(original, 1500);
        Assert.Equal(3, fragments.Count);
        var r = new Ipv4Reassembly();
        Assert.Equal(Ipv4Reassembly.Result.Pending, r.Add(Parse(fragments[2]), 0, out _, out _, out _));
        Assert.Equal(Ipv4Reassembly.Result.Pending, r.Add(Parse(fragments[0]), 0, out _, out _, out _));
        Assert.Equal(Ipv4Reassembly.Result.Complete, r.Add(Parse(fragments[1]), 0, out var buffer, out int start, out int length));

        Assert.True(Ipv4Packet.TryParse(buffer.AsSpan(start, length), out var whole));
        Assert.True(whole.IsHeaderChecksumValid);
        Assert.False(whole.IsFragment);
        Assert.Equal(original.Length - EthernetFrameWriter.Ipv4Offset, whole.TotalLength);
        Assert.Equal(original.AsSpan(EthernetFrameWriter.L4Offset).ToArray(), whole.Payload.ToArray());
        Assert.True(UdpDatagram.TryParse(whole.Payload, out var udp) && udp.IsChecksumValid(whole.Source, whole.Destination));
        Ipv4Reassembly.Return(buffer!);
        Assert.Equal(0, r.InProgress);
    }

    [Fact]
    public void Overlaps_drop_the_datagram_and_stale_ones_expire()
    {
        var fragments = Fragment(BigUdp(4000), 1500);
        var r = new Ipv4Reassembly();
        Assert.Equal(Ipv4Reassembly.Result.Pending, r.Add(Parse(fragments[0]), 0, out _, out _, out _));
        Assert.Equal(Ipv4Reassembly.Result.Dropped, r.Add(Parse(fragments[0]), 0, out _, out _, out _));
        Assert.Equal(0, r.InProgress);

        Assert.Equal(Ipv4Reassembly.Result.Pending, r.Add(Parse(fragments[1]), 0, out _, out _, out _));
        r.Expire(TimeSpan.FromSeconds(5).Ticks);
        Assert.Equal(1, r.InProgress);
        r.Expire(TimeSpan.FromSeconds(11).Ticks);
        Assert.Equal(0, r.InProgress);
    }

    [Fact]
    public void A_datagram_past_65535_bytes_and_odd_middle_fragments_are_dropped()
    {
        var r = new Ipv4Reassembly();
        var f = Fragment(BigUdp(4000), 1500)[2];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(EthernetFrameWriter.Ipv4Offset + 6), (ushort)(65000 >> 3));
        Assert.Equal(Ipv4Reassembly.Result.Dropped, r.Add(Parse(f), 0, out _, out _, out _));

        var odd = Fragment(BigUdp(4000), 1500)[0];
        Array.Resize(ref odd, odd.Length - 3);
        BinaryPrimitives.WriteUInt16BigEndian(odd.AsSpan(EthernetFrameWriter.Ipv4Offset + 2), (ushort)(odd.Length - EthernetFrameWriter.Ipv4Offset));
        Assert.Equal(Ipv4Reassembly.Result.Dropped, r.Add(Parse(odd), 0, out _, out _, out _));
        Assert.Equal(0, r.InProgress);
    }

    [Fact]
    public void At_most_a_fixed_number_are_in_progress()
    {
        var r = new Ipv4Reassembly();
        var first = Fragment(BigUdp(4000), 1500)[0];
        for (int i = 0; i < Ipv4Reassembly.MaxInProgress; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(first.AsSpan(EthernetFrameWriter.Ipv4Offset + 4), (ushort)i);
            Assert.Equal(Ipv4Reassembly.Result.Pending, r.Add(Parse(first), 0, out _, out _, out _));
        }
        BinaryPrimitives.WriteUInt16BigEndian(first.AsSpan(EthernetFrameWriter.Ipv4Offset + 4), 9999);
        Assert.Equal(Ipv4Reassembly.Result.Dropped, r.Add(Parse(first), 0, out _, out _, out _));
        r.Clear();
        Assert.Equal(0, r.InProgress);
    }
    /// <summary>One IPv4 fragment of UDP from a guest, with a header of <paramref name="headerLength"/>
    /// bytes (options are zero, End of Option List), not in a frame.</summary>
    private static byte[] RawFragment(int offset, byte[] data, bool more, int headerLength = 20)
    {
        var p = new byte[headerLength + data.Length];
        p[0] = (byte)(0x40 | headerLength / 4);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), 0x1234);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), (ushort)((offset >> 3) | (more ? 0x2000 : 0)));
        p[8] = 64;
        p[9] = IpProtocol.Udp;
        IpA.Write(p.AsSpan(12));
        Ipv4Address.Parse("192.0.2.7").Write(p.AsSpan(16));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum.Compute(p.AsSpan(0, headerLength)));
        data.CopyTo(p.AsSpan(headerLength));
        return p;
    }

    private static Ipv4Reassembly.Result AddRaw(Ipv4Reassembly r, byte[] packet, out byte[]? buffer)
    {
        Assert.True(Ipv4Packet.TryParse(packet, out var ip));
        return r.Add(ip, 0, out buffer, out _, out _);
    }

    /// <summary>Fuzzing regression (fuzz/run.sh's reassembly target, 850 inputs in): a fragment that ends past
    /// where the last fragment later says the datagram ends was counted as received, so fragments
    /// [0,48), [112,160) and then the last [96,108) passed for a complete 108-byte payload, and
    /// bytes 48..96, which no fragment carried, went out holding the pooled buffer's old contents.</summary>
    [Fact]
    public void A_fragment_past_the_end_the_last_one_sets_drops_the_datagram_rather_than_leave_a_hole()
    {
        var r = new Ipv4Reassembly();
        var data = Enumerable.Range(0, 160).Select(i => (byte)i).ToArray();
        Assert.Equal(Ipv4Reassembly.Result.Pending, AddRaw(r, RawFragment(0, data[..48], more: true), out _));
        Assert.Equal(Ipv4Reassembly.Result.Pending, AddRaw(r, RawFragment(112, data[112..160], more: true), out _));
        Assert.Equal(Ipv4Reassembly.Result.Dropped, AddRaw(r, RawFragment(96, data[96..108], more: false), out var buffer));
        Assert.Null(buffer);
        Assert.Equal(0, r.InProgress);
    }

    /// <summary>Found reading the reassembly for its fuzz target (the target checks it, but 45
    /// fragments are beyond what AFL++ builds): MaxPayload assumes a 20-byte header, so a first
    /// fragment with 40 bytes of options made a 65,572-byte "datagram" whose Total Length wrapped
    /// around 16 bits.</summary>
    [Fact]
    public void A_datagram_whose_header_and_payload_pass_65535_bytes_is_dropped()
    {
        const int payload = 65512, piece = 1480;
        var r = new Ipv4Reassembly();
        var result = Ipv4Reassembly.Result.Pending;
        for (int offset = 0; offset < payload; offset += piece)
        {
            int n = Math.Min(piece, payload - offset);
            bool more = offset + n < payload;
            result = AddRaw(r, RawFragment(offset, new byte[n], more, headerLength: offset == 0 ? 60 : 20), out var buffer);
            if (more) Assert.Equal(Ipv4Reassembly.Result.Pending, result);
            if (buffer is not null) Ipv4Reassembly.Return(buffer);
        }
        Assert.Equal(Ipv4Reassembly.Result.Dropped, result);
        Assert.Equal(0, r.InProgress);
    }
}
