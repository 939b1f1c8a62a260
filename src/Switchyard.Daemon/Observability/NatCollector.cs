namespace Switchyard.Daemon.Observability;

/// <summary>The NAT of each nat and host network (internal and bridged ones have none).</summary>
internal sealed class NatCollector : IMetricsCollector
{
    public void Collect(PrometheusWriter w, ScrapeView view)
    {
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
