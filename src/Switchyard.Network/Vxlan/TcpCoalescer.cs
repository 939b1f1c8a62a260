using System.Buffers.Binary;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Vxlan;

/// <summary>Software GRO for what comes out of a VXLAN tunnel: consecutive in-order segments of one
/// TCP connection are merged into one superframe that goes to the switch with a virtio-net
/// segmentation header (<see cref="VirtioNetHeader.GsoTcpV4"/>/<see cref="VirtioNetHeader.GsoTcpV6"/>
/// and <see cref="VirtioNetHeader.FlagNeedsChecksum"/>), as Linux's GRO hands one skb of up to
/// 64 KiB to its stack. A TAP guest then gets one write (and its kernel one pass through TCP) per
/// superframe instead of one per 1450-byte frame; a port that cannot take offloads gets the
/// original segments back from <see cref="Switching.SoftwareOffload"/>.
/// <para>The merge rules are Linux's (net/ipv4/tcp_offload.c <c>tcp_gro_receive</c>,
/// net/ipv4/af_inet.c <c>inet_gro_receive</c>, net/ipv6/ip6_offload.c), made strict enough that
/// cutting the superframe again gives back the original frames byte for byte:</para>
/// <list type="bullet">
/// <item>Ethernet: untagged, the same header (addresses and EtherType).</item>
/// <item>IPv4: a 20-byte header (no options, as Linux), a valid header checksum, not a fragment,
/// no trailing bytes after the total length; every byte equal to the first segment's but the
/// total length, the checksum and the identification, which must go up by one per segment (the
/// ids Linux's TSO and <see cref="Switching.SoftwareOffload"/> give; Linux GRO also accepts a
/// fixed id with DF, which this does not, so re-segmenting stays exact).</item>
/// <item>IPv6: TCP directly after the fixed header (no extension headers), the same first word
/// (traffic class, flow label), hop limit and addresses; the payload length fills the frame.</item>
/// <item>TCP: the next segment's sequence number is the previous one's plus its length (RFC 9293
/// section 3.4); ports, acknowledgment number, data offset, window, urgent pointer and every option
/// byte equal to the first segment's (Linux compares the options word for word, timestamps
/// included: a segment with another TSval starts a new superframe); a valid checksum (Linux's GRO
/// validates it too: the superframe leaves with a partial checksum the guest will not check).</item>
/// <item>Flags: the same on every segment; SYN, RST, URG and CWR are never merged (Linux flushes
/// on SYN/RST/URG and on CWR after the first segment); PSH or FIN end the superframe, as does a
/// segment shorter than the first (the segment size, <see cref="VirtioNetHeader.GsoSize"/>);
/// empty segments (pure ACKs) are never merged.</item>
/// </list>
/// <para>One connection at a time: a frame that does not continue the held superframe flushes it
/// first, so frames leave in the order they came. Owned by one thread (the tunnel's receive
/// thread); no allocation after construction.</para></summary>
internal sealed class TcpCoalescer
{
    /// <summary>The longest superframe: an Ethernet header and 64 KiB of IP, IPv6 included (the
    /// switch takes no longer segmentation job: <see cref="Switching.EthernetSwitch.MaxGsoFrameLength"/>).</summary>
    public const int MaxFrameLength = EthernetFrame.HeaderLength + 65535;

    private const int Ipv4Header = 20, Ipv6Header = 40, L3 = EthernetFrame.HeaderLength;
    private const TcpFlags Never = TcpFlags.Syn | TcpFlags.Rst | TcpFlags.Urg | TcpFlags.Cwr;
    private const TcpFlags Ending = TcpFlags.Psh | TcpFlags.Fin;

    private readonly byte[] _buffer = new byte[MaxFrameLength];
    private int _length, _count, _l4, _headers, _mss;
    private bool _v4, _closed;
    private uint _nextSeq;
    private ushort _nextId;
    private TcpFlags _flags, _lastFlags;

    /// <summary>Segments in the held frame (0: none held).</summary>
    public int Count => _count;

    /// <summary>Takes <paramref name="frame"/>: merged into the held superframe, or held as the start
    /// of a new one (after flushing the held one to <paramref name="deliver"/>), or, when it is no
    /// candidate, delivered at once after the held one.</summary>
    public void Add(ReadOnlySpan<byte> frame, FrameHandler deliver)
    {
        if (TryAppend(frame)) return;
        Flush(deliver);
        if (!TryStart(frame)) deliver(frame, VirtioNetHeader.None);
    }

