using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchyard.Client;

// The API's wire types. JSON names are camelCase; optional fields are omitted when null.

/// <summary>POST /networks.</summary>
public sealed record NetworkCreateRequest
{
    public required string Name { get; init; }
    /// <summary>nat (default), host, internal, bridged, bridged:IFACE (bridged: the interface of
    /// the host's default route) or bridged:vxlan (joins another host's network over <see cref="Vxlan"/>).</summary>
    public string? Mode { get; init; }
    /// <summary>IPv4 CIDR; default: the first free 192.168.N.0/24 from 192.168.64.0/24 on.</summary>
    public string? Subnet { get; init; }
    public int? Mtu { get; init; }
    /// <summary>Default: NAME.internal.</summary>
    public string? Domain { get; init; }
    /// <summary>IP or IP:PORT; empty or null: the host's resolv.conf. "none": no forwarding.</summary>
    public IReadOnlyList<string>? DnsUpstreams { get; init; }
    /// <summary>nat and host networks: connections to the gateway's address (and host.DOMAIN) reach
    /// the host's 127.0.0.1 on the same port. Default true; meaningless for internal networks.</summary>
    public bool? HostLoopback { get; init; }
    /// <summary>IPv6 for the guests (SLAAC): a /64 such as fd12:3456:789a:1::/64, or "auto" for a
    /// stable unique local /64 derived from the network's name. Null: IPv4 only.</summary>
    public string? Ipv6 { get; init; }
    /// <summary>An egress policy for the network's outside traffic (see docs/egress.md); null: none.</summary>
    public EgressPolicySpec? Egress { get; init; }
    /// <summary>The most NAT flows (host sockets: TCP, UDP and ICMP together) the network may hold;
    /// each endpoint may hold a quarter of it unless it has its own. Null or 0: 16384 (never more
    /// than half the daemon's file descriptor budget). See docs/nat.md, "Fair shares".</summary>
    public int? MaxFlows { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    /// <summary>Take <see cref="Subnet"/> (and <see cref="Ipv6"/>) even where it overlaps a range the
    /// host routes (its LAN, a VPN, a container bridge): the guests then shadow those hosts, which
    /// they can no longer reach. Default false: such a subnet is refused (409). Reserved ranges
    /// (loopback, link-local, multicast, 0.0.0.0/8, 240.0.0.0/4) are refused regardless.</summary>
    public bool? AllowHostSubnet { get; init; }
    /// <summary>A VXLAN uplink to other hosts (docs/multi-host.md): on a nat, host or internal network
    /// its gateway serves the guests behind the tunnel too; mode <c>bridged:vxlan</c> needs it and
    /// joins a network another host's gateway serves. Without <see cref="Mtu"/>, the MTU is the
    /// underlay route's minus the encapsulation (50 bytes on IPv4, 70 on IPv6).</summary>
    public VxlanSpec? Vxlan { get; init; }
    /// <summary>FIRST-LAST: the addresses the gateway's DHCP server gives to clients it has no endpoint
    /// for (guests on other hosts, behind a VXLAN tunnel). Null: the upper half of the subnet when the
    /// network has a tunnel, else none. Endpoint addresses never come from it. See docs/multi-host.md.</summary>
    public string? DhcpRange { get; init; }
}

/// <summary>An egress policy. Rules are <c>DOMAIN</c>, <c>*.DOMAIN</c> (its subdomains) or
/// <c>CIDR</c>, each optionally followed by <c>:PORT</c> and <c>/tcp</c> or <c>/udp</c>
/// (an IPv6 CIDR with a port goes in brackets: <c>[2001:db8::/32]:443</c>).</summary>
public sealed record EgressPolicySpec
{
    /// <summary>"deny" (an allowlist: only what <see cref="Allow"/> names) or "allow" (a denylist:
    /// everything but what <see cref="Deny"/> names).</summary>
    public required string Default { get; init; }
    public IReadOnlyList<string>? Allow { get; init; }
    public IReadOnlyList<string>? Deny { get; init; }
}

/// <summary>Edits of a policy in place: the default, rules added and removed. Applies to new flows at once.</summary>
public sealed record EgressUpdate
{
    public string? Default { get; init; }
    public IReadOnlyList<string>? AddAllow { get; init; }
    public IReadOnlyList<string>? RemoveAllow { get; init; }
    public IReadOnlyList<string>? AddDeny { get; init; }
    public IReadOnlyList<string>? RemoveDeny { get; init; }
    /// <summary>Removes the policy altogether (the other fields must be absent).</summary>
    public bool Clear { get; init; }
}

/// <summary>One egress decision, as the audit log and the live stream carry it.</summary>
public sealed record EgressEvent
{
    public required DateTimeOffset Time { get; init; }
    public required string Network { get; init; }
    public required string Endpoint { get; init; }
    /// <summary>tcp, udp, icmp or dns.</summary>
    public required string Protocol { get; init; }
    /// <summary>IP:PORT ([IPv6]:PORT), or the IP alone for icmp; null for dns.</summary>
    public string? Destination { get; init; }
    /// <summary>The name involved: the query, the TLS SNI or HTTP Host, or the name the destination was resolved from.</summary>
    public string? Name { get; init; }
    /// <summary>allow or deny.</summary>
    public required string Verdict { get; init; }
    /// <summary>Why, e.g. allowed-name, allowed-cidr, name-not-allowed, not-resolved, sni-mismatch, host-mismatch, quic.</summary>
    public required string Reason { get; init; }
}

/// <summary>An endpoint's egress decisions since it was attached (or the daemon started).</summary>
public sealed record EgressCounters
{
    public long Allowed { get; init; }
    public long Denied { get; init; }
}

/// <summary>PATCH /networks/{name}: the fields to change; null leaves a field as it is.</summary>
public sealed record NetworkUpdateRequest
{
    /// <summary>nat, host, internal, bridged or bridged:IFACE (bridged:vxlan is for create only).
    /// Refused while endpoints are attached.</summary>
    public string? Mode { get; init; }
    public bool? HostLoopback { get; init; }
    /// <summary>Edits of the egress policy; allowed while endpoints are attached, for new flows at once.</summary>
    public EgressUpdate? Egress { get; init; }
    /// <summary>The network's NAT flow cap (0: back to the default); applies at once to new flows,
    /// endpoints attached or not. Flows already open stay.</summary>
    public int? MaxFlows { get; init; }
    /// <summary>VXLAN peers added or removed, live (endpoints attached or not).</summary>
    public VxlanUpdate? Vxlan { get; init; }
    /// <summary>A new dynamic DHCP range (FIRST-LAST), or "default"; applies at once. Leases outside
    /// the new range end at their next renewal; a range holding endpoint reservations is refused (409).</summary>
    public string? DhcpRange { get; init; }
}

public sealed record NetworkInfo
{
    public required string Name { get; init; }
    public required string Mode { get; init; }
    /// <summary>Bridged networks: the host interface whose LAN the guests join.</summary>
    public string? BridgeInterface { get; init; }
    public required string Subnet { get; init; }
    public required string Gateway { get; init; }
    public required string GatewayMac { get; init; }
    /// <summary>The network's IPv6 /64 (null: IPv4 only).</summary>
    public string? Ipv6Prefix { get; init; }
    /// <summary>The gateway's IPv6 address in the prefix (prefix::1): router, DNS, and the host's ::1 in nat and host modes.</summary>
    public string? Ipv6Gateway { get; init; }
    /// <summary>The gateway's link-local address (EUI-64 of its MAC), the source of its router advertisements.</summary>
    public string? Ipv6GatewayLinkLocal { get; init; }
    public required int Mtu { get; init; }
    public required string Domain { get; init; }
    /// <summary>Whether the gateway's address reaches the host's 127.0.0.1 (always false for internal networks).</summary>
    public bool HostLoopback { get; init; }
    /// <summary>As configured; empty means the host's resolvers.</summary>
    public required IReadOnlyList<string> DnsUpstreams { get; init; }
    /// <summary>The resolvers queries go to right now.</summary>
    public IReadOnlyList<string>? EffectiveDnsUpstreams { get; init; }
    public required IReadOnlyDictionary<string, string> Labels { get; init; }
    public required DateTimeOffset Created { get; init; }
    public int Endpoints { get; init; }
    public GatewayCounters? Services { get; init; }
    /// <summary>The user-mode NAT's open flows (nat and host networks); null for networks without one (internal).</summary>
    public NatCounters? Nat { get; init; }
    /// <summary>What may keep the network from working as asked: a bridged network on Wi-Fi (most
    /// access points drop frames from guests' MACs), or one restored without its LAN.</summary>
    public IReadOnlyList<string>? Warnings { get; init; }
    /// <summary>The egress policy; null when there is none.</summary>
    public EgressPolicySpec? Egress { get; init; }
    /// <summary>The NAT flow cap as configured (null: the default).</summary>
    public int? MaxFlows { get; init; }
    /// <summary>The network's VXLAN uplink to other hosts: settings and counters (null: none).</summary>
    public VxlanInfo? Vxlan { get; init; }
    /// <summary>The dynamic DHCP range in use for guests behind a tunnel (null: none).</summary>
    public string? DhcpRange { get; init; }
    /// <summary>Leases of that range now held (offered or bound, not expired).</summary>
    public int? RemoteLeases { get; init; }
    /// <summary>Host ports published to remote guests (guests with a pool lease and no endpoint here;
    /// POST /networks/{name}/published), in the order published; null: none.</summary>
    public IReadOnlyList<RemotePublishedInfo>? Published { get; init; }
}

/// <summary>Flows the network's NAT holds open right now, one host socket each, and its caps.</summary>
public sealed record NatCounters
{
    public int TcpFlows { get; init; }
    public int UdpFlows { get; init; }
    public int IcmpFlows { get; init; }
    /// <summary>The network's cap in force (its own, or the default; at most half the daemon's fd budget).</summary>
    public int MaxFlows { get; init; }
    /// <summary>What an endpoint without its own cap may hold: a quarter of <see cref="MaxFlows"/>.</summary>
    public int EndpointMaxFlows { get; init; }
    /// <summary>New flows per second (and burst) an endpoint may open.</summary>
    public int NewFlowsPerSecond { get; init; }
}

/// <summary>An endpoint's share of its network's NAT: what it holds, its cap, what it was refused.</summary>
public sealed record EndpointFlows
{
    /// <summary>The cap in force: its own, or a quarter of the network's.</summary>
    public int MaxFlows { get; init; }
    /// <summary>Its own cap as given at attach (null: the network's default share).</summary>
    public int? Configured { get; init; }
    public int Tcp { get; init; }
    public int Udp { get; init; }
    public int Icmp { get; init; }
    /// <summary>Its DNS queries the gateway is forwarding now.</summary>
    public int DnsInFlight { get; init; }
    /// <summary>Its DNS queries refused (REFUSED) because it had its share (256) in flight.</summary>
    public long DnsRefused { get; init; }
    /// <summary>New flows refused on fairness grounds, by reason: endpoint-limit, network-limit, rate, fd-budget.</summary>
    public IReadOnlyDictionary<string, long>? Refused { get; init; }
}

public sealed record GatewayCounters
{
    public long DhcpMalformed { get; init; }
    /// <summary>DNS queries (UDP or TCP) that did not parse.</summary>
    public long DnsMalformed { get; init; }
    public long DnsQueries { get; init; }
    public long DnsForwarded { get; init; }
    public long DnsUpstreamFailures { get; init; }
    public int DnsCacheEntries { get; init; }
    /// <summary>Frames the gateway itself dropped, by reason (e.g. "malformed": bad checksums, short DNS queries).</summary>
    public IReadOnlyDictionary<string, long>? Drops { get; init; }
}

/// <summary>How the guest's frames reach the network.</summary>
public sealed record TransportSpec
{
    /// <summary>"tap" (a namespace or a TAP device), "stream" (unix stream socket, 4-byte
    /// big-endian length before each frame), "dgram" (unix datagram socket, a frame per
    /// datagram), "udp" (a UDP socket, a frame per datagram: QEMU -netdev dgram/socket with inet
    /// addresses, libvirt type='udp') or "fd" (a socket pair handed to the caller).</summary>
    public required string Kind { get; init; }
    /// <summary>stream, dgram: the path the daemon binds and the VM connects or sends to. udp: the
    /// address and port the daemon binds, <c>ADDR:PORT</c>, <c>[V6ADDR]:PORT</c> or <c>PORT</c>
    /// (loopback); shown as <c>127.0.0.1:5000</c> or <c>[::1]:5000</c>.</summary>
    public string? Listen { get; init; }
    /// <summary>stream: the path of a socket the VM listens on; the daemon connects and reconnects.</summary>
    public string? Connect { get; init; }
    /// <summary>dgram: the VM's own socket path; udp: the VM's <c>ADDR:PORT</c> (default: learnt
    /// from its first datagram).</summary>
    public string? Peer { get; init; }
    /// <summary>fd: the socket pair is SOCK_STREAM (length-prefixed frames) instead of SOCK_DGRAM.</summary>
    public bool Stream { get; init; }
    /// <summary>Socket transports without a given MAC take the VM's own: its first frame's source.</summary>
    public bool LearnMac { get; init; }
    /// <summary>Socket transports: listening, connecting, connected, waiting-for-peer, closed (read only).</summary>
    public string? State { get; init; }
    public long? Connects { get; init; }
    public long? ProtocolErrors { get; init; }
    public string? LastError { get; init; }
    /// <summary>dgram, udp: where frames go now, given or learnt (read only; null until known).</summary>
    public string? CurrentPeer { get; init; }
    /// <summary>dgram, udp: datagrams dropped for coming from a source other than the peer (read only).</summary>
    public long? ForeignDatagrams { get; init; }
    /// <summary>tap: the name of a network namespace in /run/netns.</summary>
    public string? Netns { get; init; }
    /// <summary>tap: a namespace path such as /proc/PID/ns/net.</summary>
    public string? NetnsPath { get; init; }
    /// <summary>tap: the interface name inside the namespace (default eth0), or the TAP device in the daemon's namespace.</summary>
    public string? Ifname { get; init; }
    /// <summary>tap in a namespace: also set address, default route and resolv.conf (like pasta --config-net).</summary>
    public bool Configure { get; init; }
}

/// <summary>POST /networks/{network}/endpoints.</summary>
public sealed record EndpointAttachRequest
{
    public required string Name { get; init; }
    public required TransportSpec Transport { get; init; }
    public string? Mac { get; init; }
    public string? Ip { get; init; }
    /// <summary>Host ports to forward to the guest: <c>[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]</c>
    /// (host address default 127.0.0.1). If one cannot be published, nothing is attached.</summary>
    public IReadOnlyList<string>? Publish { get; init; }
    /// <summary>Extra DNS names for the endpoint on this network (each a DNS label, unique on the network).</summary>
    public IReadOnlyList<string>? Aliases { get; init; }
    /// <summary>Whether its lease gives the guest a default route through this network. true: this
    /// network does, and the guest's other endpoints (the same namespace) stop; false: it does not;
    /// null: only if no other endpoint of the same namespace already gives one (the first attached).</summary>
    public bool? DefaultRoute { get; init; }
    /// <summary>A policy of the endpoint's own; it narrows the network's (a flow must pass both).</summary>
    public EgressPolicySpec? Egress { get; init; }
    /// <summary>The most NAT flows this endpoint may hold (null or 0: a quarter of the network's).</summary>
    public int? MaxFlows { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>POST /networks/{network}/endpoints/{name}/published.</summary>
public sealed record PublishRequest
{
    /// <summary><c>[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]</c>; the host address defaults to 127.0.0.1.</summary>
    public required string Spec { get; init; }
}

public sealed record EndpointInfo
{
    public required string Network { get; init; }
    public required string Name { get; init; }
    public required string Fqdn { get; init; }
    public required string Mac { get; init; }
    public required string Ipv4 { get; init; }
    /// <summary>On IPv6 networks: the addresses the guest may use, its SLAAC address (EUI-64 of its
    /// MAC in the network's /64) and its link-local address.</summary>
    public IReadOnlyList<string>? Ipv6 { get; init; }
    /// <summary>Extra DNS names on the network.</summary>
    public IReadOnlyList<string>? Aliases { get; init; }
    /// <summary>Whether its lease names the gateway as the guest's router.</summary>
    public bool DefaultRoute { get; init; }
    public required TransportSpec Transport { get; init; }
    /// <summary>"up" when its transport is connected, "down" when it could not be restored.</summary>
    public required string State { get; init; }
    public string? Error { get; init; }
    public LeaseInfo? Lease { get; init; }
    /// <summary>Published ports in canonical form, <c>HOSTIP:HOSTPORT:GUESTPORT/PROTO</c>.</summary>
    public IReadOnlyList<string>? Published { get; init; }
    /// <summary>Published ports that are not listening, by spec, with the reason (e.g. the host
    /// port was taken while the daemon was down). Publish the spec again to retry.</summary>
    public IReadOnlyDictionary<string, string>? PublishErrors { get; init; }
    public PortCountersInfo? Counters { get; init; }
    /// <summary>The endpoint's own egress policy, if it has one.</summary>
    public EgressPolicySpec? Egress { get; init; }
    /// <summary>Egress decisions about this endpoint's traffic (networks or endpoints with a policy).</summary>
    public EgressCounters? EgressDecisions { get; init; }
    /// <summary>Its share of the NAT (nat and host networks): flows, cap, refusals.</summary>
    public EndpointFlows? Flows { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public required DateTimeOffset Created { get; init; }
}

public sealed record LeaseInfo
{
    public required string Network { get; init; }
    public required string Endpoint { get; init; }
    public required string Mac { get; init; }
    public required string Ipv4 { get; init; }
    /// <summary>reserved (no DHCP yet), offered, bound, released.</summary>
    public required string State { get; init; }
    public DateTimeOffset? Expires { get; init; }
    public required bool Attached { get; init; }
    /// <summary>A lease of the dynamic range: a guest with no endpoint (behind a tunnel); its
    /// <see cref="Endpoint"/> is empty and it is known by <see cref="Mac"/>.</summary>
    public bool Remote { get; init; }
    /// <summary>A remote guest's DNS name (from its DHCP host name; null: none, or taken).</summary>
    public string? HostName { get; init; }
}

public sealed record PortCountersInfo
{
    public long FramesIn { get; init; }
    public long BytesIn { get; init; }
    public long FramesOut { get; init; }
    public long BytesOut { get; init; }
    public long Dropped { get; init; }
    public required IReadOnlyDictionary<string, long> Drops { get; init; }
}

public sealed record VersionInfo
{
    public required string Version { get; init; }
    public required string Runtime { get; init; }
    public required string Os { get; init; }
    public required int ApiVersion { get; init; }
}

public sealed record HealthInfo
{
    public required string Status { get; init; }
    public required int Networks { get; init; }
    public required int Endpoints { get; init; }
    public required TimeSpan Uptime { get; init; }
}

/// <summary>GET /networks/{network}/flows: one NAT flow (a guest's connection or datagram flow
/// through the network's NAT, or a published port's connection to a guest).</summary>
public sealed record FlowInfo
{
    /// <summary>tcp, udp or icmp.</summary>
    public required string Protocol { get; init; }
    /// <summary>The endpoint whose MAC the flow's guest has; null when no endpoint has it now.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Endpoint { get; init; }
    /// <summary>The guest's address and port (the echo identifier for icmp), e.g. 10.0.0.5:40000 or [fd00::5]:40000.</summary>
    public required string Guest { get; init; }
    /// <summary>The remote as the guest addressed it; for a published port, the client as the guest sees it.</summary>
    public required string Destination { get; init; }
    /// <summary>tcp: connecting, syn-sent, syn-received, established, fin-wait, closing, closed; udp and icmp: open.</summary>
    public required string State { get; init; }
    public double AgeSeconds { get; init; }
    /// <summary>Since a packet (udp, icmp) or payload or acknowledged progress (tcp) last moved.</summary>
    public double IdleSeconds { get; init; }
    /// <summary>Payload bytes the guest sent (written to the host socket).</summary>
    public long BytesFromGuest { get; init; }
    /// <summary>Payload bytes that came back for the guest (read from the host socket).</summary>
    public long BytesToGuest { get; init; }
    /// <summary>A connection made to a published port (inbound), not one the guest opened.</summary>
    public bool Published { get; init; }
}

/// <summary>RFC 7807 problem details, as the daemon sends them for every error.</summary>
/// <summary>GET /interfaces: one host interface a network could bridge to.</summary>
public sealed record HostInterfaceInfo
{
    public required string Name { get; init; }
    /// <summary>ethernet, wifi, loopback, bridge, bond, vlan, veth, macvlan, tun, tap, tunnel or virtual.</summary>
    public required string Kind { get; init; }
    public string? Mac { get; init; }
    public int Mtu { get; init; }
    /// <summary>The kernel's operational state (up, down, lowerlayerdown, unknown, ...); "down" when administratively down.</summary>
    public required string State { get; init; }
    /// <summary>CIDR notation, IPv4 and IPv6.</summary>
    public required IReadOnlyList<string> Addresses { get; init; }
    public required bool CanBridge { get; init; }
    /// <summary>Why it cannot be bridged, or a warning ("warning: ...") when it can but may not carry guests' frames.</summary>
    public string? Reason { get; init; }
}

public sealed record ProblemInfo
{
    public string? Type { get; init; }
    public string? Title { get; init; }
    public int? Status { get; init; }
    public string? Detail { get; init; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(NetworkCreateRequest))]
[JsonSerializable(typeof(NetworkInfo))]
[JsonSerializable(typeof(NetworkUpdateRequest))]
[JsonSerializable(typeof(List<EgressEvent>))]
[JsonSerializable(typeof(List<NetworkInfo>))]
[JsonSerializable(typeof(NetworkPruneResult))]
[JsonSerializable(typeof(EndpointAttachRequest))]
[JsonSerializable(typeof(PublishRequest))]
[JsonSerializable(typeof(NetworkPublishRequest))]
[JsonSerializable(typeof(EndpointInfo))]
[JsonSerializable(typeof(List<EndpointInfo>))]
[JsonSerializable(typeof(LeaseInfo))]
[JsonSerializable(typeof(List<LeaseInfo>))]
[JsonSerializable(typeof(VersionInfo))]
[JsonSerializable(typeof(HealthInfo))]
[JsonSerializable(typeof(ProblemInfo))]
[JsonSerializable(typeof(List<HostInterfaceInfo>))]
[JsonSerializable(typeof(List<FlowInfo>))]
public sealed partial class SwitchyardJsonContext : JsonSerializerContext;

/// <summary>The fd handoff request: one line of JSON on the API socket (see docs/fd-handoff.md).</summary>
public sealed record FdHandoffRequest
{
    /// <summary>Always 1: tells the daemon this connection is a handoff, not HTTP.</summary>
    public int Handoff { get; init; } = 1;
    public required string Network { get; init; }
    public required string Endpoint { get; init; }
    /// <summary>"dgram" (default: a frame per datagram, QEMU -netdev dgram, vfkit) or "stream" (4-byte length prefix).</summary>
    public string? SocketType { get; init; }
    public string? Mac { get; init; }
    public string? Ip { get; init; }
}

/// <summary>The daemon's one-line reply; on success the socket arrives with it as SCM_RIGHTS.</summary>
public sealed record FdHandoffReply
{
    public required bool Ok { get; init; }
    public int? Status { get; init; }
    public string? Error { get; init; }
    public EndpointInfo? Endpoint { get; init; }
}

/// <summary>Compact JSON, one value per line: the fd handoff's messages, and egress events as the
/// audit log, the server-sent events and <c>yard egress log --format json --follow</c> write them.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FdHandoffRequest))]
[JsonSerializable(typeof(FdHandoffReply))]
[JsonSerializable(typeof(EgressEvent))]
public sealed partial class JsonLinesContext : JsonSerializerContext;
