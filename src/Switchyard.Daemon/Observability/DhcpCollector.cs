using Switchyard.Network;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Daemon.Observability;

/// <summary>The DHCP server of each network: messages by type (netstats' <c>DhcpCounters</c>) and
/// leases bound (from the lease state the daemon keeps). A bridged network's server is off (the
/// LAN's serves its guests), so it has no messages, only the leases seen acknowledged on the LAN.</summary>
internal sealed class DhcpCollector : IMetricsCollector
{
    // What a client sends and what a server answers (RFC 2131 §3); the other direction never happens.
    private static readonly (DhcpMessageType Type, string Name)[] Received =
        [(DhcpMessageType.Discover, "discover"), (DhcpMessageType.Request, "request"), (DhcpMessageType.Decline, "decline"),
         (DhcpMessageType.Release, "release"), (DhcpMessageType.Inform, "inform")];
    private static readonly (DhcpMessageType Type, string Name)[] Sent =
        [(DhcpMessageType.Offer, "offer"), (DhcpMessageType.Ack, "ack"), (DhcpMessageType.Nak, "nak")];

    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        w.Family("switchyard_dhcp_messages_total", MetricType.Counter,
            "DHCP messages of the network's own server: received from clients and sent to them, by message type.");
        foreach (var n in view.Networks)
        {
            if (n.Live.Config.Mode == NetworkMode.Bridged) continue;
            var c = n.Live.Dhcp.Counters;
            foreach (var (type, name) in Received)
                w.Sample(c.Received(type), new Label("network", n.Name), new Label("direction", "received"), new Label("type", name));
            foreach (var (type, name) in Sent)
                w.Sample(c.Sent(type), new Label("network", n.Name), new Label("direction", "sent"), new Label("type", name));
        }

        w.Family("switchyard_dhcp_leases_bound", MetricType.Gauge,
            "DHCP leases bound and not expired (the daemon's own server's, or on a bridged network those seen from the LAN's).");
        foreach (var n in view.Networks) w.Sample(n.LeasesBound, new Label("network", n.Name));

        // The dynamic pool (guests behind a tunnel, docs/dhcp-pool.md): only networks that have a range.
        w.Family("switchyard_dhcp_pool_leases", MetricType.Gauge,
            "Leases of the network's dynamic DHCP range (guests with no endpoint, behind a tunnel) held now: offered or bound, not expired.");
        foreach (var n in view.Networks)
            if (n.Live.DhcpRange is not null) w.Sample(n.Live.RemoteLeaseCount, new Label("network", n.Name));
        w.Family("switchyard_dhcp_pool_exhausted_total", MetricType.Counter,
            "DHCPDISCOVERs from clients with no endpoint that found no free address in the dynamic range.");
        foreach (var n in view.Networks)
            if (n.Live.Dhcp.Pool is { Range: not null } pool) w.Sample(pool.Exhausted, new Label("network", n.Name));
        w.Family("switchyard_dhcp_pool_names_refused_total", MetricType.Counter,
            "Host names (DHCP option 12) of pool clients not registered in DNS because an endpoint or another guest has them.");
        foreach (var n in view.Networks)
            if (n.Live.Dhcp.Pool is { Range: not null } pool) w.Sample(pool.NamesRefused, new Label("network", n.Name));
    }
}
