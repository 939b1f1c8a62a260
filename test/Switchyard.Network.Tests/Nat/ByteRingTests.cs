using Switchyard.Network.Nat;

namespace Switchyard.Network.Tests.Nat;

/// <summary>ByteRing against a plain queue: random writes, reads at offsets and consumes, with
/// wrap-around and growth, must always agree.</summary>
public sealed class ByteRingTests
{
    [Theory]
    [InlineData(1000, 0)]
    [InlineData(4096, 256)]
    [InlineData(100_000, 1024)]
    public void Random_operations_match_a_reference_queue(int capacity, int initial)
    {
        var rng = new Random(capacity + initial);
        var ring = new ByteRing(capacity, initial);
        var reference = new List<byte>();
        byte next = 0;
        for (int step = 0; step < 5_000; step++)
        {
            switch (rng.Next(3))
            {
                case 0:
                    var data = new byte[rng.Next(0, capacity / 3 + 1)];
                    for (int i = 0; i < data.Length; i++) data[i] = next++;
                    int written = ring.Write(data);
                    Assert.Equal(Math.Min(data.Length, capacity - reference.Count), written);
                    reference.AddRange(data[..written]);
                    next = (byte)(next - (data.Length - written));
                    break;
                case 1 when reference.Count > 0:
                    int consume = rng.Next(0, reference.Count + 1);
                    ring.Consume(consume);
                    reference.RemoveRange(0, consume);
                    break;
                case 2 when reference.Count > 0:
                    int offset = rng.Next(0, reference.Count);
                    var copy = new byte[rng.Next(0, reference.Count - offset + 1)];
                    ring.CopyTo(offset, copy);
                    Assert.Equal(reference.GetRange(offset, copy.Length), copy);
                    // RunAt: the contiguous bytes from the offset, up to the tail or the array's end.
                    var run = ring.RunAt(offset);
                    Assert.InRange(run.Length, 1, reference.Count - offset);
                    Assert.Equal(reference.GetRange(offset, run.Length), run.ToArray());
                    break;
            }
            Assert.Equal(reference.Count, ring.Count);
            Assert.Equal(capacity - reference.Count, ring.Free);
        }
    }

    [Fact]
    public void An_empty_ring_holds_no_buffer()
    {
        var ring = new ByteRing(1 << 20, 16 * 1024);
        Assert.False(ring.HasBuffer);
        ring.Write(new byte[100_000]);   // grows past its first array
        Assert.True(ring.HasBuffer);
        ring.Consume(100_000);
        Assert.False(ring.HasBuffer);
    }

    [Fact]
    public void RunAt_stops_at_the_wrap_and_the_rest_follows_from_the_start()
    {
        var ring = new ByteRing(1000);
        ring.Write(new byte[900]);
        ring.Consume(800);
        byte[] data = [.. Enumerable.Range(0, 300).Select(i => (byte)i)];
        ring.Write(data);   // 100 old bytes, then 300 new ones across the array's end
        int size = ring.RunAt(0).Length + ring.RunAt(ring.RunAt(0).Length).Length;
        Assert.Equal(400, size);
        Assert.True(ring.RunAt(100).Length < 300, "the new bytes wrap");
        var whole = new byte[300];
        ring.CopyTo(100, whole);
        Assert.Equal(data, whole);
        Assert.True(ring.RunAt(400).IsEmpty);
    }
}
