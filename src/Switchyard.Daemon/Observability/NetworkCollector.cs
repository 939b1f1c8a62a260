using Switchyard.Network.Switching;

namespace Switchyard.Daemon.Observability;

/// <summary>Per network: how many there are, the gateway's own drops, DHCP leases bound, DNS upstream
/// failures and open NAT flows; all read from state the gateway services keep anyway.</summary>
internal sealed class NetworkCollector : IMetricsCollector
{
    private static readonly DropReason[] Reasons = Enum.GetValues<DropReason>();

    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        w.Family("switchyard_networks", MetricType.Gauge, "Networks the daemon runs.");
        w.Sample(view.Networks.Count);
        w.Family("switchyard_endpoints", MetricType.Gauge, "Endpoints attached to all networks (up or down).");
        w.Sample(view.EndpointCount);

        w.Family("switchyard_gateway_drops_total", MetricType.Counter,
            "Frames to the gateway (ARP, ICMP, DHCP, DNS, NAT) it dropped, by reason.");
        foreach (var n in view.Networks)
        {
            var c = n.Live.Gateway.Counters;
            foreach (var r in Reasons) w.Sample(c.Dropped(r), new Label("network", n.Name), new Label("reason", DropReasonNames.Of(r)));
        }

        w.Family("switchyard_dhcp_leases_bound", MetricType.Gauge,
            "DHCP leases bound and not expired (the daemon's own server's, or on a bridged network those seen from the LAN's).");
        foreach (var n in view.Networks) w.Sample(n.LeasesBound, new Label("network", n.Name));

        // Internal and bridged networks forward no DNS: they have no upstreams to fail.
        w.Family("switchyard_dns_upstream_failures_total", MetricType.Counter,
            "Forwarded DNS queries no upstream answered in time (the guest got SERVFAIL); networks that forward only.");
        foreach (var n in view.Networks)
            if (n.Live.Forwarder is { } f) w.Sample(f.Failed, new Label("network", n.Name));

        // nat and host networks have a NAT; internal and bridged ones none.
        w.Family("switchyard_nat_flows", MetricType.Gauge, "NAT flows open now, by protocol (tcp, udp, icmp); nat and host networks only.");
        foreach (var n in view.Networks)
        {
            if (n.Live.Nat is not { } nat) continue;
            w.Sample(nat.TcpFlowCount, new Label("network", n.Name), new Label("proto", "tcp"));
            w.Sample(nat.UdpFlowCount, new Label("network", n.Name), new Label("proto", "udp"));
            w.Sample(nat.IcmpFlowCount, new Label("network", n.Name), new Label("proto", "icmp"));
        }
    }
}
