namespace Switchyard.Network.Telemetry;

/// <summary>Caps how many log lines one source (an endpoint's transport) writes: the first
/// <see cref="Burst"/> lines of a window pass, the rest are counted, and when the window ends one
/// summary reports how many were left out. A guest that reconnects with bad framing in a loop
/// wrote 68,000 warnings (14 MB) in five minutes before this (issue 16); its counters (protocol
/// errors, connects) still count every event, so nothing is lost to whoever reads them.
///
/// Windows are fixed and start at the first line after a quiet period. The summary is written by
/// a timer at the window's end (<see cref="TimeProvider"/>, so tests drive it with a fake clock),
/// or by the next line if that comes first, or on <see cref="Dispose"/>. Only error paths call
/// this, so a lock is fine: no frame waits on it.</summary>
public sealed class LogRateLimit : IDisposable
{
    public const int DefaultBurst = 10;
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly Action<long, TimeSpan> _summarize;
    private readonly Lock _lock = new();
    private readonly long _windowTicks;
    private ITimer? _timer;
    private long _windowEnd = long.MinValue; // a _time timestamp
    private int _passed;
    private long _suppressed, _totalSuppressed;
    private bool _disposed;

    /// <param name="summarize">Writes the summary: how many lines were suppressed, over what window.</param>
    public LogRateLimit(TimeProvider time, Action<long, TimeSpan> summarize, int burst = DefaultBurst, TimeSpan? window = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        _time = time;
        _summarize = summarize;
        Burst = burst;
        Window = window ?? DefaultWindow;
        _windowTicks = (long)(Window.TotalSeconds * time.TimestampFrequency);
    }

    public int Burst { get; }
    public TimeSpan Window { get; }
    /// <summary>Lines left out since the start (summarized or not).</summary>
    public long TotalSuppressed => Interlocked.Read(ref _totalSuppressed);

    /// <summary>True when the caller may write its line now; false when it is counted instead.</summary>
    public bool ShouldLog()
    {
        long pending;
        bool pass;
        lock (_lock)
        {
            if (_disposed) return false;
            long now = _time.GetTimestamp();
            pending = 0;
            if (now >= _windowEnd)
            {
                pending = _suppressed; // the window ended before its timer ran
                _suppressed = 0;
                _passed = 0;
                _windowEnd = now + _windowTicks;
            }
            pass = _passed < Burst;
            if (pass) _passed++;
            else
            {
                if (_suppressed++ == 0) Arm();
                Interlocked.Increment(ref _totalSuppressed);
            }
        }
        if (pending > 0) _summarize(pending, Window);
        return pass;
    }

    /// <summary>Once per window with suppressed lines: a timer for the window's end.</summary>
    private void Arm()
    {
        var due = TimeSpan.FromSeconds((double)(_windowEnd - _time.GetTimestamp()) / _time.TimestampFrequency);
        if (due < TimeSpan.Zero) due = TimeSpan.Zero;
        if (_timer is null) _timer = _time.CreateTimer(_ => Flush(), null, due, Timeout.InfiniteTimeSpan);
        else _timer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private void Flush()
    {
        long pending;
        lock (_lock)
        {
            if (_time.GetTimestamp() < _windowEnd && !_disposed) return; // a newer window re-armed the timer
            pending = _suppressed;
            _suppressed = 0;
        }
        if (pending > 0) _summarize(pending, Window);
    }

    /// <summary>Writes the summary of what is still pending (e.g. when the endpoint is detached).</summary>
    public void Dispose()
    {
        long pending;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            pending = _suppressed;
            _suppressed = 0;
            _timer?.Dispose();
        }
        if (pending > 0) _summarize(pending, Window);
    }
}
