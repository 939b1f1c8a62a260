using Switchyard.Network;
using Switchyard.Packets;

namespace Switchyard.Daemon.State;

/// <summary>A network. <paramref name="EgressJson"/>: its egress policy (<see cref="StoredEgressPolicy"/>), null for none;
/// <paramref name="Ipv6Prefix"/>: its IPv6 /64, null for IPv4 only; <paramref name="MaxFlows"/>: its NAT flow cap, null for the default;
/// <paramref name="DhcpRange"/>: its --dhcp-range (FIRST-LAST), null for the default (<see cref="Planning.DhcpRanges"/>);
/// <paramref name="VxlanJson"/>: its VXLAN uplink (<see cref="StoredVxlan"/>), null for none. A bridged network with a
/// tunnel and no <paramref name="BridgeInterface"/> is <c>bridged:vxlan</c>.</summary>
public sealed record NetworkRow(string Name, NetworkMode Mode, string? BridgeInterface, string Subnet, int Mtu, string Domain,
    string DnsUpstreamsJson, string LabelsJson, string GatewayMac, DateTimeOffset Created, bool HostLoopback = true, string? EgressJson = null,
    string? Ipv6Prefix = null, int? MaxFlows = null, string? DhcpRange = null, string? VxlanJson = null);

/// <summary>An attached endpoint. <paramref name="AliasesJson"/>: its extra DNS names on the network;
/// <paramref name="DefaultRoute"/>: whether its lease names the gateway as router; <paramref name="EgressJson"/>:
/// its own egress policy, null for none; <paramref name="MaxFlows"/>: its own NAT flow cap, null for the network's default share.</summary>
public sealed record EndpointRow(string Network, string Name, string TransportJson, string LabelsJson, DateTimeOffset Created,
    string AliasesJson = "[]", bool DefaultRoute = true, string? EgressJson = null, int? MaxFlows = null);

/// <summary>Where an address reservation stands: reserved for the name (attached, no DHCP yet, or
/// after a decline), offered, bound or released by the guest's DHCP client.</summary>
public enum LeaseStatus { Reserved, Offered, Bound, Released }

/// <summary>An address reserved for an endpoint name on a network. It outlives the endpoint's
/// attachment, so a guest that detaches and comes back gets the same MAC and address.</summary>
public sealed record LeaseRow(string Network, string Endpoint, MacAddress Mac, Ipv4Address Ipv4, LeaseStatus State, DateTimeOffset? Expires, DateTimeOffset LastUsed);

/// <summary>A lease of a network's dynamic pool: a client with no endpoint (a guest behind a VXLAN
/// tunnel), known by its MAC; <paramref name="HostName"/> is the DNS label its DHCP host name gave it
/// (null: none, or taken). Only bound and released leases are stored; offers are not.</summary>
public sealed record RemoteLeaseRow(string Network, MacAddress Mac, Ipv4Address Ipv4, string? HostName, LeaseStatus State, DateTimeOffset Expires, DateTimeOffset LastUsed);

/// <summary>A host port published to an endpoint: the canonical spec text
/// (<c>HOSTIP:HOSTPORT:GUESTPORT/PROTO</c>). It goes with its endpoint (ON DELETE CASCADE).</summary>
public sealed record PublishedPortRow(string Network, string Endpoint, string Spec, DateTimeOffset Created);

/// <summary>A host port published to a remote guest (no endpoint: a guest behind a tunnel, known by
/// the MAC of its pool lease): the canonical spec text. It goes with its network (ON DELETE CASCADE).</summary>
public sealed record RemotePublishedPortRow(string Network, string Spec, MacAddress Mac, DateTimeOffset Created);

/// <summary>The text of typed columns, as state.db has always held them.</summary>
public static class StoredText
{
    /// <summary>nat, host, internal, bridged (the bridge interface is a column of its own).</summary>
    public static string Of(NetworkMode mode) => mode switch
    {
        NetworkMode.Nat => "nat",
        NetworkMode.Host => "host",
        NetworkMode.Internal => "internal",
        NetworkMode.Bridged => "bridged",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static bool TryParseMode(string text, out NetworkMode mode)
    {
        switch (text)
        {
            case "nat": mode = NetworkMode.Nat; return true;
            case "host": mode = NetworkMode.Host; return true;
            case "internal": mode = NetworkMode.Internal; return true;
            case "bridged": mode = NetworkMode.Bridged; return true;
            default: mode = default; return false;
        }
    }

    /// <summary>reserved, offered, bound, released.</summary>
    public static string Of(LeaseStatus status) => status switch
    {
        LeaseStatus.Reserved => "reserved",
        LeaseStatus.Offered => "offered",
        LeaseStatus.Bound => "bound",
        LeaseStatus.Released => "released",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    public static LeaseStatus ParseLeaseStatus(string text) => text switch
    {
        "reserved" => LeaseStatus.Reserved,
        "offered" => LeaseStatus.Offered,
        "bound" => LeaseStatus.Bound,
        "released" => LeaseStatus.Released,
        _ => throw new FormatException($"unknown lease state '{text}' in state.db"),
    };
}
