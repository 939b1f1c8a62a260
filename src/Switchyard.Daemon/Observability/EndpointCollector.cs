using Switchyard.Network.Switching;
using Switchyard.Network.Transports;

namespace Switchyard.Daemon.Observability;

/// <summary>Per endpoint, from the port counters the switch keeps anyway (interlocked adds on fields
/// allocated with the port): frames and bytes each way, drops by reason, and whether its link is up.
/// An endpoint that is down (its transport did not come back) has no counters, only <c>up 0</c>.</summary>
internal sealed class EndpointCollector : IMetricsCollector
{
    private static readonly DropReason[] Reasons = Enum.GetValues<DropReason>();

    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        w.Family("switchyard_endpoint_frames_total", MetricType.Counter,
            "Frames through an endpoint's port: in = from the guest into the switch, out = from the switch to the guest.");
        foreach (var (n, e, c) in Live(view))
        {
            w.Sample(c.FramesIn, Labels(n, e, "in"));
            w.Sample(c.FramesOut, Labels(n, e, "out"));
        }
        w.Family("switchyard_endpoint_bytes_total", MetricType.Counter,
            "Bytes of Ethernet frames through an endpoint's port: in = from the guest, out = to the guest.");
        foreach (var (n, e, c) in Live(view))
        {
            w.Sample(c.BytesIn, Labels(n, e, "in"));
            w.Sample(c.BytesOut, Labels(n, e, "out"));
        }
        w.Family("switchyard_endpoint_drops_total", MetricType.Counter,
            "Frames from or to an endpoint the switch dropped, by reason (malformed, spoofed-mac, spoofed-ip, oversize, transmit-failed, policy).");
        foreach (var (n, e, c) in Live(view))
            foreach (var r in Reasons)
                w.Sample(c.Dropped(r), new Label("network", n), new Label("endpoint", e.Name), new Label("transport", e.Transport),
                    new Label("reason", DropReasonNames.Of(r)));
        w.Family("switchyard_endpoint_up", MetricType.Gauge,
            "1 when the endpoint's transport is up (a TAP attached, a socket transport connected to its VM), else 0.");
        foreach (var n in view.Networks)
            foreach (var e in n.Endpoints)
                w.Sample(IsUp(e) ? 1 : 0, new Label("network", n.Name), new Label("endpoint", e.Name), new Label("transport", e.Transport));
    }

    /// <summary>A socket transport's link comes and goes with its VM; a TAP is up while attached.</summary>
    internal static bool IsUp(ScrapedEndpoint e) => e.Port switch
    {
        null => false,
        { Transport: IReportingTransport r } => r.Status.State == "connected",
        _ => true,
    };

    private static IEnumerable<(string Network, ScrapedEndpoint Endpoint, PortCounters Counters)> Live(ScrapeView view)
    {
        foreach (var n in view.Networks)
            foreach (var e in n.Endpoints)
                if (e.Port is { } port) yield return (n.Name, e, port.Counters);
    }

    private static Label[] Labels(string network, ScrapedEndpoint e, string direction) =>
        [new("network", network), new("endpoint", e.Name), new("transport", e.Transport), new("direction", direction)];
}
