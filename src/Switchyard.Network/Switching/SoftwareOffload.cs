using System.Buffers.Binary;
using Switchyard.Packets;

namespace Switchyard.Network.Switching;

/// <summary>Does in software what a TAP guest's kernel left to "the NIC" (<see cref="VirtioNetHeader"/>),
/// for a port that cannot take offloaded frames: completes a partial checksum, or cuts a TCP
/// segmentation job into MSS-sized segments with their own headers and checksums (what Linux's
/// GSO does, net/ipv4/tcp_offload.c). Works in a per-thread scratch buffer: the frame it gets
/// may be shared by several egress ports (flooding) and is never modified.</summary>
public static class SoftwareOffload
{
    [ThreadStatic] private static byte[]? t_scratch;

    /// <summary>Where the plain frames go; <paramref name="state"/> lets callers pass a static
    /// lambda, so the hot path allocates no closure.</summary>
    public delegate bool FrameSink<TState>(TState state, ReadOnlySpan<byte> frame);

    /// <summary>Hands <paramref name="sink"/> the plain frame(s) that <paramref name="frame"/>
    /// stands for. Returns false when a frame could not be made (malformed job) or the sink refused one.</summary>
    public static bool Deliver<TState>(ReadOnlySpan<byte> frame, in VirtioNetHeader offload, TState state, FrameSink<TState> sink)
    {
        if (offload.IsPlain || (!offload.IsGso && !offload.NeedsChecksum)) return sink(state, frame);
        var scratch = t_scratch ??= new byte[65536 + 64];
        if (!offload.IsGso)
        {
            if (frame.Length > scratch.Length || !TryCompleteChecksum(frame, offload, scratch)) return false;
            return sink(state, scratch.AsSpan(0, frame.Length));
        }
        return Segment(frame, offload, scratch, state, sink);
    }

    /// <summary>CHECKSUM_PARTIAL: the checksum field holds the pseudo-header sum; summing from
    /// ChecksumStart to the end (field included) and complementing gives the final value.</summary>
    private static bool TryCompleteChecksum(ReadOnlySpan<byte> frame, in VirtioNetHeader o, Span<byte> scratch)
    {
        int start = o.ChecksumStart, field = o.ChecksumStart + o.ChecksumOffset;
        if (start >= frame.Length || field + 2 > frame.Length) return false;
        frame.CopyTo(scratch);
        BinaryPrimitives.WriteUInt16BigEndian(scratch[field..], Checksum.Finish(Checksum.Add(0, scratch[start..frame.Length])));
        return true;
    }

    private static bool Segment<TState>(ReadOnlySpan<byte> frame, in VirtioNetHeader o, Span<byte> scratch, TState state, FrameSink<TState> sink)
    {
        // Find the headers ourselves: HeaderLength comes from the guest and is only a hint.
        if (!EthernetFrame.TryParse(frame, out var eth) || o.GsoSize == 0) return false;
        int l3 = eth.PayloadOffset;
        bool v4 = eth.EtherType == EtherType.IPv4;
        int l4;
        if (v4)
        {
            if (!Ipv4Packet.TryParse(frame[l3..], out var ip) || ip.Protocol != IpProtocol.Tcp) return false;
            l4 = l3 + ip.HeaderLength;
        }
        else if (eth.EtherType == EtherType.IPv6 && frame.Length >= l3 + 40 && frame[l3 + 6] == IpProtocol.Tcp) l4 = l3 + 40;
        else return false;
        if (!TcpSegment.TryParse(frame[l4..], out var tcp)) return false;
        int headers = l4 + tcp.HeaderLength;
        var payload = frame[headers..];
        uint seq = tcp.SequenceNumber;
        var flags = tcp.Flags;
        ushort ipId = v4 ? BinaryPrimitives.ReadUInt16BigEndian(frame[(l3 + 4)..]) : (ushort)0;

        for (int offset = 0, i = 0; offset < payload.Length || (offset == 0 && payload.Length == 0); offset += o.GsoSize, i++)
        {
            int chunk = Math.Min(o.GsoSize, payload.Length - offset);
            bool last = offset + chunk >= payload.Length;
            frame[..headers].CopyTo(scratch);
            payload.Slice(offset, chunk).CopyTo(scratch[headers..]);
            int l4Length = tcp.HeaderLength + chunk;
            var seg = scratch[l4..];
            BinaryPrimitives.WriteUInt32BigEndian(seg[4..], seq + (uint)offset);
            var f = flags;
            if (!last) f &= ~(TcpFlags.Fin | TcpFlags.Psh);
            if (i > 0) f &= ~TcpFlags.Cwr;
            seg[13] = (byte)f;
            seg[16] = seg[17] = 0;
            ulong sum;
            if (v4)
            {
                var ip = scratch[l3..];
                BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(l4 - l3 + l4Length));
                BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(ipId + i));
                ip[10] = ip[11] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..(l4 - l3)]));
                sum = Checksum.PseudoHeaderV4(Ipv4Address.Read(ip[12..]), Ipv4Address.Read(ip[16..]), IpProtocol.Tcp, l4Length);
            }
            else
            {
                var ip = scratch[l3..];
                BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)l4Length);
                sum = Checksum.PseudoHeaderV6(ip.Slice(8, 16), ip.Slice(24, 16), IpProtocol.Tcp, l4Length);
            }
            BinaryPrimitives.WriteUInt16BigEndian(seg[16..], Checksum.Finish(Checksum.Add(sum, seg[..l4Length])));
            if (!sink(state, scratch[..(headers + chunk)])) return false;
            if (payload.Length == 0) break;
        }
        return true;
    }
}
