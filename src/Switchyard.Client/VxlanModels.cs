namespace Switchyard.Client;

// The API's VXLAN shapes (issue 14, docs/multi-host.md): a network's tunnel to other hosts.

/// <summary>A network's VXLAN uplink (RFC 7348) as a create request gives it.</summary>
public sealed record VxlanSpec
{
    /// <summary>The VXLAN Network Identifier, 0-16777215 (24 bits, RFC 7348 section 5); every host of
    /// the network uses the same one.</summary>
    public required int Vni { get; init; }
    /// <summary>The local UDP address the tunnel listens on, <c>ADDR[:PORT]</c> or <c>[V6ADDR][:PORT]</c>
    /// (port default 4789; 8472, the Linux kernel's old default, or any other also works). Default:
    /// the loopback of the peers' family (127.0.0.1:4789 or [::1]:4789), and a peer off loopback then
    /// needs an explicit address: the tunnel never listens on a non-loopback address unless told
    /// (VXLAN has no authentication). <c>0.0.0.0</c> or <c>[::]</c> listen on every address.</summary>
    public string? Local { get; init; }
    /// <summary>The remote VTEPs, <c>ADDR[:PORT]</c> (port default 4789), of the local address's family.
    /// Broadcast, multicast and unknown unicast are replicated to each (head-end replication).</summary>
    public IReadOnlyList<string>? Peers { get; init; }
}

/// <summary>Peers added to or removed from a network's tunnel, live (PATCH /networks/{name}).</summary>
public sealed record VxlanUpdate
{
    /// <summary><c>ADDR[:PORT]</c>; a peer already present is refused (409).</summary>
    public IReadOnlyList<string>? AddPeers { get; init; }
    /// <summary><c>ADDR[:PORT]</c>; a peer that is not there is refused (404). MACs learnt behind a
    /// removed peer are forgotten.</summary>
    public IReadOnlyList<string>? RemovePeers { get; init; }
}

/// <summary>A network's tunnel as inspect shows it: its settings (canonical <c>ADDR:PORT</c>
/// text) and what it counted since the daemon started.</summary>
public sealed record VxlanInfo
{
    public required int Vni { get; init; }
    public required string Local { get; init; }
    public required IReadOnlyList<string> Peers { get; init; }
    /// <summary>up, or down when the tunnel could not be opened at restore (the reason is in the
    /// network's warnings; the guests then reach only each other).</summary>
    public required string State { get; init; }
    public VxlanCountersInfo? Counters { get; init; }
    /// <summary>Frames from the tunnel that the gateway host's anti-spoofing dropped before its switch, by
    /// reason (spoofed-mac, spoofed-ip: not the sender's DHCP lease, policy, malformed); null on a joining
    /// host (bridged:vxlan). See docs/dhcp-pool.md.</summary>
    public IReadOnlyDictionary<string, long>? GuardDropped { get; init; }
}

/// <summary>The tunnel's counters. Every dropped datagram or frame is counted under exactly one
/// reason: not-a-peer, wrong-vni, malformed (truncated or short), bad-flags (a flag other than I,
/// RFC 7348 section 5) and too-big (an inner frame over the network's MTU).</summary>
public sealed record VxlanCountersInfo
{
    public long DatagramsIn { get; init; }
    public long DatagramsOut { get; init; }
    public long BytesIn { get; init; }
    public long BytesOut { get; init; }
    /// <summary>Frames sent to every peer because their destination was broadcast, multicast or not learnt.</summary>
    public long Replicated { get; init; }
    /// <summary>Remote MACs learnt behind a peer now.</summary>
    public int LearntMacs { get; init; }
    public required IReadOnlyDictionary<string, long> Dropped { get; init; }
    /// <summary>Datagrams sent to each peer (<c>ADDR:PORT</c>).</summary>
    public required IReadOnlyDictionary<string, long> SentPerPeer { get; init; }
}
