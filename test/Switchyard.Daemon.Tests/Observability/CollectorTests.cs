using System.Text;
using Switchyard.Daemon.Observability;
using Switchyard.Network.Telemetry;

namespace Switchyard.Daemon.Tests.Observability;

/// <summary>Collectors' conversions from the data plane's counters.</summary>
public sealed class CollectorTests
{
    [Fact]
    public void A_latency_histogram_is_exposed_with_its_bounds_cumulative_counts_and_sum()
    {
        var h = new LatencyHistogram([0.01, 0.1, 1]);
        h.Record(TimeSpan.FromMilliseconds(5));
        h.Record(TimeSpan.FromMilliseconds(50));
        h.Record(TimeSpan.FromMilliseconds(60));
        h.Record(TimeSpan.FromSeconds(3));

        var sb = new StringBuilder();
        var w = new PrometheusWriter(sb);
        w.Family("d_seconds", MetricType.Histogram, "D.");
        w.Histogram(DnsCollector.Value(h), new Label("network", "lan"));
        Assert.Equal("""
            # HELP d_seconds D.
            # TYPE d_seconds histogram
            d_seconds_bucket{network="lan",le="0.01"} 1
            d_seconds_bucket{network="lan",le="0.1"} 3
            d_seconds_bucket{network="lan",le="1"} 3
            d_seconds_bucket{network="lan",le="+Inf"} 4
            d_seconds_sum{network="lan"} 3.115
            d_seconds_count{network="lan"} 4

            """.ReplaceLineEndings("\n"), sb.ToString());
    }

    [Fact]
    public void State_health_is_a_gauge_a_counter_and_the_writes_that_wait()
    {
        var health = new Switchyard.Daemon.State.StateWriteHealth();
        int pending = 0;
        var collector = new StateCollector(health, () => pending);
        string Scrape()
        {
            var sb = new StringBuilder();
            collector.Collect(new PrometheusWriter(sb), null!);
            return sb.ToString();
        }
        Assert.Contains("switchyard_state_writable 1\n", Scrape());
        health.Failed(Switchyard.Daemon.State.StateUnwritableException.From(Switchyard.Daemon.State.StateFault.Full, "/s/state.db",
            new Microsoft.Data.Sqlite.SqliteException("database or disk is full", 13)));
        pending = 3;
        var text = Scrape();
        Assert.Contains("switchyard_state_writable 0\n", text);
        Assert.Contains("switchyard_state_write_failures_total 1\n", text);
        Assert.Contains("switchyard_state_pending_writes 3\n", text);
        health.Succeeded();
        Assert.Contains("switchyard_state_writable 1\n", Scrape());
    }

    [Fact]
    public void Api_requests_count_unknown_methods_as_other()
    {
        var requests = new ApiRequestMetrics();
        requests.Count("/health", "get", 200);
        requests.Count("/health", "GET", 200);
        requests.Count("/health", "BREW", 405);
        requests.Count("/health", "PROPFIND", 405);
        var sb = new StringBuilder();
        requests.Collect(new PrometheusWriter(sb), null!);
        var text = sb.ToString();
        Assert.Contains("switchyard_api_requests_total{route=\"/health\",method=\"GET\",status=\"200\"} 2\n", text);
        Assert.Contains("switchyard_api_requests_total{route=\"/health\",method=\"other\",status=\"405\"} 2\n", text);
        Assert.DoesNotContain("BREW", text);
    }
}
