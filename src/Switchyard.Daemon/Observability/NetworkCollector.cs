using Switchyard.Network.Switching;

namespace Switchyard.Daemon.Observability;

/// <summary>How many networks and endpoints there are, and each gateway's own drops (frames to
/// the gateway's services it could not take), read from the gateway port's counters.</summary>
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
    }
}
