namespace Switchyard.Network.Nat;

/// <summary>Why the NAT refused a new flow on fairness grounds (docs/nat.md, "Fair shares").</summary>
public enum FlowRefusal
{
    /// <summary>Admitted.</summary>
    None,
    /// <summary>The endpoint holds its share of flows (its <c>max-flows</c>, by default a quarter of the network's).</summary>
    EndpointLimit,
    /// <summary>The network's table (all its endpoints together) is full.</summary>
    NetworkLimit,
    /// <summary>The endpoint opened new flows faster than its rate allows.</summary>
    Rate,
    /// <summary>The daemon's file descriptor budget is spent (every network's flows together).</summary>
    FdBudget,
}

/// <summary>
/// One endpoint's share of its network's NAT: the flows it holds (each a host socket), its own
/// cap, its new-flow rate, its DNS queries in flight, and what was refused it. Every count is an
/// Interlocked field, bounded by compare-and-swap, so a cap holds exactly however many threads
/// open flows at once (a guest's frames arrive on its receive thread, published connections on
/// the accept loop). Lives on the endpoint's port; the NAT finds it by the sender's MAC.
/// </summary>
public sealed class FlowShare(string endpoint, int maxFlows = 0)
{
    private const int Reasons = 4;
    private readonly int[] _flows = new int[3];
    private readonly long[] _refused = new long[Reasons];
    private int _total, _dnsInFlight, _maxFlows = maxFlows;
    private long _nextFlowAt;            // GCRA's theoretical arrival time (RFC 2697 style token bucket, in NatEngine ticks)
    private long _logAfter, _suppressed, _dnsRefused;

    public string Endpoint { get; } = endpoint;

    /// <summary>The most NAT flows the endpoint may hold (all protocols together); 0: the network's
    /// default share. Lowering it closes nothing: new flows are refused until it holds fewer.</summary>
    public int MaxFlows
    {
        get => Volatile.Read(ref _maxFlows);
        set => Volatile.Write(ref _maxFlows, Math.Max(0, value));
    }

    /// <summary>Flows it holds now, all protocols.</summary>
    public int Flows => Volatile.Read(ref _total);

    public int FlowsOf(NatProtocol protocol) => Volatile.Read(ref _flows[(int)protocol]);

    /// <summary>DNS queries of this endpoint the gateway is forwarding now.</summary>
    public int DnsInFlight => Volatile.Read(ref _dnsInFlight);

    /// <summary>DNS queries refused because it had its share in flight.</summary>
    public long DnsRefused => Interlocked.Read(ref _dnsRefused);

    public long Refused(FlowRefusal reason) => reason == FlowRefusal.None ? 0 : Interlocked.Read(ref _refused[(int)reason - 1]);

    /// <summary>New flows refused on fairness grounds, every reason together.</summary>
    public long RefusedTotal
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < Reasons; i++) sum += Interlocked.Read(ref _refused[i]);
            return sum;
        }
    }

    /// <summary>Takes one of this endpoint's flows of <paramref name="protocol"/> if both counts stay within their caps.</summary>
    internal bool TryTake(NatProtocol protocol, int maxTotal, int maxOfProtocol)
    {
        if (!Bounded.TryIncrement(ref _total, maxTotal)) return false;
        if (Bounded.TryIncrement(ref _flows[(int)protocol], maxOfProtocol)) return true;
        Interlocked.Decrement(ref _total);
        return false;
    }

    internal void Return(NatProtocol protocol)
    {
        Interlocked.Decrement(ref _flows[(int)protocol]);
        Interlocked.Decrement(ref _total);
    }

    /// <summary>A new flow at <paramref name="now"/> against a rate of one per
    /// <paramref name="interval"/> with bursts of <paramref name="burst"/> (the generic cell rate
    /// algorithm: one compare-and-swap, no timer, no lock).</summary>
    internal bool TryPace(long now, long interval, int burst)
    {
        long tolerance = interval * (burst - 1);
        long seen = Volatile.Read(ref _nextFlowAt);
        while (true)
        {
            long at = Math.Max(seen, now);
            if (at - now > tolerance) return false;
            long was = Interlocked.CompareExchange(ref _nextFlowAt, at + interval, seen);
            if (was == seen) return true;
            seen = was;
        }
    }

    internal bool TryTakeDns(int max) => Bounded.TryIncrement(ref _dnsInFlight, max);

    internal void ReturnDns() => Interlocked.Decrement(ref _dnsInFlight);

    internal void CountDnsRefused() => Interlocked.Increment(ref _dnsRefused);

    internal void CountRefused(FlowRefusal reason) => Interlocked.Increment(ref _refused[(int)reason - 1]);

    /// <summary>Whether a refusal at <paramref name="now"/> should be logged: at most one line per
    /// <paramref name="period"/>, which reports how many went unlogged since the last.</summary>
    internal bool ShouldLog(long now, long period, out long suppressed)
    {
        long after = Volatile.Read(ref _logAfter);
        if (now < after || Interlocked.CompareExchange(ref _logAfter, now + period, after) != after)
        {
            Interlocked.Increment(ref _suppressed);
            suppressed = 0;
            return false;
        }
        suppressed = Interlocked.Exchange(ref _suppressed, 0);
        return true;
    }
}

/// <summary>Counters that never pass their bound, whatever the number of threads.</summary>
internal static class Bounded
{
    /// <summary>Adds one to <paramref name="count"/> unless it is already <paramref name="max"/> or more.</summary>
    public static bool TryIncrement(ref int count, int max)
    {
        int seen = Volatile.Read(ref count);
        while (true)
        {
            if (seen >= max) return false;
            int was = Interlocked.CompareExchange(ref count, seen + 1, seen);
            if (was == seen) return true;
            seen = was;
        }
    }
}
