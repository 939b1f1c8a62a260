using Switchyard.Network.Telemetry;

namespace Switchyard.Network.Tests.Telemetry;

public sealed class LatencyHistogramTests
{
    [Fact]
    public void Durations_land_in_the_first_bucket_whose_bound_they_do_not_exceed_and_counts_are_cumulative()
    {
        var h = new LatencyHistogram([0.01, 0.1, 1]);
        h.Record(TimeSpan.FromMilliseconds(5));     // le 0.01
        h.Record(TimeSpan.FromMilliseconds(10));    // exactly on the bound: le 0.01
        h.Record(TimeSpan.FromMilliseconds(50));    // le 0.1
        h.Record(TimeSpan.FromSeconds(3));          // +Inf only

        Assert.Equal([0.01, 0.1, 1], h.UpperBoundsSeconds);
        Assert.Equal(2, h.CumulativeCount(0));
        Assert.Equal(3, h.CumulativeCount(1));
        Assert.Equal(3, h.CumulativeCount(2));
        Assert.Equal(4, h.CumulativeCount(3));      // +Inf
        Assert.Equal(4, h.Count);
        Assert.Equal(3.065, h.SumSeconds, 9);
        Assert.Throws<ArgumentOutOfRangeException>(() => h.CumulativeCount(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.CumulativeCount(-1));
    }

    [Fact]
    public void A_negative_duration_counts_as_zero()
    {
        var h = new LatencyHistogram([0.5]);
        h.Record(TimeSpan.FromSeconds(-1));
        Assert.Equal(1, h.CumulativeCount(0));
        Assert.Equal(0, h.SumSeconds);
    }

    [Theory]
    [InlineData(new double[0])]
    [InlineData(new[] { 0.1, 0.1 })]
    [InlineData(new[] { 0.5, 0.1 })]
    [InlineData(new[] { 0.0, 1 })]
    [InlineData(new[] { 1, double.PositiveInfinity })]
    public void Bounds_must_be_positive_and_increasing(double[] bounds) =>
        Assert.Throws<ArgumentException>(() => new LatencyHistogram(bounds));

    [Fact]
    public void Dns_buckets_span_a_millisecond_to_five_seconds()
    {
        var h = LatencyHistogram.ForDnsForwarding();
        Assert.Equal(0.001, h.UpperBoundsSeconds[0]);
        Assert.Equal(5, h.UpperBoundsSeconds[^1]);
    }

    [Fact]
    public async Task Concurrent_records_lose_nothing()
    {
        var h = LatencyHistogram.ForDnsForwarding();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 10_000; i++) h.Record(TimeSpan.FromMilliseconds(i % 7));
        })));
        Assert.Equal(40_000, h.Count);
        Assert.Equal(40_000, h.CumulativeCount(h.UpperBoundsSeconds.Count));
        double expected = 4 * Enumerable.Range(0, 10_000).Sum(i => (i % 7) / 1000.0);
        Assert.Equal(expected, h.SumSeconds, 6);
    }
}
