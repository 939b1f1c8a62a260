using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network;

namespace Switchyard.Daemon.Observability;

/// <summary>An endpoint as one scrape sees it: names for its labels and its live port (null while down).</summary>
internal readonly record struct ScrapedEndpoint(string Name, string Transport, EndpointPort? Port);

/// <summary>A network as one scrape sees it. <see cref="LeasesBound"/> is from the lease state the
/// daemon keeps (state.db), the same rows <c>GET /networks/{n}/leases</c> shows.</summary>
internal sealed record ScrapedNetwork(string Name, VirtualNetwork Live, IReadOnlyList<ScrapedEndpoint> Endpoints, int LeasesBound);

/// <summary>
/// What one scrape reads, taken once at its start so every collector sees the same networks and
/// endpoints (a family written from one list and the next from another would disagree). The maps are
/// copied under the registry's lock (the copy only, as <see cref="NetworkRegistry"/> requires); the
/// counters themselves are read later, lock-free, by the collectors. The work is one pass over
/// networks x endpoints and one lease query per network.
/// </summary>
internal sealed class ScrapeView
{
    private ScrapeView(IReadOnlyList<ScrapedNetwork> networks) => Networks = networks;

    public IReadOnlyList<ScrapedNetwork> Networks { get; }

    public int EndpointCount => Networks.Sum(n => n.Endpoints.Count);

    public static ScrapeView Take(NetworkRegistry registry, IStateStore store, DateTimeOffset now)
    {
        var networks = new List<ScrapedNetwork>();
        foreach (var n in registry.Snapshot().OrderBy(n => n.Row.Name, StringComparer.Ordinal))
        {
            // The store first, outside the registry's lock: no I/O under it.
            int bound = store.Leases(n.Row.Name).Count(l => l.State == LeaseStatus.Bound && (l.Expires is null || l.Expires > now));
            var endpoints = registry.Read(() => n.Endpoints.Values
                .Select(e => new ScrapedEndpoint(e.Row.Name, TransportPlanner.ToSpec(e.Transport).Kind, e.Port))
                .OrderBy(e => e.Name, StringComparer.Ordinal)
                .ToList());
            networks.Add(new ScrapedNetwork(n.Row.Name, n.Live, endpoints, bound));
        }
        return new ScrapeView(networks);
    }
}

/// <summary>Writes some metric families at scrape time from live state: never called per frame.</summary>
internal interface IMetricsCollector
{
    void Collect(PrometheusWriter writer, ScrapeView view);
}
