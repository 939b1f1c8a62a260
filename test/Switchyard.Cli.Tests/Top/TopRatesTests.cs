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
}