    /// <summary>Merges <paramref name="frame"/> into the held superframe when it continues it;
    /// false (nothing changes) otherwise.</summary>
    public bool TryAppend(ReadOnlySpan<byte> frame)
    {
        if (_count == 0 || _closed || frame.Length <= _headers) return false;
        var held = _buffer.AsSpan(0, _headers);
        int payload = frame.Length - _headers;
        if (payload > _mss || _length + payload > MaxFrameLength) return false;
        if (!SameHeaders(frame, held)) return false;
        // The IP length must fill the frame exactly (no trailing bytes to lose in the merge).
        if (BinaryPrimitives.ReadUInt16BigEndian(frame[(L3 + (_v4 ? 2 : 4))..]) != frame.Length - L3 - (_v4 ? 0 : Ipv6Header)) return false;
        var tcp = frame[_l4..];
        var flags = (TcpFlags)tcp[13];
        if ((flags & ~Ending) != _flags) return false;
        if (BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]) != _nextSeq) return false;
        if (_v4 && BinaryPrimitives.ReadUInt16BigEndian(frame[(L3 + 4)..]) != _nextId) return false;
        // The payload lands past the held bytes while its checksum is summed; it counts only if valid.
        if (!TryCopyChecked(frame, _v4, _l4, _headers, _buffer.AsSpan(_length))) return false;

        _length += payload;
        _count++;
        _nextSeq += (uint)payload;
        _nextId++;
        _lastFlags = flags;
        _closed = payload < _mss || (flags & Ending) != 0;
        return true;
    }

    /// <summary>Holds <paramref name="frame"/> as the first segment of a superframe; false when it
    /// cannot start one (not a data segment of TCP, or a flag that ends or forbids merging).</summary>
    public bool TryStart(ReadOnlySpan<byte> frame)
    {
        if (_count != 0) return false;
        if (!TryParse(frame, out bool v4, out int l4, out int headers)) return false;
        var flags = (TcpFlags)frame[l4 + 13];
        if ((flags & (Never | Ending)) != 0) return false;
        frame[..headers].CopyTo(_buffer);
        if (!TryCopyChecked(frame, v4, l4, headers, _buffer.AsSpan(headers))) return false;
        _length = frame.Length;
        _count = 1;
        _v4 = v4;
        _l4 = l4;
        _headers = headers;
        _mss = frame.Length - headers;
        _flags = _lastFlags = flags;
        _closed = false;
        _nextSeq = BinaryPrimitives.ReadUInt32BigEndian(frame[(l4 + 4)..]) + (uint)_mss;
        _nextId = v4 ? (ushort)(BinaryPrimitives.ReadUInt16BigEndian(frame[(L3 + 4)..]) + 1) : (ushort)0;
        return true;
    }

    /// <summary>Hands the held frame to <paramref name="deliver"/> (one segment: as it came; more:
    /// the superframe with its segmentation header) and holds nothing after.</summary>
    public void Flush(FrameHandler deliver)
    {
        if (_count == 0) return;
        int count = _count;
        _count = 0;
        var frame = _buffer.AsSpan(0, _length);
        if (count == 1)
        {
            deliver(frame, VirtioNetHeader.None);
            return;
        }
        var tcp = frame[_l4..];
        tcp[13] = (byte)(_flags | (_lastFlags & Ending));
        int l4Length = frame.Length - _l4;
        ulong pseudo;
        if (_v4)
        {
            var ip = frame[L3..];
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(frame.Length - L3));
            ip[10] = ip[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..Ipv4Header]));
            pseudo = Checksum.PseudoHeaderV4(Ipv4Address.Read(ip[12..]), Ipv4Address.Read(ip[16..]), IpProtocol.Tcp, l4Length);
        }
        else
        {
            var ip = frame[L3..];
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)l4Length);
            pseudo = Checksum.PseudoHeaderV6(ip.Slice(8, 16), ip.Slice(24, 16), IpProtocol.Tcp, l4Length);
        }
        // CHECKSUM_PARTIAL (virtio 1.2 section 5.1.6.2): the field holds the pseudo-header sum,
        // folded and not complemented, as Linux's tcp_gro_complete leaves it.
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~Checksum.Finish(pseudo));
        var offload = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, _v4 ? VirtioNetHeader.GsoTcpV4 : VirtioNetHeader.GsoTcpV6,
            (ushort)_headers, (ushort)_mss, (ushort)_l4, 16);
        deliver(frame, offload);
    }

    /// <summary>Whether <paramref name="frame"/>'s headers are the held first segment's, apart from
    /// what differs between segments (lengths, checksums, IPv4 id, TCP sequence number and flags,
    /// which the caller checks).</summary>
    private bool SameHeaders(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> held)
    {
        if (_v4)
        {
            // Total length at 2-3, id at 4-5, header checksum at 10-11 of the IPv4 header.
            if (!frame[..(L3 + 2)].SequenceEqual(held[..(L3 + 2)])
                || !frame[(L3 + 6)..(L3 + 10)].SequenceEqual(held[(L3 + 6)..(L3 + 10)])
                || !frame[(L3 + 12)..(L3 + Ipv4Header)].SequenceEqual(held[(L3 + 12)..(L3 + Ipv4Header)])) return false;
        }
        else if (!frame[..(L3 + 4)].SequenceEqual(held[..(L3 + 4)])
                 || !frame[(L3 + 6)..(L3 + Ipv6Header)].SequenceEqual(held[(L3 + 6)..(L3 + Ipv6Header)])) return false; // payload length at 4-5
        // TCP: ports and acknowledgment (0-3, 8-11), data offset (12), window (14-15), urgent
        // pointer (18-19) and options; sequence (4-7), flags (13) and checksum (16-17) differ.
        var a = frame[_l4..];
        var b = held[_l4..];
        return a[..4].SequenceEqual(b[..4]) && a[8..13].SequenceEqual(b[8..13]) && a[14..16].SequenceEqual(b[14..16])
            && a[18..(_headers - _l4)].SequenceEqual(b[18..(_headers - _l4)]);
    }

    /// <summary>Finds the headers of a TCP data segment that may be merged: untagged IPv4 without
    /// options and not fragmented, or IPv6 with TCP as its next header; the IP length exactly
    /// filling the frame; a TCP payload of at least one byte.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> frame, out bool v4, out int l4, out int headers)
    {
        v4 = false;
        l4 = headers = 0;
        if (frame.Length < L3 + Ipv4Header + TcpSegment.MinHeaderLength || frame.Length > MaxFrameLength) return false;
        var ip = frame[L3..];
        switch (BinaryPrimitives.ReadUInt16BigEndian(frame[12..]))
        {
            case EtherType.IPv4:
                // 0x45: version 4, a 20-byte header. Flags and fragment offset: only DF may be set.
                if (ip[0] != 0x45 || ip[9] != IpProtocol.Tcp || (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0xBFFF) != 0) return false;
                if (BinaryPrimitives.ReadUInt16BigEndian(ip[2..]) != ip.Length) return false;
                v4 = true;
                l4 = L3 + Ipv4Header;
                break;
            case EtherType.IPv6:
                if (ip.Length < Ipv6Header + TcpSegment.MinHeaderLength || ip[0] >> 4 != 6 || ip[6] != IpProtocol.Tcp) return false;
                if (BinaryPrimitives.ReadUInt16BigEndian(ip[4..]) != ip.Length - Ipv6Header) return false;
                l4 = L3 + Ipv6Header;
                break;
            default:
                return false;
        }
        int offset = (frame[l4 + 12] >> 4) * 4;
        if (offset < TcpSegment.MinHeaderLength) return false;
        headers = l4 + offset;
        return headers < frame.Length;
    }

    /// <summary>Copies the payload of a segment <see cref="TryParse"/> accepted to
    /// <paramref name="destination"/> while checking its IPv4 header checksum and its TCP checksum
    /// (RFC 9293 section 3.1): one pass over the payload. False when either is wrong (the copied
    /// bytes are then to be ignored).</summary>
    private static bool TryCopyChecked(ReadOnlySpan<byte> frame, bool v4, int l4, int headers, Span<byte> destination)
    {
        var ip = frame[L3..];
        int l4Length = frame.Length - l4;
        ulong sum;
        if (v4)
        {
            if (Checksum.Compute(ip[..Ipv4Header]) != 0) return false;
            sum = Checksum.PseudoHeaderV4(Ipv4Address.Read(ip[12..]), Ipv4Address.Read(ip[16..]), IpProtocol.Tcp, l4Length);
        }
        else sum = Checksum.PseudoHeaderV6(ip.Slice(8, 16), ip.Slice(24, 16), IpProtocol.Tcp, l4Length);
        sum = Checksum.Add(sum, frame[l4..headers]);
        return Checksum.Finish(Checksum.CopyAndAdd(sum, frame[headers..], destination)) == 0;
    }
}
