using System.Text.Json;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network.Nat;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Daemon.Api.Views;

/// <summary>What the API shows of endpoints and reservations: the live port's state and counters,
/// and the reservation from the store (read before the registry's lock is taken: no I/O under it).</summary>
internal sealed class EndpointViews(NetworkRegistry registry, IStateStore store)
{
    public List<EndpointInfo> List(string? network) => List(network, ListFilter.None);

    /// <summary>All endpoints, or one network's, that pass <paramref name="filter"/>; a network the
    /// filter rules out is not read at all.</summary>
    public List<EndpointInfo> List(string? network, ListFilter filter)
    {
        var wanted = filter.Terms.Where(t => t.Key == "network").Select(t => t.Value).ToList();
        var nets = network is null ? registry.Snapshot() : [registry.Find(network)];
        return nets.Where(n => wanted.Count == 0 || wanted.Contains(n.Row.Name)).SelectMany(n =>
        {
            var leases = store.Leases(n.Row.Name);
            return registry.Read(() => n.Endpoints.Values.Where(e => Passes(filter, n, e)).Select(e => Describe(n, e, leases)).ToList());
        }).ToList();
    }

    private static bool Passes(ListFilter filter, NetworkRecord n, EndpointRecord e) => filter.IsEmpty
        || filter.Matches(e.Row.Name, null, n.Row.Name, JsonSerializer.Deserialize(e.Row.LabelsJson, DaemonJsonContext.Default.DictionaryStringString));

    public EndpointInfo Get(string network, string name) => Describe(registry.FindEndpoint(network, name));

    public EndpointInfo Describe(EndpointRef found)
    {
        var leases = store.Leases(found.Network.Row.Name);
        return registry.Read(() => Describe(found.Network, found.Endpoint, leases));
    }

    public List<LeaseInfo> Leases(string network)
    {
        var net = registry.Find(network);
        var leases = store.Leases(network);
        var list = registry.Read(() => leases.Select(l => Lease(l, net.Endpoints.ContainsKey(l.Endpoint))).ToList());
        // Guests behind a tunnel, from the live pool (it holds what the store holds, and offers too).
        list.AddRange(net.Live.RemoteGuests.OrderBy(g => g.Address).Select(g => new LeaseInfo
        {
            Network = network, Endpoint = "", Mac = g.Mac.ToString(), Ipv4 = g.Address.ToString(),
            State = g.State.ToString().ToLowerInvariant(), Expires = g.Expires, Attached = false, Remote = true, HostName = g.HostName,
        }));
        return list;
    }

    private static EndpointInfo Describe(NetworkRecord n, EndpointRecord e, IReadOnlyList<LeaseRow> leases)
    {
        var lease = leases.FirstOrDefault(l => l.Endpoint == e.Row.Name);
        var c = e.Port?.Counters;
        var published = e.Published.ToList();
        var publishErrors = published.Where(p => p.Error is not null).ToDictionary(p => p.Text, p => p.Error!);
        var transport = TransportPlanner.ToSpec(e.Transport);
        return new EndpointInfo
        {
            Network = n.Row.Name,
            Name = e.Row.Name,
            Fqdn = $"{e.Row.Name}.{n.Row.Domain}",
            Mac = (e.Port?.Mac ?? e.Config.Mac).ToString(),
            Ipv4 = (e.Port?.Ipv4 ?? e.Config.Ipv4).ToString(),
            Ipv6 = n.Live.Config.Ipv6 is { } prefix
                ? [Ipv6Address.Slaac(prefix, e.Port?.Mac ?? e.Config.Mac).ToString(), Ipv6Address.LinkLocal(e.Port?.Mac ?? e.Config.Mac).ToString()]
                : null,
            Aliases = e.Config.Aliases is { Count: > 0 } aliases ? aliases : null,
            Egress = NetworkViews.Egress(e.Config.Egress),
            EgressDecisions = e.Port is { Egress: var g } && (g.Allowed > 0 || g.Denied > 0 || n.Live.Egress.Active)
                ? new EgressCounters { Allowed = g.Allowed, Denied = g.Denied } : null,
            Flows = n.Live.Nat is { } nat && e.Port is { Flows: var share } ? Flows(nat, share) : null,
            DefaultRoute = e.Port?.DefaultRoute ?? e.Config.DefaultRoute,
            Transport = e.Port?.Transport is IReportingTransport { Status: var st }
                ? transport with
                {
                    State = st.State, Connects = st.Connects, ProtocolErrors = st.ProtocolErrors, LastError = st.LastError,
                    CurrentPeer = st.Peer, ForeignDatagrams = e.Transport.Kind is TransportKind.Udp or TransportKind.Dgram ? st.ForeignDatagrams : null,
                }
                : transport,
            State = e.Port is null ? "down" : "up",
            Error = e.Error,
            Lease = lease is null ? null : Lease(lease, true),
            Published = published.Select(p => p.Text).ToList(),
            PublishErrors = publishErrors.Count == 0 ? null : publishErrors,
            Counters = c is null ? null : new PortCountersInfo
            {
                FramesIn = c.FramesIn, BytesIn = c.BytesIn, FramesOut = c.FramesOut, BytesOut = c.BytesOut,
                Dropped = c.DroppedTotal, Drops = c.DropsByReason(),
            },
            Labels = JsonSerializer.Deserialize(e.Row.LabelsJson, DaemonJsonContext.Default.DictionaryStringString),
            Created = e.Row.Created,
        };
    }

    private static readonly FlowRefusal[] Refusals = [FlowRefusal.EndpointLimit, FlowRefusal.NetworkLimit, FlowRefusal.Rate, FlowRefusal.FdBudget];

    /// <summary>The wire names of refusal reasons (also /metrics' reason label).</summary>
    public static string Name(FlowRefusal reason) => reason switch
    {
        FlowRefusal.EndpointLimit => "endpoint-limit",
        FlowRefusal.NetworkLimit => "network-limit",
        FlowRefusal.Rate => "rate",
        FlowRefusal.FdBudget => "fd-budget",
        _ => "none",
    };

    private static EndpointFlows Flows(NatEngine nat, FlowShare share) => new()
    {
        MaxFlows = nat.EndpointMaxFlows(share),
        Configured = share.MaxFlows > 0 ? share.MaxFlows : null,
        Tcp = share.FlowsOf(NatProtocol.Tcp), Udp = share.FlowsOf(NatProtocol.Udp), Icmp = share.FlowsOf(NatProtocol.Icmp),
        DnsInFlight = share.DnsInFlight, DnsRefused = share.DnsRefused,
        Refused = Refusals.ToDictionary(Name, share.Refused),
    };

    private static LeaseInfo Lease(LeaseRow l, bool attached) => new()
    {
        Network = l.Network, Endpoint = l.Endpoint, Mac = l.Mac.ToString(), Ipv4 = l.Ipv4.ToString(), State = StoredText.Of(l.State),
        Expires = l.Expires, Attached = attached,
    };
}
