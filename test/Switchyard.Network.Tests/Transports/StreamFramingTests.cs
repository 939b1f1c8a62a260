using System.Buffers.Binary;
using Switchyard.Network.Transports;

namespace Switchyard.Network.Tests.Transports;

/// <summary>The stream transports' 4-byte big-endian length prefix (QEMU -netdev stream/socket),
/// read from bytes a VM controls: whole frames, partial ones, and lengths that break the framing.</summary>
public class StreamFramingTests
{
    private const int MaxFrame = 1518;

    private static byte[] Prefixed(uint length, int have)
    {
        var b = new byte[4 + have];
        BinaryPrimitives.WriteUInt32BigEndian(b, length);
        return b;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void A_prefix_not_yet_complete_needs_more(int have) =>
        Assert.Equal(StreamFrameStatus.NeedMore, StreamFraming.TryRead(new byte[have], MaxFrame, out _));

    [Fact]
    public void A_whole_frame_is_found_and_the_bytes_after_it_are_not_counted()
    {
        var data = Prefixed(60, 70);
        Assert.Equal(StreamFrameStatus.Frame, StreamFraming.TryRead(data, MaxFrame, out uint length));
        Assert.Equal(60u, length);
    }

    [Fact]
    public void A_frame_cut_short_needs_more() =>
        Assert.Equal(StreamFrameStatus.NeedMore, StreamFraming.TryRead(Prefixed(60, 59), MaxFrame, out _));

    [Theory]
    [InlineData(0u)]
    [InlineData(MaxFrame + 1u)]
    [InlineData(uint.MaxValue)]        // would be negative as an int
    [InlineData(0x8000_0000u)]
    public void A_length_outside_one_to_the_limit_breaks_the_framing(uint bad)
    {
        Assert.Equal(StreamFrameStatus.BadLength, StreamFraming.TryRead(Prefixed(bad, 8), MaxFrame, out uint length));
        Assert.Equal(bad, length);
    }

    [Fact]
    public void The_largest_frame_is_taken() =>
        Assert.Equal(StreamFrameStatus.Frame, StreamFraming.TryRead(Prefixed(MaxFrame, MaxFrame), MaxFrame, out _));
}
