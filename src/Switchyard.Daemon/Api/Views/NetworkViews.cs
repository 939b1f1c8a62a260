using Switchyard.Network;
using System.Text.Json;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;
using Switchyard.Network.Egress;
using Switchyard.Network.Transports;
using Switchyard.Platform;

namespace Switchyard.Daemon.Api.Views;

/// <summary>What the API shows of networks, from the live registry (in memory: the counters are the
/// data plane's own) and, for endpoints, their reservations in the store. Reads never take the gate;
/// they copy under the registry's lock (see <see cref="NetworkRegistry"/>).</summary>
internal sealed class NetworkViews(NetworkRegistry registry)
{
    public List<NetworkInfo> List() => registry.Snapshot().Select(Describe).ToList();

    /// <summary>The networks that pass <paramref name="filter"/>.</summary>
    public List<NetworkInfo> List(ListFilter filter) => registry.Snapshot().Where(n => Passes(filter, n)).Select(Describe).ToList();

    /// <summary>Whether a network passes a filter: by its name, mode and labels as stored.</summary>
    public static bool Passes(ListFilter filter, NetworkRecord n) => filter.IsEmpty
        || filter.Matches(n.Row.Name, ModeSpec.Name(n.Row.Mode), null, JsonSerializer.Deserialize(n.Row.LabelsJson, DaemonJsonContext.Default.DictionaryStringString));

    public NetworkInfo Get(string name) => Describe(registry.Find(name));

    public NetworkInfo Describe(NetworkRecord n)
    {
        var warnings = BridgeWarnings(n);
        return registry.Read(() => Describe(n, warnings));
    }

    /// <summary>A share with no cap of its own: what the network's default share is.</summary>
    private static readonly Switchyard.Network.Nat.FlowShare DefaultShare = new("");

    private static NetworkInfo Describe(NetworkRecord n, List<string>? warnings)
    {
        var live = n.Live;
        var fwd = live.Forwarder;
        return new NetworkInfo
        {
            Name = n.Row.Name,
            Mode = ModeSpec.Name(n.Row.Mode),
            BridgeInterface = n.Row.BridgeInterface,
            Subnet = n.Row.Subnet,
            Gateway = live.Config.Gateway.ToString(),
            GatewayMac = n.Row.GatewayMac,
            Ipv6Prefix = live.Config.Ipv6?.ToString(),
            Ipv6Gateway = live.Config.GatewayIpv6?.ToString(),
            Ipv6GatewayLinkLocal = live.Config.Ipv6 is null ? null : live.Config.GatewayLinkLocal.ToString(),
            Mtu = n.Row.Mtu,
            Domain = n.Row.Domain,
            HostLoopback = live.Nat?.Policy.HostLoopback ?? false,
            DnsUpstreams = n.DnsUpstreams,
            EffectiveDnsUpstreams = live.Forwarder is null ? [] : live.Config.DnsUpstreams().Select(e => e.ToString()).ToList(),
            Labels = JsonSerializer.Deserialize(n.Row.LabelsJson, DaemonJsonContext.Default.DictionaryStringString) ?? [],
            Created = n.Row.Created,
            Endpoints = n.Endpoints.Count,
            Services = new GatewayCounters
            {
                DhcpMalformed = live.Dhcp.MalformedCount,
                DnsMalformed = live.Dns.Malformed,
                Drops = live.Gateway.Counters.DropsByReason(),
                DnsQueries = live.Dns.Queries,
                DnsForwarded = fwd?.Forwarded ?? 0,
                DnsUpstreamFailures = fwd?.Failed ?? 0,
                DnsCacheEntries = fwd?.Cache.Count ?? 0,
            },
            Nat = live.Nat is { } nat ? new NatCounters
            {
                TcpFlows = nat.TcpFlowCount, UdpFlows = nat.UdpFlowCount, IcmpFlows = nat.IcmpFlowCount,
                MaxFlows = nat.EffectiveMaxFlows, EndpointMaxFlows = nat.EndpointMaxFlows(DefaultShare), NewFlowsPerSecond = nat.NewFlowsPerSecond,
            } : null,
            MaxFlows = n.Row.MaxFlows,
            DhcpRange = live.DhcpRange?.ToString(),
            RemoteLeases = live.DhcpRange is null ? null : live.RemoteLeaseCount,
            Warnings = warnings,
            Egress = Egress(live.Egress.Policy),
            Vxlan = Vxlan(n),
            Published = RemotePublished(n),
        };
    }

