using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Daemon.Control;

namespace Switchyard.Daemon.Tests.Control;

/// <summary>Memory goes back to the system once a burst of NAT flows has drained, and only then
/// (issue 16: RSS stayed 120-150 MB after a flood's flows were gone).</summary>
public sealed class MemoryReturnTests
{
    private readonly FakeTimeProvider _time = new();
    private int _flows;
    private long _traffic;
    private int _collections;

    private MemoryReturn Start() => new(() => _flows, () => _traffic, () => _collections++, _time, NullLogger.Instance);

    private void Tick(int flows, long moved = 0)
    {
        _flows = flows;
        _traffic += moved;
        _time.Advance(MemoryReturn.Interval);
    }

    [Fact]
    public void A_drained_burst_gives_memory_back_once()
    {
        using var trim = Start();
        Tick(100); Tick(4000); Tick(3000);
        Assert.Equal(0, _collections);           // still more than half the peak
        Tick(10);
        Assert.Equal(0, _collections);           // still falling: closing flows hold their memory
        Tick(10);
        Assert.Equal(1, _collections);
        Tick(10); Tick(5); Tick(5);
        Assert.Equal(1, _collections);           // the peak is now what is left: nothing more to give
        Assert.Equal(1, trim.Collections);
    }

    [Fact]
    public void A_steady_or_growing_daemon_pays_nothing()
    {
        using var trim = Start();
        for (int i = 0; i < 50; i++) Tick(1000 + (i % 2) * 50);
        for (int i = 0; i < 50; i++) Tick(1000 + i * 100);
        Assert.Equal(0, _collections);
    }

    [Fact]
    public void A_small_drain_is_not_worth_a_pause()
    {
        using var trim = Start();
        Tick(MemoryReturn.MinimumDrain - 1); Tick(0); Tick(0);
        Assert.Equal(0, _collections);
        Tick(MemoryReturn.MinimumDrain * 2); Tick(0); Tick(0);
        Assert.Equal(1, _collections);
    }

    [Fact]
    public void A_second_burst_is_given_back_too()
    {
        using var trim = Start();
        Tick(2000); Tick(0); Tick(0);
        Tick(3000); Tick(100); Tick(100);
        Assert.Equal(2, _collections);
    }

    [Fact]
    public void Disposed_it_looks_no_more()
    {
        var trim = Start();
        Tick(2000);
        trim.Dispose();
        Tick(0); Tick(0);
        Assert.Equal(0, _collections);
    }

    [Fact]
    public void A_burst_of_traffic_is_given_back_once_it_stops()
    {
        using var trim = Start();
        const long Mb = 1 << 20;
        for (int i = 0; i < 20; i++) Tick(4, 100 * Mb);   // a bulk transfer: 2 GB, never quiet
        Assert.Equal(0, _collections);
        Tick(4, 40 * Mb);                                  // it ends during this interval
        Assert.Equal(0, _collections);
        Tick(4, 10_000);                                   // quiet: DNS and keep-alives
        Assert.Equal(1, _collections);
        Tick(4, 10_000); Tick(4); Tick(4);
        Assert.Equal(1, _collections);                     // nothing moved since: nothing more to give
        Tick(4, MemoryReturn.BurstBytes - 2 * Mb); Tick(4);
        Assert.Equal(1, _collections);                     // less than a burst is not worth a pause
        Tick(4, 3 * Mb); Tick(4);
        Assert.Equal(2, _collections);
    }

    [Fact]
    public void A_steady_transfer_is_never_paused()
    {
        using var trim = Start();
        for (int i = 0; i < 200; i++) Tick(2, MemoryReturn.QuietBytes + 1);
        Assert.Equal(0, _collections);
    }

    [Fact]
    public void Traffic_counters_that_fall_when_an_endpoint_goes_still_count_as_moved()
    {
        using var trim = Start();
        Tick(1, 300L << 20);
        _traffic = 0;                                      // the endpoint that moved it detached
        Tick(1);                                           // the fall itself is movement, not quiet
        Assert.Equal(0, _collections);
        Tick(1);
        Assert.Equal(1, _collections);
    }
}
