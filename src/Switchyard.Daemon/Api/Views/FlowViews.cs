using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Network.Nat;
using Switchyard.Packets;

namespace Switchyard.Daemon.Api.Views;

/// <summary>A network's NAT flows for <c>GET /networks/{network}/flows</c>: the engine's snapshot
/// (taken outside the registry's lock: it reads only the NAT's concurrent tables), each flow
/// named by the endpoint whose MAC it came from.</summary>
internal sealed class FlowViews(NetworkRegistry registry)
{
    public const int DefaultLimit = 500;
    public const int MaxLimit = 10_000;

    /// <summary>Up to <paramref name="limit"/> flows; empty for a network without NAT (internal,
    /// bridged). Throws NotFound for an unknown network.</summary>
    public List<FlowInfo> List(string network, int limit)
    {
        var net = registry.Find(network);
        if (net.Live.Nat is not { } nat) return [];
        var flows = nat.SnapshotFlows(limit);
        if (flows.Count == 0) return [];
        var names = registry.Read(() => net.Endpoints.Values.ToDictionary(e => e.Port?.Mac ?? e.Config.Mac, e => e.Row.Name));
        return [.. flows.Select(f => Describe(f, names))];
    }

    private static FlowInfo Describe(NatFlowSnapshot f, Dictionary<MacAddress, string> names) => new()
    {
        Protocol = f.Protocol switch { NatProtocol.Tcp => "tcp", NatProtocol.Udp => "udp", _ => "icmp" },
        Endpoint = names.GetValueOrDefault(f.Guest),
        Guest = f.GuestEndPoint.ToString(),
        Destination = f.Destination.ToString(),
        State = f.State,
        AgeSeconds = Math.Round(f.Age.TotalSeconds, 3),
        IdleSeconds = Math.Round(f.Idle.TotalSeconds, 3),
        BytesFromGuest = f.BytesFromGuest,
        BytesToGuest = f.BytesToGuest,
        Published = f.Published,
    };
}
