namespace Switchyard.Daemon.Observability;

/// <summary>The DNS server and forwarder of each network.</summary>
internal sealed class DnsCollector : IMetricsCollector
{
    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        // Internal and bridged networks forward no DNS: they have no upstreams to fail.
        w.Family("switchyard_dns_upstream_failures_total", MetricType.Counter,
            "Forwarded DNS queries no upstream answered in time (the guest got SERVFAIL); networks that forward only.");
        foreach (var n in view.Networks)
            if (n.Live.Forwarder is { } f) w.Sample(f.Failed, new Label("network", n.Name));
    }
}
