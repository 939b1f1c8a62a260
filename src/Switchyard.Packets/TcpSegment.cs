using System.Buffers.Binary;

namespace Switchyard.Packets;

[Flags]
public enum TcpFlags : byte
{
    None = 0, Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10, Urg = 0x20, Ece = 0x40, Cwr = 0x80,
}

/// <summary>A TCP segment (RFC 9293 §3.1), viewed in place.</summary>
public readonly ref struct TcpSegment
{
    public const int MinHeaderLength = 20;

    public readonly ReadOnlySpan<byte> Bytes;
    public readonly int HeaderLength;

    private TcpSegment(ReadOnlySpan<byte> bytes, int headerLength) { Bytes = bytes; HeaderLength = headerLength; }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(Bytes);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(Bytes[2..]);
    public uint SequenceNumber => BinaryPrimitives.ReadUInt32BigEndian(Bytes[4..]);
    public uint AcknowledgmentNumber => BinaryPrimitives.ReadUInt32BigEndian(Bytes[8..]);
    public TcpFlags Flags => (TcpFlags)Bytes[13];
    public ushort Window => BinaryPrimitives.ReadUInt16BigEndian(Bytes[14..]);
    public ReadOnlySpan<byte> Options => Bytes[MinHeaderLength..HeaderLength];
    public ReadOnlySpan<byte> Payload => Bytes[HeaderLength..];
    public bool Has(TcpFlags f) => (Flags & f) == f;

    public static bool TryParse(ReadOnlySpan<byte> p, out TcpSegment segment)
    {
        segment = default;
        if (p.Length < MinHeaderLength) return false;
        int off = (p[12] >> 4) * 4;
        if (off < MinHeaderLength || off > p.Length) return false;
        segment = new TcpSegment(p, off);
        return true;
    }

    /// <summary>The RST that answers this segment when it belongs to no connection (RFC 9293
    /// §3.10.7.1): with ACK set, SEQ = SEG.ACK; otherwise SEQ = 0 and ACK = SEG.SEQ + SEG.LEN
    /// (SYN and FIN count). False for a RST, which is never answered.</summary>
    public bool TryGetReset(out uint seq, out uint ack, out TcpFlags flags)
    {
        seq = ack = 0;
        flags = TcpFlags.Rst;
        if (Has(TcpFlags.Rst)) return false;
        if (Has(TcpFlags.Ack)) { seq = AcknowledgmentNumber; return true; }
        ack = SequenceNumber + (uint)Payload.Length + (Has(TcpFlags.Syn) ? 1u : 0) + (Has(TcpFlags.Fin) ? 1u : 0);
        flags = TcpFlags.Rst | TcpFlags.Ack;
        return true;
    }

    public bool IsChecksumValid(Ipv4Address source, Ipv4Address destination) =>
        Checksum.Finish(Checksum.Add(Checksum.PseudoHeaderV4(source, destination, IpProtocol.Tcp, Bytes.Length), Bytes)) == 0;

    public bool IsChecksumValid(Ipv6Address source, Ipv6Address destination) =>
        Ipv6Packet.IsChecksumValid(source, destination, IpProtocol.Tcp, Bytes);

    /// <summary>Parses the options a connection's start needs (RFC 9293 §3.2; RFC 7323 §2.2, §3.2;
    /// RFC 2018 §2). Unknown options are skipped by their length; a malformed list stops parsing
    /// and keeps what was read.</summary>
    public TcpOptions ReadOptions()
    {
        var o = new TcpOptions();
        var p = Options;
        int i = 0;
        while (i < p.Length)
        {
            byte kind = p[i];
            if (kind == TcpOptions.KindEnd) break;
            if (kind == TcpOptions.KindNop) { i++; continue; }
            if (i + 1 >= p.Length) break;
            int len = p[i + 1];
            if (len < 2 || i + len > p.Length) break;
            var v = p.Slice(i + 2, len - 2);
            switch (kind)
            {
                case TcpOptions.KindMss when v.Length == 2: o.Mss = BinaryPrimitives.ReadUInt16BigEndian(v); break;
                case TcpOptions.KindWindowScale when v.Length == 1: o.WindowScale = Math.Min(v[0], (byte)14); break;
                case TcpOptions.KindSackPermitted: o.SackPermitted = true; break;
                case TcpOptions.KindTimestamps when v.Length == 8:
                    o.TimestampValue = BinaryPrimitives.ReadUInt32BigEndian(v);
                    o.TimestampEcho = BinaryPrimitives.ReadUInt32BigEndian(v[4..]);
                    o.HasTimestamps = true;
                    break;
            }
            i += len;
        }
        return o;
    }

    /// <summary>Writes a header (with <paramref name="options"/>, padded to 4 bytes) for a payload
    /// already at d[headerLength..], then the checksum over pseudo-header, header and payload.</summary>
    public static int Write(Span<byte> d, Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort,
        uint seq, uint ack, TcpFlags flags, ushort window, ReadOnlySpan<byte> options, int payloadLength)
    {
        int len = WriteHeader(d, sourcePort, destinationPort, seq, ack, flags, window, options) + payloadLength;
        BinaryPrimitives.WriteUInt16BigEndian(d[16..], Checksum.Finish(Checksum.Add(Checksum.PseudoHeaderV4(source, destination, IpProtocol.Tcp, len), d[..len])));
        return len;
    }

    /// <summary>Writes a header (options padded to 4 bytes) and leaves the checksum field zero,
    /// for callers that finish it themselves (a partial checksum left to offload, or a full one).
    /// Returns the header length.</summary>
    public static int WriteHeader(Span<byte> d, ushort sourcePort, ushort destinationPort, uint seq, uint ack, TcpFlags flags,
        ushort window, ReadOnlySpan<byte> options)
    {
        int hl = HeaderLengthFor(options.Length);
        BinaryPrimitives.WriteUInt16BigEndian(d, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], ack);
        d[12] = (byte)((hl / 4) << 4);
        d[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(d[14..], window);
        d[16] = d[17] = d[18] = d[19] = 0;
        options.CopyTo(d[MinHeaderLength..]);
        d[(MinHeaderLength + options.Length)..hl].Clear();
        return hl;
    }

    public static int HeaderLengthFor(int optionsLength) => MinHeaderLength + ((optionsLength + 3) & ~3);
}

/// <summary>The TCP options a connection negotiates in its SYN.</summary>
public struct TcpOptions
{
    public const byte KindEnd = 0, KindNop = 1, KindMss = 2, KindWindowScale = 3, KindSackPermitted = 4, KindSack = 5, KindTimestamps = 8;

    public ushort? Mss;
    public byte? WindowScale;
    public bool SackPermitted;
    public bool HasTimestamps;
    public uint TimestampValue;
    public uint TimestampEcho;

    /// <summary>Writes MSS and, when given, window scale, in the 4-byte aligned layout Linux uses.</summary>
    public static int WriteSynOptions(Span<byte> d, ushort mss, byte? windowScale)
    {
        d[0] = KindMss; d[1] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], mss);
        if (windowScale is not byte ws) return 4;
        d[4] = KindNop; d[5] = KindWindowScale; d[6] = 3; d[7] = ws;
        return 8;
    }
}
