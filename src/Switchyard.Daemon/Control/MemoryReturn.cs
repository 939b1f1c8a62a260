using Microsoft.Extensions.Logging;
using Switchyard.Network;

namespace Switchyard.Daemon.Control;

/// <summary>
/// Gives memory back to the system once a burst of NAT flows has drained (issue 16: a flood took
/// the daemon from 60 to 167 MB and it stayed at 120-150 MB after the flows closed). The GC keeps
/// the segments a burst grew into, and the shared array pool keeps the buffers the flows rented,
/// until memory is tight; neither happens on a host with room to spare. So every
/// <see cref="Interval"/> this looks at how many NAT flows the daemon holds (one descriptor each,
/// <see cref="FdBudget.Used"/>): when the count has fallen to half its peak or less, by at least
/// <see cref="MinimumDrain"/> flows, and stopped falling (closing flows still hold theirs), it runs one aggressive, compacting collection, which also
/// trims the pools and decommits the free segments. Nothing runs while the count is steady or
/// growing, so a busy daemon pays nothing; a drained one pays one pause of a few milliseconds.
/// The same goes for a burst of traffic (issue 15: after the bench's bulk transfers the daemon held
/// 70 MB with a handful of flows, each transfer's 512 KiB-1 MiB queues kept by the array pool): once
/// at least <see cref="BurstBytes"/> have moved through the switch since the last collection and an
/// interval then moves less than <see cref="QuietBytes"/>, it collects once. A steady transfer never
/// looks quiet, so it is never paused; the pause comes when nobody is moving anything.
/// </summary>
public sealed class MemoryReturn : IDisposable
{
    /// <summary>How often the flow count is looked at.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>Fewer flows than this gone is not worth a pause: each idle flow costs some KB.</summary>
    public const int MinimumDrain = 256;

    /// <summary>Traffic since the last collection worth giving memory back after (bytes through the switch's ports).</summary>
    public const long BurstBytes = 256L << 20;

    /// <summary>An interval that moved less than this is quiet (DNS, DHCP, keep-alives, a slow trickle).</summary>
    public const long QuietBytes = 1L << 20;

    private readonly Func<int> _flows;
    private readonly Func<long> _traffic;
    private readonly Action _collect;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private int _peak, _last;
    private long _lastTraffic, _movedSinceCollection;

    /// <param name="flows">The NAT flows the daemon holds now.</param>
    /// <param name="traffic">Bytes through the switch's ports so far (a sum of counters; it may fall when an endpoint goes).</param>
    /// <param name="collect">What gives memory back; <see cref="Collect"/> in the daemon.</param>
    public MemoryReturn(Func<int> flows, Func<long> traffic, Action collect, TimeProvider time, ILogger logger)
    {
        _flows = flows;
        _traffic = traffic;
        _lastTraffic = traffic();
        _collect = collect;
        _logger = logger;
        _timer = time.CreateTimer(_ => Check(), null, Interval, Interval);
    }

    /// <summary>How many times memory was given back (for tests and the log).</summary>
    public int Collections { get; private set; }

    /// <summary>The daemon's collection: blocking, compacting, and <see cref="GCCollectionMode.Aggressive"/>,
    /// the one mode that decommits free memory and trims the array pools at once.</summary>
    public static void Collect() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    internal void Check()
    {
        int now = _flows(), last = _last;
        _last = now;
        long traffic = _traffic(), moved = Math.Abs(traffic - _lastTraffic);
        _lastTraffic = traffic;
        _movedSinceCollection += moved;
        if (now > _peak) { _peak = now; return; }
        // Drained, and settled: a count still falling means closing flows still hold their memory.
        if (_peak - now >= MinimumDrain && now <= _peak / 2 && now >= last)
        {
            long before = CollectNow();
            MemoryReturnLog.Returned(_logger, _peak, now, before >> 20, Environment.WorkingSet >> 20);
            _peak = now;
        }
        else if (_movedSinceCollection >= BurstBytes && moved < QuietBytes)
        {
            long burst = _movedSinceCollection;
            long before = CollectNow();
            MemoryReturnLog.ReturnedAfterTraffic(_logger, burst >> 20, before >> 20, Environment.WorkingSet >> 20);
        }
    }

    /// <summary>Collects; returns the working set before.</summary>
    private long CollectNow()
    {
        long before = Environment.WorkingSet;
        _collect();
        Collections++;
        _movedSinceCollection = 0;
        return before;
    }

    public void Dispose() => _timer.Dispose();
}

internal static partial class MemoryReturnLog
{
    [LoggerMessage(EventId = LogEvents.MemoryReturned, Level = LogLevel.Information,
        Message = "NAT flows drained from {Peak} to {Now}: memory given back ({Before} MB -> {After} MB resident)")]
    public static partial void Returned(ILogger logger, int peak, int now, long before, long after);

    [LoggerMessage(EventId = LogEvents.MemoryReturnedAfterTraffic, Level = LogLevel.Information,
        Message = "Traffic stopped after {Moved} MB: memory given back ({Before} MB -> {After} MB resident)")]
    public static partial void ReturnedAfterTraffic(ILogger logger, long moved, long before, long after);
}
