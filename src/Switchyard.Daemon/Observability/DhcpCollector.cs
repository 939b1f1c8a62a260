namespace Switchyard.Daemon.Observability;

/// <summary>The DHCP server of each network: leases bound (from the lease state the daemon keeps).</summary>
internal sealed class DhcpCollector : IMetricsCollector
{
    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        w.Family("switchyard_dhcp_leases_bound", MetricType.Gauge,
            "DHCP leases bound and not expired (the daemon's own server's, or on a bridged network those seen from the LAN's).");
        foreach (var n in view.Networks) w.Sample(n.LeasesBound, new Label("network", n.Name));
    }
}
