using Switchyard.Network.Nat;

namespace Switchyard.Daemon.Observability;

/// <summary>The NAT of each nat and host network (internal and bridged ones have none): open flows,
/// and netstats' <c>NatStatistics</c>.</summary>
internal sealed class NatCollector : IMetricsCollector
{
    private static readonly (NatProtocol Protocol, string Name)[] Protocols =
        [(NatProtocol.Tcp, "tcp"), (NatProtocol.Udp, "udp"), (NatProtocol.Icmp, "icmp")];

    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        var nats = view.Networks.Where(n => n.Live.Nat is not null).Select(n => (n.Name, Nat: n.Live.Nat!)).ToList();

        w.Family("switchyard_nat_flows", MetricType.Gauge, "NAT flows open now, by protocol (tcp, udp, icmp); nat and host networks only.");
        foreach (var (name, nat) in nats)
        {
            w.Sample(nat.TcpFlowCount, new Label("network", name), new Label("proto", "tcp"));
            w.Sample(nat.UdpFlowCount, new Label("network", name), new Label("proto", "udp"));
            w.Sample(nat.IcmpFlowCount, new Label("network", name), new Label("proto", "icmp"));
        }

        PerProtocol(w, nats, "switchyard_nat_flows_opened_total",
            "NAT flows that entered the table (outbound, or a published port's connection).", static (s, p) => s.Opened(p));
        PerProtocol(w, nats, "switchyard_nat_flows_refused_total",
            "New flows the NAT would not open: the network's reach, the egress policy, a full table, no host socket.", static (s, p) => s.Refused(p));
        PerProtocol(w, nats, "switchyard_nat_flows_evicted_total",
            "Live NAT flows closed to make room for new ones (idle expiry is not eviction).", static (s, p) => s.Evicted(p));

        w.Family("switchyard_nat_bytes_total", MetricType.Counter,
            "Payload bytes through NAT flows: from_guests (written to host sockets), to_guests (read from them).");
        foreach (var (name, nat) in nats)
        {
            w.Sample(nat.Statistics.BytesFromGuests, new Label("network", name), new Label("direction", "from_guests"));
            w.Sample(nat.Statistics.BytesToGuests, new Label("network", name), new Label("direction", "to_guests"));
        }

        w.Family("switchyard_nat_published_connections_total", MetricType.Counter,
            "TCP connections accepted on published ports and handed to a guest.");
        foreach (var (name, nat) in nats) w.Sample(nat.Statistics.PublishedConnections, new Label("network", name));

        FairShares(w, view);
    }

    private static readonly FlowRefusal[] Refusals = [FlowRefusal.EndpointLimit, FlowRefusal.NetworkLimit, FlowRefusal.Rate, FlowRefusal.FdBudget];

    /// <summary>Each endpoint's share of its NAT (docs/nat.md, "Fair shares") and the daemon's fd budget.</summary>
    private static void FairShares(PrometheusWriter w, ScrapeView view)
    {
        var shares = view.Networks.Where(n => n.Live.Nat is not null)
            .SelectMany(n => n.Endpoints.Where(e => e.Port is not null).Select(e => (Network: n.Name, e.Name, Share: e.Port!.Flows)))
            .ToList();
        w.Family("switchyard_nat_endpoint_flows", MetricType.Gauge, "NAT flows an endpoint holds now, all protocols.");
        foreach (var (network, endpoint, share) in shares)
            w.Sample(share.Flows, new Label("network", network), new Label("endpoint", endpoint));
        w.Family("switchyard_nat_endpoint_refused_total", MetricType.Counter,
            "New flows refused an endpoint on fairness grounds, by reason (endpoint-limit, network-limit, rate, fd-budget).");
        foreach (var (network, endpoint, share) in shares)
            foreach (var r in Refusals)
                w.Sample(share.Refused(r), new Label("network", network), new Label("endpoint", endpoint), new Label("reason", Api.Views.EndpointViews.Name(r)));
        w.Family("switchyard_dns_endpoint_in_flight", MetricType.Gauge, "DNS queries of an endpoint the gateway is forwarding now.");
        foreach (var (network, endpoint, share) in shares)
            w.Sample(share.DnsInFlight, new Label("network", network), new Label("endpoint", endpoint));
        if (view.Networks.Select(n => n.Live.Nat?.Fds).FirstOrDefault(f => f is not null) is not { } fds) return;
        w.Family("switchyard_fd_budget", MetricType.Gauge,
            "The daemon's file descriptors for NAT flows: limit (RLIMIT_NOFILE), reserve (kept for the API, state, DNS), capacity, used.");
        w.Sample(fds.Limit, new Label("kind", "limit"));
        w.Sample(fds.Reserve, new Label("kind", "reserve"));
        w.Sample(fds.Capacity, new Label("kind", "capacity"));
        w.Sample(fds.Used, new Label("kind", "used"));
    }

    private static void PerProtocol(PrometheusWriter w, List<(string Name, NatEngine Nat)> nats, string family, string help,
        Func<NatStatistics, NatProtocol, long> read)
    {
        w.Family(family, MetricType.Counter, help);
        foreach (var (name, nat) in nats)
            foreach (var (protocol, proto) in Protocols)
                w.Sample(read(nat.Statistics, protocol), new Label("network", name), new Label("proto", proto));
    }
}
