using System.Net;
using System.Net.Sockets;

namespace Switchyard.Network.Vxlan;

/// <summary>One remote VTEP: where its datagrams go, how a sender is recognised as it, and what was
/// sent to it. Kept across <see cref="IVxlanTunnel.SetPeers"/> while the peer stays, so its counts
/// and the MACs learnt behind it survive an update that only adds or removes others.</summary>
internal sealed class VxlanPeer
{
    private long _sent;

    public VxlanPeer(IPEndPoint endPoint)
    {
        EndPoint = endPoint;
        Address = endPoint.Serialize();
        _family = Address.Family;
    }

    private readonly AddressFamily _family;

    public IPEndPoint EndPoint { get; }

    /// <summary>The sockaddr datagrams are sent to (sendto), serialised once.</summary>
    public SocketAddress Address { get; }

    /// <summary>Set when the peer is removed: entries learnt behind it stop being used at once,
    /// even by a sender that read the old peer list.</summary>
    public volatile bool Removed;

    /// <summary>Datagrams sent to this peer.</summary>
    public long Sent => Volatile.Read(ref _sent);

    public void CountSent() => Interlocked.Increment(ref _sent);

    public void CountSent(int datagrams) => Interlocked.Add(ref _sent, datagrams);

    /// <summary>True when a datagram from <paramref name="from"/> came from this peer. Only the IP
    /// address is compared, never the source port: RFC 7348 section 5 recommends that a VTEP pick
    /// the UDP source port from a hash of the inner flow (the Linux kernel does, over its port
    /// range), so one VTEP sends from many ports. sockaddr_in: address at 4..8; sockaddr_in6:
    /// address at 8..24 and scope id at 24..28.</summary>
    public bool Matches(SocketAddress from)
    {
        var x = from.Buffer.Span;
        var y = Address.Buffer.Span;
        // The family, compared as the sockaddr's first two bytes (Linux: sa_family; BSD and macOS:
        // sa_len and sa_family, equal for one family too): SocketAddress.Family is a native call
        // on Unix, once per datagram per peer otherwise.
        if (from.Size < 2 || x[0] != y[0] || x[1] != y[1]) return false;
        if (_family == AddressFamily.InterNetwork)
            return from.Size >= 8 && x.Slice(4, 4).SequenceEqual(y.Slice(4, 4));
        return from.Size >= 28 && x.Slice(8, 16).SequenceEqual(y.Slice(8, 16))
            && (IsLinkLocal(y) ? x.Slice(24, 4).SequenceEqual(y.Slice(24, 4)) : true);
    }

    /// <summary>fe80::/10: the scope (interface) is part of the address.</summary>
    private static bool IsLinkLocal(ReadOnlySpan<byte> sockaddr6) => sockaddr6[8] == 0xFE && (sockaddr6[9] & 0xC0) == 0x80;
}
