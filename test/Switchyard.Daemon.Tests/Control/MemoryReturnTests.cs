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
    private int _collections;

    private MemoryReturn Start() => new(() => _flows, () => _collections++, _time, NullLogger.Instance);

    private void Tick(int flows)
    {
        _flows = flows;
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
}
