namespace Switchyard.Daemon.Observability;

/// <summary><c>switchyard_build_info</c>: the constant 1 with the daemon's version and runtime as
/// labels (the Prometheus idiom for facts that are strings), the same values <c>GET /version</c> shows.</summary>
internal sealed class BuildInfoCollector : IMetricsCollector
{
    private readonly string _version = typeof(BuildInfoCollector).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    private readonly string _runtime = Environment.Version.ToString();

    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        w.Family("switchyard_build_info", MetricType.Gauge, "Always 1; the daemon's version and .NET runtime as labels.");
        w.Sample(1, new Label("version", _version), new Label("runtime", _runtime));
    }
}
