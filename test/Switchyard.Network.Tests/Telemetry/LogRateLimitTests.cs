using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Telemetry;

namespace Switchyard.Network.Tests.Telemetry;

/// <summary>The burst of a window passes, the rest is counted and summarized once when the window
/// ends (on the fake clock's timer), and a new window starts with a new burst.</summary>
public sealed class LogRateLimitTests
{
    private readonly FakeTimeProvider _clock = new();
    private readonly List<(long Count, TimeSpan Window)> _summaries = [];

    private LogRateLimit Limit(int burst = 3) => new(_clock, (n, w) => _summaries.Add((n, w)), burst, TimeSpan.FromSeconds(60));

    private static int Pass(LogRateLimit limit, int tries) => Enumerable.Range(0, tries).Count(_ => limit.ShouldLog());

    [Fact]
    public void The_burst_passes_the_rest_is_summarized_when_the_window_ends()
    {
        using var limit = Limit();
        Assert.Equal(3, Pass(limit, 1000));
        Assert.Empty(_summaries);
        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Empty(_summaries);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([(997L, TimeSpan.FromSeconds(60))], _summaries);
        Assert.Equal(997, limit.TotalSuppressed);

        // The next window: a new burst, and no summary when nothing was suppressed.
        Assert.Equal(3, Pass(limit, 3));
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Single(_summaries);
    }

    [Fact]
    public void A_line_after_the_window_reports_what_was_pending_if_the_timer_has_not_run()
    {
        // A clock that moves without firing timers: the next line flushes instead.
        var clock = new SkewedClock(new FakeTimeProvider());
        var summaries = new List<long>();
        using var limit = new LogRateLimit(clock, (n, _) => summaries.Add(n), burst: 1, window: TimeSpan.FromSeconds(10));
        Assert.True(limit.ShouldLog());
        Assert.False(limit.ShouldLog());
        Assert.False(limit.ShouldLog());
        clock.Skew = TimeSpan.FromSeconds(11);
        Assert.True(limit.ShouldLog());
        Assert.Equal([2L], summaries);
    }

    [Fact]
    public void Dispose_reports_what_is_pending_and_nothing_passes_afterwards()
    {
        var limit = Limit(burst: 1);
        Assert.Equal(1, Pass(limit, 5));
        limit.Dispose();
        Assert.Equal([(4L, TimeSpan.FromSeconds(60))], _summaries);
        Assert.False(limit.ShouldLog());
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Single(_summaries);
    }

    /// <summary>Timestamps that run ahead of the wrapped clock, whose timers do not see the skew.</summary>
    private sealed class SkewedClock(TimeProvider inner) : TimeProvider
    {
        public TimeSpan Skew { get; set; }
        public override long TimestampFrequency => inner.TimestampFrequency;
        public override long GetTimestamp() => inner.GetTimestamp() + (long)(Skew.TotalSeconds * inner.TimestampFrequency);
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            inner.CreateTimer(callback, state, dueTime, period);
    }
}
