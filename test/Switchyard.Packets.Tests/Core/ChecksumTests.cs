using System.Buffers.Binary;

namespace Switchyard.Packets.Tests.Core;

public class ChecksumTests
{
    /// <summary>RFC 1071 by the book: big-endian 16-bit words, odd byte padded with zero,
    /// end-around carry, complement.</summary>
    internal static ushort Reference(ReadOnlySpan<byte> data)
    {
        ulong sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2) sum += (uint)(data[i] << 8 | data[i + 1]);
        if (i < data.Length) sum += (uint)(data[i] << 8);
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    [Fact]
    public void Rfc1071_WorkedExample()
    {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums (folded) to 0xddf2.
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.Equal(0x220d, Checksum.Compute(data));
        Assert.Equal(Reference(data), Checksum.Compute(data));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(20)]
    [InlineData(65535)]
    public void EdgeLengths_MatchReference(int length)
    {
        var data = CoreFrames.Payload(length, 99);
        Assert.Equal(Reference(data), Checksum.Compute(data));
        Array.Fill(data, (byte)0xFF);
        Assert.Equal(Reference(data), Checksum.Compute(data));
    }

    /// <summary>Longer than the vector loop's lanes may gather before they are widened (16,384
    /// vectors), all ones (the largest words) and random, whole and from odd-sized even offsets.</summary>
    [Fact]
    public void LongerThanTheLanesHold_MatchesReference()
    {
        var data = new byte[(1 << 20) + 37];
        Array.Fill(data, (byte)0xFF);
        Assert.Equal(Reference(data), Checksum.Compute(data));
        new Random(4).NextBytes(data);
        Assert.Equal(Reference(data), Checksum.Compute(data));
        for (int cut = 2; cut < 200; cut += 34)
            Assert.Equal(Reference(data), Checksum.Finish(Checksum.Add(Checksum.Add(0, data.AsSpan(0, cut)), data.AsSpan(cut))));
    }

    [Fact]
    public void CopyAndAdd_CopiesAndSumsAsAdd()
    {
        var rng = new Random(9293);
        for (int n = 0; n < 2000; n++)
        {
            var data = new byte[rng.Next(0, 3001)];
            rng.NextBytes(data);
            var target = new byte[data.Length + 8];
            int cut = rng.Next(0, data.Length / 2 + 1) & ~1;
            ulong sum = Checksum.Add(0, data.AsSpan(0, cut));
            sum = Checksum.CopyAndAdd(sum, data.AsSpan(cut), target.AsSpan(3));
            Assert.Equal(Reference(data), Checksum.Finish(sum));
            Assert.Equal(data.AsSpan(cut).ToArray(), target.AsSpan(3, data.Length - cut).ToArray());
            Assert.All(target.AsSpan(3 + data.Length - cut).ToArray(), b => Assert.Equal(0, b)); // nothing written past it
        }
        var big = new byte[(1 << 20) + 3];
        Array.Fill(big, (byte)0xFF);
        Assert.Equal(Reference(big), Checksum.Finish(Checksum.CopyAndAdd(0, big, new byte[big.Length])));
        Assert.Throws<ArgumentException>(() => Checksum.CopyAndAdd(0, new byte[4], new byte[3]));
    }

    [Fact]
    public void EmptyAndAllZero_GiveAllOnes()
    {
        Assert.Equal(0xFFFF, Checksum.Compute([]));
        Assert.Equal(0xFFFF, Checksum.Compute(new byte[33]));
    }

    [Fact]
    public void RandomLengths_MatchReference()
    {
        var rng = new Random(1071);
        for (int n = 0; n < 2000; n++)
        {
            var data = new byte[rng.Next(0, 3001)];
            rng.NextBytes(data);
            Assert.Equal(Reference(data), Checksum.Compute(data));
        }
        // Every length 0..3000, including all the odd ones.
        var big = new byte[3000];
        rng.NextBytes(big);
        for (int len = 0; len <= 3000; len++)
            Assert.Equal(Reference(big.AsSpan(0, len)), Checksum.Compute(big.AsSpan(0, len)));
    }

    [Fact]
    public void SplitSums_InEvenPieces_MatchWhole()
    {
        var rng = new Random(793);
        for (int n = 0; n < 2000; n++)
        {
            var data = new byte[rng.Next(0, 3001)];
            rng.NextBytes(data);
            ulong sum = 0;
            int pos = 0;
            while (pos < data.Length)
            {
                int remaining = data.Length - pos;
                int piece = Math.Min(remaining, rng.Next(0, 40) * 2);   // even pieces, possibly empty
                if (piece == 0 && rng.Next(4) == 0) piece = remaining; // the last may be odd
                sum = Checksum.Add(sum, data.AsSpan(pos, piece));
                pos += piece;
            }
            Assert.Equal(Reference(data), Checksum.Finish(sum));
        }
    }

    [Fact]
    public void SplitSum_AtUnalignedEvenOffsets()
    {
        // A piece starting at offset 2 mod 4 exercises the 16-bit tail of the 32-bit loop.
        var data = CoreFrames.Payload(1001, 5);
        for (int cut = 0; cut <= 1000; cut += 2)
            Assert.Equal(Reference(data), Checksum.Finish(Checksum.Add(Checksum.Add(0, data.AsSpan(0, cut)), data.AsSpan(cut))));
    }

    [Fact]
    public void ChecksumInserted_VerifiesToZero()
    {
        var rng = new Random(3);
        for (int n = 0; n < 500; n++)
        {
            var data = new byte[2 + rng.Next(0, 1500)];
            rng.NextBytes(data);
            data[0] = data[1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(data, Checksum.Compute(data));
            Assert.Equal(0, Checksum.Compute(data));
        }
    }

    [Fact]
    public void PseudoHeader_MatchesReferenceOverExplicitBytes()
    {
        var src = Ipv4Address.Parse("10.1.2.3");
        var dst = Ipv4Address.Parse("172.16.254.9");
        byte[] ph = [10, 1, 2, 3, 172, 16, 254, 9, 0, 17, 0x12, 0x34];
        var body = CoreFrames.Payload(77);
        var all = ph.Concat(body).ToArray();
        Assert.Equal(Reference(all), Checksum.Finish(Checksum.Add(Checksum.PseudoHeaderV4(src, dst, 17, 0x1234), body)));
    }
}
