using Switchyard.Network.Tcp;

namespace Switchyard.Network.Tests.Tcp;

/// <summary>Sequence number comparison modulo 2^32 (RFC 9293 §3.4, RFC 1982), across the wrap.</summary>
public sealed class SequenceNumbersTests
{
    [Theory]
    [InlineData(1u, 0u, true)]
    [InlineData(0u, 1u, false)]
    [InlineData(5u, 5u, false)]
    [InlineData(0u, 0xFFFF_FFFFu, true)]           // just past the wrap
    [InlineData(0x10u, 0xFFFF_FFF0u, true)]
    [InlineData(0xFFFF_FFF0u, 0x10u, false)]
    [InlineData(0x7FFF_FFFFu, 0u, true)]           // 2^31 - 1 ahead: still after
    public void After_compares_modulo_2_to_the_32(uint a, uint b, bool after)
    {
        Assert.Equal(after, SequenceNumbers.After(a, b));
        Assert.Equal(!after, SequenceNumbers.AtOrBefore(a, b));
    }

    [Theory]
    [InlineData(0xFFFF_FFF0u, 0x10u, 0x20)]
    [InlineData(0x10u, 0xFFFF_FFF0u, -0x20)]
    [InlineData(7u, 7u, 0)]
    public void Distance_is_signed_and_wraps(uint from, uint to, int distance) =>
        Assert.Equal(distance, SequenceNumbers.Distance(from, to));

    [Theory]
    [InlineData(100u, 100u, 200u, false)]          // a duplicate ACK
    [InlineData(101u, 100u, 200u, true)]
    [InlineData(200u, 100u, 200u, true)]           // everything sent
    [InlineData(201u, 100u, 200u, false)]          // acknowledges what was never sent
    [InlineData(0x05u, 0xFFFF_FFF0u, 0x10u, true)] // across the wrap
    public void AcknowledgesNew_is_una_below_ack_at_most_nxt(uint ack, uint una, uint nxt, bool acknowledges) =>
        Assert.Equal(acknowledges, SequenceNumbers.AcknowledgesNew(ack, una, nxt));
}
