using System.Net;
using Switchyard.Network.Transports;

namespace Switchyard.Network.Vxlan;

/// <summary>A network's VXLAN port to other hosts: an <see cref="IUplinkTransport"/> (the switch
/// sends to it like to a bridged network's LAN, and it hands up what peers send) that also learns
/// which remote VTEP each remote MAC sits behind, so known unicast goes to one peer and the rest is
/// replicated to all (RFC 7348 section 4.1 learning, head-end replication instead of multicast).</summary>
public interface IVxlanTunnel : IUplinkTransport
{
    VxlanSettings Settings { get; }

    /// <summary>Replaces the remote VTEPs; entries learnt behind a removed peer are forgotten.</summary>
    void SetPeers(IReadOnlyList<IPEndPoint> peers);

    /// <summary>Drops and deliveries so far, per peer where it applies (inspect, /metrics).</summary>
    VxlanCounters Counters { get; }
}

/// <summary>What the tunnel counted. Every dropped datagram or frame lands in exactly one reason.</summary>
public sealed record VxlanCounters(
    long DatagramsIn, long DatagramsOut, long BytesIn, long BytesOut,
    long DroppedNotAPeer, long DroppedWrongVni, long DroppedMalformed, long DroppedBadFlags, long DroppedTooBig,
    long Replicated, int LearntMacs, IReadOnlyDictionary<string, long> SentPerPeer)
{
    /// <summary>Frames from a peer whose source MAC is one of this host's guests: another host
    /// claiming a local guest's address (as a bridged uplink drops them from its LAN).</summary>
    public long DroppedLocalSource { get; init; }
}
