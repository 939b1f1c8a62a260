using Switchyard.Network;
using Switchyard.Network.Dns;
using Switchyard.Network.Telemetry;
using Switchyard.Packets.Dns;

namespace Switchyard.Daemon.Observability;

/// <summary>The DNS server and forwarder of each network: answers by source and rcode, the
/// forwarder's latency histogram and its upstream failures (netstats' counters).</summary>
internal sealed class DnsCollector : IMetricsCollector
{
    private static readonly (DnsAnswerSource Source, string Name)[] Sources =
        [(DnsAnswerSource.Local, "local"), (DnsAnswerSource.Forwarded, "forwarded"), (DnsAnswerSource.Cache, "cache")];

    /// <summary>RCODE mnemonics (RFC 1035 §4.1.1, RFC 2136 §2.2, IANA's DNS RCODEs registry) as
    /// resolvers and CoreDNS print them; the header's 4 bits allow 16.</summary>
    private static readonly string[] Codes =
        ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
         "RCODE12", "RCODE13", "RCODE14", "RCODE15"];

    /// <summary>The codes the gateway itself answers with are always shown (a rate of 0 is an answer);
    /// the rest only once an upstream has passed one through, so they do not add empty series.</summary>
    private const int AlwaysShown = 6;

    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        w.Family("switchyard_dns_answers_total", MetricType.Counter,
            "DNS replies the gateway sent guests, by where the answer came from (local, forwarded, cache) and the reply's rcode.");
        foreach (var n in Serving(view))
        {
            var c = n.Live.Dns.Counters;
            foreach (var (source, name) in Sources)
                for (int code = 0; code < Codes.Length; code++)
                {
                    long count = c.Answers(source, (DnsResponseCode)code);
                    if (code < AlwaysShown || count > 0)
                        w.Sample(count, new Label("network", n.Name), new Label("source", name), new Label("rcode", Codes[code]));
                }
        }

        w.Family("switchyard_dns_forward_duration_seconds", MetricType.Histogram,
            "Time from forwarding a guest's query to an upstream's answer; networks that forward only.");
        foreach (var n in view.Networks)
            if (n.Live.Forwarder is { } f) w.Histogram(Value(f.Latency), new Label("network", n.Name));

        // Internal and bridged networks forward no DNS: they have no upstreams to fail.
        w.Family("switchyard_dns_upstream_failures_total", MetricType.Counter,
            "Forwarded DNS queries no upstream answered in time (the guest got SERVFAIL); networks that forward only.");
        foreach (var n in view.Networks)
            if (n.Live.Forwarder is { } f) w.Sample(f.Failed, new Label("network", n.Name));
    }

    /// <summary>A bridged network's gateway is not on its switch: no guest ever asks its DNS.</summary>
    private static IEnumerable<ScrapedNetwork> Serving(ScrapeView view) => view.Networks.Where(n => n.Live.Config.Mode != NetworkMode.Bridged);

    internal static HistogramValue Value(LatencyHistogram h)
    {
        var bounds = h.UpperBoundsSeconds;
        var cumulative = new long[bounds.Count];
        for (int i = 0; i < cumulative.Length; i++) cumulative[i] = h.CumulativeCount(i);
        return new HistogramValue(bounds, cumulative, h.Count, h.SumSeconds);
    }
}
