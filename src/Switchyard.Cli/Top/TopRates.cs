using Switchyard.Client;

namespace Switchyard.Cli.Top;

/// <summary>Turns two samples into a <see cref="TopReport"/>: per-second rates from the difference
/// of their counters. Pure, so the numbers can be checked without a daemon or a terminal.</summary>
internal static class TopRates
{
    /// <summary>How many of a network's flows a report keeps: the busiest.</summary>
    public const int FlowsKept = 20;

    /// <param name="previous">The earlier sample; null: none yet (every rate is 0).</param>
    public static TopReport Build(TopSample? previous, TopSample current)
    {
        double seconds = previous is null ? 0 : Math.Max(0, (current.Clock - previous.Clock).TotalSeconds);
        var networks = new List<TopNetwork>(current.Networks.Count);
        foreach (var n in current.Networks)
        {
            var before = previous?.Networks.FirstOrDefault(p => p.Network.Name == n.Network.Name);
            var endpoints = n.Endpoints.Select(e => Endpoint(e, before?.Endpoints.FirstOrDefault(p => p.Name == e.Name), seconds))
                .OrderByDescending(e => e.BytesPerSecond).ThenByDescending(e => e.FramesPerSecond)
                .ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
            long dns = n.Network.Services?.DnsQueries ?? 0;
            networks.Add(new TopNetwork
            {
                Name = n.Network.Name,
                Mode = n.Network.Mode,
                Subnet = n.Network.Subnet,
                Gateway = n.Network.Gateway,
                EgressPolicy = n.Network.Egress?.Default,
                Nat = n.Network.Nat,
                DnsQueries = dns,
                DnsQueriesPerSecond = Rate(dns, before?.Network.Services?.DnsQueries, seconds),
                Endpoints = endpoints,
                FlowCount = n.Flows.Count,
                Flows = Flows(n.Flows, before?.Flows, seconds),
                Egress = n.Egress,
            });
        }
        return new TopReport { Time = current.Time, IntervalSeconds = Math.Round(seconds, 3), Networks = networks };
    }

    private static TopEndpoint Endpoint(EndpointInfo e, EndpointInfo? before, double seconds)
    {
        var c = e.Counters;
        // A counter of another attachment (detached and attached again under the same name) is no baseline.
        var b = before is not null && before.Created == e.Created ? before.Counters : null;
        long drops = c?.Dropped ?? 0;
        return new TopEndpoint
        {
            Name = e.Name,
            Transport = e.Transport.Kind,
            State = e.State,
            Ipv4 = e.Ipv4,
            Mac = e.Mac,
            BytesInPerSecond = Rate(c?.BytesIn ?? 0, b?.BytesIn, seconds),
            BytesOutPerSecond = Rate(c?.BytesOut ?? 0, b?.BytesOut, seconds),
            FramesInPerSecond = Rate(c?.FramesIn ?? 0, b?.FramesIn, seconds),
            FramesOutPerSecond = Rate(c?.FramesOut ?? 0, b?.FramesOut, seconds),
            Drops = drops,
            DropsPerSecond = Rate(drops, b?.Dropped, seconds),
            BytesIn = c?.BytesIn ?? 0,
            BytesOut = c?.BytesOut ?? 0,
            FramesIn = c?.FramesIn ?? 0,
            FramesOut = c?.FramesOut ?? 0,
            EgressAllowed = e.EgressDecisions?.Allowed ?? 0,
            EgressDenied = e.EgressDecisions?.Denied ?? 0,
        };
    }

    /// <param name="before">The previous sample's flows of the network; null when there was no previous sample of it.</param>
    private static List<TopFlow> Flows(IReadOnlyList<FlowInfo> flows, IReadOnlyList<FlowInfo>? before, double seconds)
    {
        bool previous = before is not null;
        // A flow is its protocol and both ends; one closed and opened again between the samples
        // (same ends) is younger than before: a new flow, not the old one's continuation.
        var earlier = new Dictionary<(string, string, string, bool), FlowInfo>();
        foreach (var f in before ?? []) earlier.TryAdd((f.Protocol, f.Guest, f.Destination, f.Published), f);
        return flows.Select(f =>
        {
            var b = earlier.GetValueOrDefault((f.Protocol, f.Guest, f.Destination, f.Published));
            if (b is not null && f.AgeSeconds < b.AgeSeconds) b = null;
            // Opened since the last sample: all it carried is new, within the interval. Older but
            // not seen before (more flows than a sample asks for): no baseline.
            long? fromBefore = b?.BytesFromGuest, toBefore = b?.BytesToGuest;
            if (b is null && previous && f.AgeSeconds <= seconds) fromBefore = toBefore = 0;
            return new TopFlow
            {
                Protocol = f.Protocol,
                Endpoint = f.Endpoint,
                Guest = f.Guest,
                Destination = f.Destination,
                State = f.State,
                Published = f.Published,
                AgeSeconds = f.AgeSeconds,
                IdleSeconds = f.IdleSeconds,
                // New since the last sample: everything it carried is new, over at most its age.
                BytesInPerSecond = Rate(f.BytesFromGuest, fromBefore, seconds),
                BytesOutPerSecond = Rate(f.BytesToGuest, toBefore, seconds),
                BytesFromGuest = f.BytesFromGuest,
                BytesToGuest = f.BytesToGuest,
            };
        }).OrderByDescending(f => f.BytesPerSecond).ThenByDescending(f => f.BytesFromGuest + f.BytesToGuest).ThenBy(f => f.AgeSeconds)
            .Take(FlowsKept).ToList();
    }

    /// <summary>Per second, to 0.1. No baseline (a new endpoint, the first sample): 0. A counter
    /// that went down started again from 0 (a daemon restart), so all of it is new, as in
    /// Prometheus' rate().</summary>
    internal static double Rate(long now, long? before, double seconds)
    {
        if (before is not { } b || seconds <= 0) return 0;
        long delta = now >= b ? now - b : now;
        return Math.Round(delta / seconds, 1);
    }
}
