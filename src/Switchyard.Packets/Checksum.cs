using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Switchyard.Packets;

/// <summary>The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement
/// sum. Summed 32 bits at a time into a 64-bit accumulator, folded once at the end.</summary>
public static class Checksum
{
    /// <summary>Adds <paramref name="data"/> to a running (unfolded) sum. Odd lengths are padded
    /// with a zero byte, so only the last piece of a message may have an odd length.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        var words = MemoryMarshal.Cast<byte, uint>(data);
        // Summing native-order words and swapping once at the end is equivalent (RFC 1071 §2(B)).
        foreach (uint w in words) sum += w;
        int rest = words.Length * 4;
        if (data.Length - rest >= 2)
        {
            sum += MemoryMarshal.Read<ushort>(data[rest..]);
            rest += 2;
        }
        if (rest < data.Length)
        {
            Span<byte> pad = [data[rest], 0];
            sum += MemoryMarshal.Read<ushort>(pad);
        }
        return sum;
    }

    /// <summary>Folds a running sum to 16 bits and complements it; result is in network order as a number.</summary>
    public static ushort Finish(ulong sum)
    {
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        ushort folded = (ushort)sum;
        if (BitConverter.IsLittleEndian) folded = BinaryPrimitives.ReverseEndianness(folded);
        return (ushort)~folded;
    }

    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Add(0, data));

    /// <summary>The IPv4 pseudo-header sum for TCP/UDP (RFC 793 §3.1, RFC 768).</summary>
    public static ulong PseudoHeaderV4(Ipv4Address source, Ipv4Address destination, byte protocol, int length)
    {
        Span<byte> ph = stackalloc byte[12];
        source.Write(ph);
        destination.Write(ph[4..]);
        ph[8] = 0;
        ph[9] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(ph[10..], (ushort)length);
        return Add(0, ph);
    }

    /// <summary>The IPv6 pseudo-header sum for upper-layer checksums (RFC 8200 §8.1).</summary>
    public static ulong PseudoHeaderV6(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte nextHeader, int length)
    {
        Span<byte> tail = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(tail, (uint)length);
        tail[4] = tail[5] = tail[6] = 0;
        tail[7] = nextHeader;
        return Add(Add(Add(0, source[..16]), destination[..16]), tail);
    }
}
