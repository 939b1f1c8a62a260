using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Switchyard.Packets;

/// <summary>The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement
/// sum. Summed a vector at a time (16-bit halves into 32-bit lanes), the rest 32 bits at a time,
/// into a 64-bit accumulator folded once at the end.</summary>
public static class Checksum
{
    /// <summary>Adds <paramref name="data"/> to a running (unfolded) sum. Odd lengths are padded
    /// with a zero byte, so only the last piece of a message may have an odd length.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        // A data-plane segment (1.4 KiB to 64 KiB) is summed with vectors; what is left (less than
        // one vector, an even offset from the start) by the word loop below.
        if (data.Length >= 2 * Vector128<byte>.Count && Vector128.IsHardwareAccelerated)
        {
            sum += AddVectors(data, default, out int done);
            data = data[done..];
        }
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

    /// <summary>Copies <paramref name="source"/> to the start of <paramref name="destination"/> and
    /// adds it to a running sum, reading each byte once (a payload moved into a frame being built
    /// and checked on the way). The same sum as <see cref="Add"/>, the same rule for odd lengths.</summary>
    public static ulong CopyAndAdd(ulong sum, ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("shorter than the source", nameof(destination));
        if (source.Length >= 2 * Vector128<byte>.Count && Vector128.IsHardwareAccelerated)
        {
            sum += AddVectors(source, destination, out int done);
            source = source[done..];
            destination = destination[done..];
        }
        source.CopyTo(destination);
        return Add(sum, source);
    }

    /// <summary>The sum of <paramref name="data"/>'s native-order 16-bit words, a whole number of
    /// vectors of it (<paramref name="done"/> bytes), copied to <paramref name="copy"/> on the way
    /// unless that is empty. In one's complement arithmetic that equals the sum of its 32-bit
    /// words (2^16 is 1 mod 2^16 - 1), so the result mixes with the word loop's. Each 32-bit lane
    /// gathers its two 16-bit halves, at most 2 * 0xFFFF per vector; the lanes are widened into
    /// the 64-bit total before they could overflow. Two accumulators: the adds of one vector need
    /// not wait for the previous one's.</summary>
    private static ulong AddVectors(ReadOnlySpan<byte> data, Span<byte> copy, out int done)
    {
        bool copying = !copy.IsEmpty;
        ref byte source = ref MemoryMarshal.GetReference(data);
        ref byte target = ref MemoryMarshal.GetReference(copy);
        ulong total = 0;
        int i = 0;
        const int Flush = 16384; // vectors per lane before 2 * 0xFFFF * Flush nears 2^32
        if (Vector256.IsHardwareAccelerated && data.Length >= Vector256<byte>.Count)
        {
            var low = Vector256.Create(0xFFFFu);
            var acc = Vector256<uint>.Zero;
            for (int n = 0; i <= data.Length - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var v = Vector256.LoadUnsafe(ref source, (nuint)i);
                if (copying) v.StoreUnsafe(ref target, (nuint)i);
                var w = v.AsUInt32();
                acc += (w & low) + (w >> 16);
                if (++n == Flush) { total += Widen(acc); acc = Vector256<uint>.Zero; n = 0; }
            }
            total += Widen(acc);
        }
        var low128 = Vector128.Create(0xFFFFu);
        Vector128<uint> acc0 = Vector128<uint>.Zero, acc1 = Vector128<uint>.Zero;
        const int Step = 2 * 16;
        for (int n = 0; i <= data.Length - Step; i += Step)
        {
            var v0 = Vector128.LoadUnsafe(ref source, (nuint)i);
            var v1 = Vector128.LoadUnsafe(ref source, (nuint)(i + 16));
            if (copying)
            {
                v0.StoreUnsafe(ref target, (nuint)i);
                v1.StoreUnsafe(ref target, (nuint)(i + 16));
            }
            var w0 = v0.AsUInt32();
            var w1 = v1.AsUInt32();
            acc0 += (w0 & low128) + (w0 >> 16);
            acc1 += (w1 & low128) + (w1 >> 16);
            if (++n == Flush)
            {
                total += Widen(acc0) + Widen(acc1);
                acc0 = acc1 = Vector128<uint>.Zero;
                n = 0;
            }
        }
        if (i <= data.Length - 16)
        {
            var v = Vector128.LoadUnsafe(ref source, (nuint)i);
            if (copying) v.StoreUnsafe(ref target, (nuint)i);
            var w = v.AsUInt32();
            acc0 += (w & low128) + (w >> 16);
            i += 16;
        }
        done = i;
        return total + Widen(acc0) + Widen(acc1);
    }

    private static ulong Widen(Vector256<uint> v)
    {
        var (lower, upper) = Vector256.Widen(v);
        return Vector256.Sum(lower + upper);
    }

    private static ulong Widen(Vector128<uint> v)
    {
        var (lower, upper) = Vector128.Widen(v);
        return Vector128.Sum(lower + upper);
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
