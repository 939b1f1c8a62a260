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
