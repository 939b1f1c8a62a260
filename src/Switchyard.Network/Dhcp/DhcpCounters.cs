using Switchyard.Packets.Dhcp;

namespace Switchyard.Network.Dhcp;

/// <summary>DHCP messages a <see cref="DhcpServer"/> received and sent, by message type (RFC 2132
/// §9.6). One slot per possible type byte, allocated once: counting is an Interlocked increment,
/// nothing else, so it costs a guest's DHCP exchange nothing measurable.</summary>
public sealed class DhcpCounters
{
    private readonly long[] _received = new long[256];
    private readonly long[] _sent = new long[256];

    /// <summary>Client messages of <paramref name="type"/> that parsed (malformed ones are
    /// <see cref="DhcpServer.MalformedCount"/>), including those for other servers or clients.</summary>
    public long Received(DhcpMessageType type) => Volatile.Read(ref _received[(byte)type]);

    /// <summary>Replies of <paramref name="type"/> the server wrote (OFFER, ACK, NAK).</summary>
    public long Sent(DhcpMessageType type) => Volatile.Read(ref _sent[(byte)type]);

    internal void CountReceived(DhcpMessageType type) => Interlocked.Increment(ref _received[(byte)type]);

    internal void CountSent(DhcpMessageType type) => Interlocked.Increment(ref _sent[(byte)type]);
}
