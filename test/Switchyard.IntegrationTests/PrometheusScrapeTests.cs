using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>A real Prometheus server scrapes the daemon's <c>--http-listen</c>; its query API sees a
/// guest's traffic move the endpoint's counters.</summary>
public sealed class PrometheusScrapeTests
{
    [LinuxRootFact]
    public async Task Prometheus_scrapes_the_http_listener_and_sees_a_guest_s_pings()
    {
        await using var daemon = await TestDaemon.StartAsync(httpListen: true);
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "prom");
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
        guest.Dhcp();
        using var prometheus = await PrometheusServer.StartAsync(daemon.HttpListenAddress);

        string frames = $"switchyard_endpoint_frames_total{{network=\"{net.Name}\",endpoint=\"alpha\",transport=\"tap\",direction=\"in\"}}";
        double before = double.NaN;
        await Eventually.UntilAsync(async () =>
        {
            var up = await prometheus.QueryAsync("up{job=\"switchyard\"}");
            var series = await prometheus.QueryAsync(frames);
            if (up.Count == 1 && up[0].Value == 1 && series.Count == 1) { before = series[0].Value; return true; }
            await Task.Delay(250);
            return false;
        }, TimeSpan.FromSeconds(30), () => $"no scrape of {daemon.HttpListenAddress} with {frames} yet: {prometheus.Output}");

        Assert.True(guest.Ping(net.Gateway, count: 3), "alpha -> gateway");

        double after = before;
        await Eventually.UntilAsync(async () =>
        {
            var series = await prometheus.QueryAsync(frames);
            if (series.Count == 1) after = series[0].Value;
            if (after >= before + 3) return true;
            await Task.Delay(250);
            return false;
        }, TimeSpan.FromSeconds(30), () => $"{frames} stayed at {after} (before the pings: {before})");

        // The lease the guest took is in the same scrape.
        var leases = await prometheus.QueryAsync($"switchyard_dhcp_leases_bound{{network=\"{net.Name}\"}}");
        Assert.Equal(1, Assert.Single(leases).Value);

        // And Prometheus' checker accepts what it scraped, with a real guest's lease and traffic in it.
        using var http = new HttpClient { BaseAddress = new Uri($"http://{daemon.HttpListenAddress}/") };
        var check = Promtool.CheckMetrics(await http.GetStringAsync("metrics"));
        Assert.True(check.ExitCode == 0 && check.StdOut.Trim().Length == 0 && check.StdErr.Trim().Length == 0,
            $"promtool check metrics exited {check.ExitCode}:\n{check.StdOut}{check.StdErr}");
    }
}
