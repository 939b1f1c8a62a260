using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>A real Prometheus server scrapes the daemon's <c>--http-listen</c>; its query API sees a
/// guest's traffic move the endpoint's counters, and its DHCP, DNS and egress decisions counted.</summary>
public sealed class PrometheusScrapeTests
{
    [LinuxRootFact]
    public async Task Prometheus_scrapes_the_http_listener_and_sees_a_guest_s_traffic()
    {
        await using var daemon = await TestDaemon.StartAsync(httpListen: true);
        // Egress denied by default: the guest's query for an outside name is a refused egress decision.
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "prom",
            customize: r => r with { Egress = new EgressPolicySpec { Default = "deny", Allow = [] } });
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
        Assert.Contains("status: NXDOMAIN", guest.Dig($"@{net.Gateway}", "blocked.example", "A"));

        double after = before;
        await Eventually.UntilAsync(async () =>
        {
            var series = await prometheus.QueryAsync(frames);
            if (series.Count == 1) after = series[0].Value;
            if (after >= before + 3) return true;
            await Task.Delay(250);
            return false;
        }, TimeSpan.FromSeconds(30), () => $"{frames} stayed at {after} (before the pings: {before})");

        // The same scrapes carry the guest's lease, its DHCP exchange, its DNS answer and the refusal.
        string n = $"network=\"{net.Name}\"";
        await AtLeastAsync(prometheus, $"switchyard_dhcp_leases_bound{{{n}}}", 1);
        await AtLeastAsync(prometheus, $"switchyard_dhcp_messages_total{{{n},direction=\"sent\",type=\"ack\"}}", 1);
        await AtLeastAsync(prometheus, $"switchyard_dns_answers_total{{{n},source=\"local\",rcode=\"NXDOMAIN\"}}", 1);
        await AtLeastAsync(prometheus, $"switchyard_egress_decisions_total{{{n},verdict=\"deny\",reason=\"name-not-allowed\"}}", 1);

        // And Prometheus' checker accepts what it scraped, with a real guest's lease and traffic in it.
        using var http = new HttpClient { BaseAddress = new Uri($"http://{daemon.HttpListenAddress}/") };
        var check = Promtool.CheckMetrics(await http.GetStringAsync("metrics"));
        Assert.True(check.ExitCode == 0 && check.StdOut.Trim().Length == 0 && check.StdErr.Trim().Length == 0,
            $"promtool check metrics exited {check.ExitCode}:\n{check.StdOut}{check.StdErr}");
    }

    /// <summary>Waits (bounded) until the one series of <paramref name="query"/> is at least <paramref name="minimum"/>.</summary>
    private static async Task AtLeastAsync(PrometheusServer prometheus, string query, double minimum)
    {
        double seen = double.NaN;
        await Eventually.UntilAsync(async () =>
        {
            var series = await prometheus.QueryAsync(query);
            if (series.Count == 1) seen = series[0].Value;
            if (seen >= minimum) return true;
            await Task.Delay(250);
            return false;
        }, TimeSpan.FromSeconds(30), () => $"{query} is {seen}, expected at least {minimum}");
    }
}
