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
}
