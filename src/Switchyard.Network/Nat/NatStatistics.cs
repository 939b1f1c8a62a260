using System.Net;
using Switchyard.Packets;

namespace Switchyard.Network.Nat;

/// <summary>The protocols the NAT keeps flows for.</summary>
public enum NatProtocol { Tcp, Udp, Icmp }

/// <summary>One NAT flow as <see cref="NatEngine.SnapshotFlows"/> saw it.</summary>
/// <param name="GuestEndPoint">The guest's address and port (the echo identifier for ICMP).</param>
/// <param name="Destination">The remote as the guest addressed it (for a published port: the client as the guest sees it).</param>
/// <param name="State">TCP: "connecting" (the host connect runs), "syn-sent", "syn-received",
/// "established", "fin-wait" (one side sent FIN), "closing" (both did), "closed"; UDP and ICMP: "open".</param>
/// <param name="Published">A connection a client made to a published port (inbound), not one the guest opened.</param>
public sealed record NatFlowSnapshot(NatProtocol Protocol, MacAddress Guest, IPEndPoint GuestEndPoint, IPEndPoint Destination, string State,
    TimeSpan Age, TimeSpan Idle, long BytesFromGuest, long BytesToGuest, bool Published);

/// <summary>
/// What a network's NAT did since it started: flows opened, refused and evicted per protocol,
/// payload bytes each way, connections accepted on published ports. Counters are Interlocked
/// adds on fields and arrays allocated once (the byte counts run per packet, on whichever thread
/// moves the bytes).
/// <list type="bullet">
/// <item>Opened: a flow entered the table (outbound, or a published port's connection).</item>
/// <item>Refused: a new flow the NAT would not open: the network's reach (mode, host loopback,
/// multicast), the egress policy, a full table, or a host socket that could not be had.</item>
/// <item>Evicted: a live flow closed to make room for a new one. Idle expiry is not eviction.</item>
/// </list>
/// </summary>
public sealed class NatStatistics
{
    private readonly long[] _opened = new long[3], _refused = new long[3], _evicted = new long[3];
    private long _fromGuests, _toGuests, _published;

    public long Opened(NatProtocol p) => Interlocked.Read(ref _opened[(int)p]);
    public long Refused(NatProtocol p) => Interlocked.Read(ref _refused[(int)p]);
    public long Evicted(NatProtocol p) => Interlocked.Read(ref _evicted[(int)p]);

    /// <summary>Payload bytes guests sent through NAT flows (written to host sockets).</summary>
    public long BytesFromGuests => Interlocked.Read(ref _fromGuests);

    /// <summary>Payload bytes that came back for guests (read from host sockets).</summary>
    public long BytesToGuests => Interlocked.Read(ref _toGuests);

    /// <summary>TCP connections accepted on published ports and handed to a guest.</summary>
    public long PublishedConnections => Interlocked.Read(ref _published);

    internal void CountOpened(NatProtocol p) => Interlocked.Increment(ref _opened[(int)p]);
    internal void CountRefused(NatProtocol p) => Interlocked.Increment(ref _refused[(int)p]);
    internal void CountEvicted(NatProtocol p) => Interlocked.Increment(ref _evicted[(int)p]);
    internal void CountFromGuests(int bytes) => Interlocked.Add(ref _fromGuests, bytes);
    internal void CountToGuests(int bytes) => Interlocked.Add(ref _toGuests, bytes);
    internal void CountPublished() => Interlocked.Increment(ref _published);
}
