namespace Switchyard.Network.Telemetry;

/// <summary>
/// A latency histogram with fixed buckets, in the shape Prometheus exposes (cumulative counts per
/// upper bound, a +Inf bucket, a count and a sum). Lock-free: recording is a short search of the
/// bounds and two Interlocked adds on arrays allocated once, so any thread may record and any may
/// read while it does. A reader may see a record's bucket before its sum (or the other way round);
/// each number is exact on its own and they agree once recording stops.
/// </summary>
public sealed class LatencyHistogram
{
    private readonly double[] _bounds;
    private readonly long[] _buckets;     // per bucket, not cumulative; the last one is +Inf
    private long _sumTicks;               // TimeSpan ticks: an Interlocked add, unlike a double

    /// <param name="upperBoundsSeconds">Bucket upper bounds in seconds, strictly increasing and
    /// positive; the +Inf bucket is implied.</param>
    public LatencyHistogram(IReadOnlyList<double> upperBoundsSeconds)
    {
        ArgumentNullException.ThrowIfNull(upperBoundsSeconds);
        if (upperBoundsSeconds.Count == 0) throw new ArgumentException("at least one bucket bound is needed", nameof(upperBoundsSeconds));
        for (int i = 0; i < upperBoundsSeconds.Count; i++)
            if (!(upperBoundsSeconds[i] > 0) || double.IsInfinity(upperBoundsSeconds[i]) || (i > 0 && !(upperBoundsSeconds[i] > upperBoundsSeconds[i - 1])))
                throw new ArgumentException("bucket bounds must be finite, positive and strictly increasing", nameof(upperBoundsSeconds));
        _bounds = [.. upperBoundsSeconds];
        _buckets = new long[_bounds.Length + 1];
    }

    /// <summary>Buckets for DNS forwarding: a LAN resolver answers in about a millisecond, a
    /// remote one in tens, a cold recursive lookup in hundreds; the forwarder gives up on an
    /// upstream after 1.5 s and tries the next, so a few seconds is the far end.</summary>
    public static LatencyHistogram ForDnsForwarding() =>
        new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);

    /// <summary>The finite upper bounds (Prometheus' <c>le</c>), in seconds; bucket
    /// <c>UpperBoundsSeconds.Count</c> is +Inf.</summary>
    public IReadOnlyList<double> UpperBoundsSeconds => _bounds;

    /// <summary>How many durations were recorded (the +Inf bucket's cumulative count).</summary>
    public long Count => CumulativeCount(_bounds.Length);

    /// <summary>The sum of every recorded duration, in seconds.</summary>
    public double SumSeconds => (double)Interlocked.Read(ref _sumTicks) / TimeSpan.TicksPerSecond;

    /// <summary>Recorded durations at or below bound <paramref name="bucket"/> (0 ..
    /// <c>UpperBoundsSeconds.Count</c>, the last being +Inf).</summary>
    public long CumulativeCount(int bucket)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bucket);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bucket, _bounds.Length);
        long total = 0;
        for (int i = 0; i <= bucket; i++) total += Interlocked.Read(ref _buckets[i]);
        return total;
    }

    /// <summary>Records one duration (a negative one, from a clock that stepped, counts as 0).</summary>
    public void Record(TimeSpan elapsed)
    {
        long ticks = Math.Max(elapsed.Ticks, 0);
        double seconds = (double)ticks / TimeSpan.TicksPerSecond;
        int i = 0;
        while (i < _bounds.Length && seconds > _bounds[i]) i++;   // le: a duration equal to a bound is in its bucket
        Interlocked.Increment(ref _buckets[i]);
        Interlocked.Add(ref _sumTicks, ticks);
    }
}