    /// <summary>Host ports published to remote guests, with where each goes now (called under the registry's lock).</summary>
    private static List<RemotePublishedInfo>? RemotePublished(NetworkRecord n) => n.RemotePublished.Count == 0 ? null
        : n.RemotePublished.Select(p => new RemotePublishedInfo
        {
            Spec = p.Text,
            Mac = p.Mac.ToString(),
            HostName = n.Live.RemoteGuests.FirstOrDefault(g => g.Mac == p.Mac)?.HostName,
            Ipv4 = n.Live.BoundRemoteAddress(p.Mac)?.ToString(),
            Error = p.Handle is null ? p.Error ?? "not listening" : null,
        }).ToList();

    /// <summary>The tunnel's settings as stored (peers edited while it was down included) and its live counters.</summary>
    private static VxlanInfo? Vxlan(NetworkRecord n)
    {
        if (n.Vxlan is not { } stored) return null;
        var tunnel = n.Tunnel;
        var c = tunnel?.Counters;
        return new VxlanInfo
        {
            Vni = stored.Vni, Local = stored.Local, Peers = stored.Peers, State = tunnel is null ? "down" : "up",
            Counters = c is null ? null : new VxlanCountersInfo
            {
                DatagramsIn = c.DatagramsIn, DatagramsOut = c.DatagramsOut, BytesIn = c.BytesIn, BytesOut = c.BytesOut,
                Replicated = c.Replicated, LearntMacs = c.LearntMacs, SentPerPeer = c.SentPerPeer,
                Dropped = Observability.VxlanDrops.ByReason(c),
            },
            GuardDropped = n.Mode == NetworkMode.Bridged ? null : n.Live.Uplink?.Counters.DropsByReason(),
        };
    }

    private static List<string>? BridgeWarnings(NetworkRecord n)
    {
        if (n.Vxlan is { } vxlan)
            return n.UplinkError is { } down ? [$"the VXLAN tunnel on {vxlan.Local} is down (restart the daemon once the address is free): {down}"] : null;
        if (n.Row.BridgeInterface is not { } name) return null;
        var warnings = new List<string>();
        if (n.UplinkError is { } error) warnings.Add($"not connected to the LAN of {name} (restart the daemon once it is back): {error}");
        if (HostInterfaces.Find(name) is { Kind: "wifi", Reason: { } reason }) warnings.Add($"{name}: {reason}");
        return warnings.Count == 0 ? null : warnings;
    }

    public static EgressPolicySpec? Egress(EgressPolicy? policy) => policy is null ? null : new EgressPolicySpec
    {
        Default = policy.DefaultText,
        Allow = policy.Allow.Select(r => r.ToString()).ToList(),
        Deny = policy.Deny.Select(r => r.ToString()).ToList(),
    };
}

/// <summary>The host's interfaces, and whether a network can bridge to each (also for the CLI
/// when no daemon runs).</summary>
public static class HostInterfaceViews
{
    public static IReadOnlyList<HostInterfaceInfo> List() =>
        HostInterfaces.List().Select(i => new HostInterfaceInfo
        {
            Name = i.Name, Kind = i.Kind, Mac = i.Mac, Mtu = i.Mtu, State = i.State, Addresses = i.Addresses, CanBridge = i.CanBridge, Reason = i.Reason,
        }).ToList();
}
