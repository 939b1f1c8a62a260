using Switchyard.Daemon.State;

namespace Switchyard.Daemon.Observability;

/// <summary>Whether state.db takes writes (a full or read-only state directory: docs/architecture.md,
/// "State"), how many writes it refused, and how many of the data plane's writes wait for it.
/// The log says it once; this is what an alert watches.</summary>
internal sealed class StateCollector(StateWriteHealth health, Func<int> pendingWrites) : IMetricsCollector
{
    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        w.Family("switchyard_state_writable", MetricType.Gauge,
            "1 while the state directory takes writes; 0 while it refuses them (full, read-only, failing): API changes get 507/503 and leases wait in memory.");
        w.Sample(health.Fault is null ? 1 : 0);
        w.Family("switchyard_state_write_failures_total", MetricType.Counter, "Writes to state.db the disk refused since the daemon started.");
        w.Sample(health.FailedWrites);
        w.Family("switchyard_state_pending_writes", MetricType.Gauge, "Lease, MAC and decline writes waiting for the disk to take them.");
        w.Sample(pendingWrites());
    }
}
