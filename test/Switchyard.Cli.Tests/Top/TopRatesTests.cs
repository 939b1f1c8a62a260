using Switchyard.Cli.Top;
using static Switchyard.Cli.Tests.Top.TopSamples;

namespace Switchyard.Cli.Tests.Top;

/// <summary>Rates from two samples of the counters.</summary>
public sealed class TopRatesTests
{
    [Fact]
    public void Rates_are_the_counters_difference_per_second()
    {
        var before = Sample(10, Net(NetInfo(dnsQueries: 100), Endpoint("vm1", bytesIn: 1_000, bytesOut: 2_000, framesIn: 10, framesOut: 20, dropped: 1)));
        var after = Sample(12, Net(NetInfo(dnsQueries: 110), Endpoint("vm1", bytesIn: 5_000, bytesOut: 2_500, framesIn: 50, framesOut: 25, dropped: 5)));
        var report = TopRates.Build(before, after);

        Assert.Equal(2, report.IntervalSeconds);
        var n = Assert.Single(report.Networks);
        Assert.Equal(5, n.DnsQueriesPerSecond);
        Assert.Equal(110, n.DnsQueries);
        var e = Assert.Single(n.Endpoints);
        Assert.Equal(2_000, e.BytesInPerSecond);
        Assert.Equal(250, e.BytesOutPerSecond);
        Assert.Equal(20, e.FramesInPerSecond);
        Assert.Equal(2.5, e.FramesOutPerSecond);
        Assert.Equal(5, e.Drops);
        Assert.Equal(2, e.DropsPerSecond);
        Assert.Equal(5_000, e.BytesIn);
    }

    [Fact]
    public void Without_a_baseline_rates_are_zero()
    {
        var only = Sample(5, Net(NetInfo(), Endpoint("vm1", 1_000, 1_000, 10, 10)));
        var report = TopRates.Build(null, only);
        Assert.Equal(0, report.IntervalSeconds);
        Assert.All(report.Networks[0].Endpoints, e => Assert.Equal(0, e.BytesInPerSecond + e.BytesOutPerSecond + e.FramesPerSecond));

        // A new endpoint, and one attached again under the same name (its counters started over): no baseline either.
        var before = Sample(0, Net(NetInfo(), Endpoint("again", 9_000, 9_000)));
        var after = Sample(1, Net(NetInfo(), Endpoint("again", 100, 100, created: Created.AddSeconds(1)), Endpoint("new", 500, 500)));
        Assert.All(TopRates.Build(before, after).Networks[0].Endpoints, e => Assert.Equal(0, e.BytesPerSecond));
    }

    [Fact]
    public void A_counter_that_went_down_counts_from_zero()
    {
        // The daemon restarted between the samples: the same attachment, counters from 0.
        Assert.Equal(300, TopRates.Rate(now: 600, before: 10_000, seconds: 2));
        Assert.Equal(0, TopRates.Rate(now: 600, before: 600, seconds: 2));
        Assert.Equal(0, TopRates.Rate(now: 600, before: 0, seconds: 0));
        Assert.Equal(0.3, TopRates.Rate(now: 1, before: 0, seconds: 3));
    }

    [Fact]
    public void Endpoints_are_sorted_busiest_first()
    {
        var before = Sample(0, Net(NetInfo(), Endpoint("quiet", 0, 0), Endpoint("busy", 0, 0), Endpoint("chatty", 0, 0), Endpoint("alpha", 0, 0)));
        var after = Sample(1, Net(NetInfo(),
            Endpoint("quiet", 0, 0),
            Endpoint("busy", 1_000_000, 10, framesIn: 1),
            Endpoint("chatty", 50, 50, framesIn: 100, framesOut: 100),
            Endpoint("alpha", 0, 0)));
        var names = TopRates.Build(before, after).Networks[0].Endpoints.Select(e => e.Name);
        // By bytes per second; ties by frames per second, then by name.
        Assert.Equal(["busy", "chatty", "alpha", "quiet"], names);
    }

    [Fact]
    public void Flow_rates_follow_each_flow_by_its_ends()
    {
        var before = Sample(10, WithFlows(NetInfo(),
            Flow(1, "192.0.2.1:443", age: 30, fromGuest: 1_000, toGuest: 10_000),
            Flow(2, "192.0.2.2:443", age: 30, fromGuest: 5_000, toGuest: 5_000),
            Flow(3, "192.0.2.3:443", age: 30, fromGuest: 9_000, toGuest: 9_000)));
        var after = Sample(12, WithFlows(NetInfo(),
            Flow(1, "192.0.2.1:443", age: 32, fromGuest: 3_000, toGuest: 50_000),     // continued
            Flow(2, "192.0.2.2:443", age: 1, fromGuest: 600, toGuest: 400),            // closed and opened again: new
            Flow(3, "192.0.2.3:443", age: 32, fromGuest: 9_000, toGuest: 9_000),       // idle
            Flow(4, "192.0.2.4:443", age: 1.5, fromGuest: 2_000, toGuest: 0),          // opened since
            Flow(5, "192.0.2.5:443", age: 300, fromGuest: 1 << 20, toGuest: 0)));      // old, not in the first sample (over its limit): no baseline
        var n = TopRates.Build(before, after).Networks[0];
        Assert.Equal(5, n.FlowCount);
        var byPort = n.Flows.ToDictionary(f => f.Guest.Split(':')[1]);
        Assert.Equal((1_000, 20_000), (byPort["1"].BytesInPerSecond, byPort["1"].BytesOutPerSecond));
        Assert.Equal((300, 200), (byPort["2"].BytesInPerSecond, byPort["2"].BytesOutPerSecond));
        Assert.Equal(0, byPort["3"].BytesPerSecond);
        Assert.Equal(1_000, byPort["4"].BytesInPerSecond);
        Assert.Equal(0, byPort["5"].BytesPerSecond);
        // Busiest first; equal rates (0) by total bytes: the old unknown one, then the idle one.
        Assert.Equal(["1", "4", "2", "5", "3"], n.Flows.Select(f => f.Guest.Split(':')[1]));
    }

    [Fact]
    public void Only_the_busiest_flows_are_kept()
    {
        var flows = Enumerable.Range(1, 100).Select(i => Flow(i, $"192.0.2.{i}:80", age: 1, fromGuest: i, toGuest: 0)).ToArray();
        var n = TopRates.Build(Sample(0, WithFlows(NetInfo())), Sample(1, WithFlows(NetInfo(), flows))).Networks[0];
        Assert.Equal(100, n.FlowCount);
        Assert.Equal(TopRates.FlowsKept, n.Flows.Count);
        Assert.Equal(100, n.Flows[0].BytesInPerSecond);
    }
}
