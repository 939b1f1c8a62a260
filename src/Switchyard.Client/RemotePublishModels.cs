namespace Switchyard.Client;

// Published ports to remote guests (issue 14, docs/multi-host.md "Published ports"): on a gateway
// host, a host port forwarded to a guest that has no endpoint here (a guest on a joining host, behind
// the VXLAN tunnel), known by its lease of the network's dynamic pool.

/// <summary>POST /networks/{network}/published.</summary>
public sealed record NetworkPublishRequest
{
    /// <summary><c>[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]</c>; the host address defaults to 127.0.0.1.</summary>
    public required string Spec { get; init; }
    /// <summary>The remote guest: its DHCP host name (as <c>network leases</c> shows it), the IPv4
    /// address its lease holds, or its MAC. It must hold or have held a lease of the network's dynamic
    /// pool (404 otherwise); the port is kept for its MAC, so it follows the guest's lease.</summary>
    public required string To { get; init; }
}

/// <summary>A host port published to a remote guest, as <c>network inspect</c> shows it.</summary>
public sealed record RemotePublishedInfo
{
    /// <summary>Canonical form, <c>HOSTIP:HOSTPORT:GUESTPORT/PROTO</c>.</summary>
    public required string Spec { get; init; }
    /// <summary>The guest's MAC: what the port is kept for.</summary>
    public required string Mac { get; init; }
    /// <summary>The guest's DNS name now (from its DHCP host name; null: none).</summary>
    public string? HostName { get; init; }
    /// <summary>Where connections go now: the address of the guest's bound lease (null: it holds none,
    /// and connections are refused until it leases again).</summary>
    public string? Ipv4 { get; init; }
    /// <summary>Why the port is not listening (restored at startup while the host port was taken:
    /// publish the spec again to retry); null when it listens.</summary>
    public string? Error { get; init; }
}
