namespace Switchyard.Daemon.Observability;

/// <summary>Egress decisions of each network by verdict and reason (netstats' <c>EgressDecisionCounters</c>:
/// decisions are per new flow, query or inspected name, and the reasons a small fixed set, so the
/// series stay few). Only (verdict, reason) pairs that happened appear.</summary>
internal sealed class EgressCollector : IMetricsCollector
{
    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        w.Family("switchyard_egress_decisions_total", MetricType.Counter,
            "Egress decisions (DNS queries, new flows, name checks) by verdict (allow, deny) and reason, as in the egress log.");
        foreach (var n in view.Networks)
            foreach (var (allowed, reason, count) in n.Live.Egress.Decisions.Snapshot())
                w.Sample(count, new Label("network", n.Name), new Label("verdict", allowed ? "allow" : "deny"), new Label("reason", reason));
    }
}
